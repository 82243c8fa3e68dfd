// The server's metrics (docs/observability.md lists them). Counters are bumped by small,
// explicit calls from where things happen (pipeline reads, destination get/ack/rollback,
// elections); gauges are read from the running destinations at each scrape.
import { createNoopMeter, type Meter } from "@opentelemetry/api";
import type { DestinationRegistry } from "./destination/registry.js";
import { coveredBy } from "./entry/positions.js";

/** What a destination reports as it reads and serves. */
export interface DestinationMetrics {
  /** One binlog event read (of `bytes`), carrying `rows` row changes. */
  read(bytes: number, rows: number): void;
  /** A batch of `entries` entries handed to clientId. */
  delivered(clientId: string, entries: number): void;
  /** A batch acked; `ms` the time the ack (its cursor write) took, in milliseconds. */
  acked(clientId: string, ms: number): void;
  /** `batches` batches given back by a rollback. */
  rolledBack(clientId: string, batches: number): void;
  /** One binlog event passed over: its table cannot be decoded (filterTableError), or an operator skipped it. */
  skipped(reason: "table_error" | "operator"): void;
}

interface ReadTotals {
  events: number;
  rows: number;
  bytes: number;
}

export class ServerMetrics {
  /**
   * What each destination read, as plain sums: read() runs for every binlog event, where a
   * counter's add() (about a microsecond each) would show; the counters observe these.
   */
  readonly #reads = new Map<string, ReadTotals>();
  readonly #delivered;
  readonly #deliveredEntries;
  readonly #acked;
  readonly #rolledBack;
  readonly #ackDuration;
  readonly #skipped;
  readonly #electionsWon;
  readonly #handovers;
  readonly #meter: Meter;

  /** Metrics that go nowhere (the server started without telemetry, e.g. in tests). */
  static noop(): ServerMetrics {
    return new ServerMetrics(createNoopMeter());
  }

  constructor(meter: Meter) {
    this.#meter = meter;
    const events = meter.createObservableCounter("sluice.binlog.events", {
      unit: "{event}",
      description: "Binlog events read from the source (shared and catch-up readers)",
    });
    const rows = meter.createObservableCounter("sluice.binlog.row_changes", {
      unit: "{row}",
      description: "Row changes read from the source (one per row of a write, update or delete event)",
    });
    const bytes = meter.createObservableCounter("sluice.binlog.bytes", {
      unit: "By",
      description: "Bytes of binlog events read from the source",
    });
    meter.addBatchObservableCallback(
      (r) => {
        for (const [destination, t] of this.#reads) {
          r.observe(events, t.events, { destination });
          r.observe(rows, t.rows, { destination });
          r.observe(bytes, t.bytes, { destination });
        }
      },
      [events, rows, bytes],
    );
    this.#delivered = meter.createCounter("sluice.batches.delivered", {
      unit: "{batch}",
      description: "Batches handed to clients by Get and Stream (redeliveries included)",
    });
    this.#deliveredEntries = meter.createCounter("sluice.entries.delivered", {
      unit: "{entry}",
      description: "Entries handed to clients in batches (redeliveries included)",
    });
    this.#acked = meter.createCounter("sluice.batches.acked", {
      unit: "{batch}",
      description: "Batches acked (their cursor durable)",
    });
    this.#rolledBack = meter.createCounter("sluice.batches.rolled_back", {
      unit: "{batch}",
      description: "Batches given back by Rollback, or when a stream ended with batches unacked",
    });
    this.#ackDuration = meter.createHistogram("sluice.ack.duration_seconds", {
      unit: "s",
      description: "Time an Ack took, the cursor write (ZooKeeper or file) included",
      advice: {
        explicitBucketBoundaries: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      },
    });
    this.#skipped = meter.createCounter("sluice.binlog.events_skipped", {
      unit: "{event}",
      description:
        "Binlog events passed over without delivering them: reason table_error (filterTableError) or operator (AdminService.SkipEvent)",
    });
    this.#electionsWon = meter.createCounter("sluice.elections.won", {
      unit: "{election}",
      description: "Times this server became the runner of a destination",
    });
    this.#handovers = meter.createCounter("sluice.elections.lost", {
      unit: "{handover}",
      description: "Times this server stopped running a destination (handed over, released or lost)",
    });
  }

  forDestination(destination: string): DestinationMetrics {
    let totals = this.#reads.get(destination);
    if (!totals) {
      totals = { events: 0, rows: 0, bytes: 0 };
      this.#reads.set(destination, totals);
    }
    const t = totals;
    // One attributes object per client, made once.
    const clients = new Map<string, { destination: string; client_id: string }>();
    const c = (clientId: string) => {
      let attrs = clients.get(clientId);
      if (!attrs) {
        attrs = { destination, client_id: clientId };
        if (clients.size > 10_000) clients.clear();
        clients.set(clientId, attrs);
      }
      return attrs;
    };
    return {
      read: (bytes, rows) => {
        t.events++;
        t.rows += rows;
        t.bytes += bytes;
      },
      delivered: (clientId, entries) => {
        this.#delivered.add(1, c(clientId));
        this.#deliveredEntries.add(entries, c(clientId));
      },
      acked: (clientId, ms) => {
        this.#acked.add(1, c(clientId));
        this.#ackDuration.record(ms / 1000, c(clientId));
      },
      rolledBack: (clientId, batches) => {
        this.#rolledBack.add(batches, c(clientId));
      },
      skipped: (reason) => {
        this.#skipped.add(1, { destination, reason });
      },
    };
  }

  electionWon(destination: string): void {
    this.#electionsWon.add(1, { destination });
  }

  electionLost(destination: string): void {
    this.#handovers.add(1, { destination });
  }

  /**
   * Gauges read at each scrape: the destinations `registry` runs, of `configured` names;
   * `leaseHeld` answers 1/0 with ZooKeeper, undefined without.
   */
  observe(registry: DestinationRegistry, configured: string[], leaseHeld: () => number | undefined): void {
    const m = this.#meter;
    const storeEntries = m.createObservableGauge("sluice.store.entries", {
      unit: "{entry}",
      description: "Entries held in the destination's shared store ring",
    });
    const storeBytes = m.createObservableGauge("sluice.store.bytes", {
      unit: "By",
      description:
        "Memory held by the destination's store (its shared ring and its catch-up readers' rings), bounded by store.maxBytes",
    });
    const position = m.createObservableGauge("sluice.binlog.position", {
      unit: "By",
      description: "Offset in its binlog file (label file) of the last entry read",
    });
    const headLag = m.createObservableGauge("sluice.binlog.lag_seconds", {
      unit: "s",
      description:
        "How far the reader trails the source: 0 while the source's heartbeats say nothing is left to read, else now minus the source timestamp of the last entry read",
    });
    const clientLag = m.createObservableGauge("sluice.client.lag_seconds", {
      unit: "s",
      description:
        "Source time between the last entry read and the oldest entry the client has not acked; 0 when acked through the head",
    });
    const outstanding = m.createObservableGauge("sluice.client.outstanding_batches", {
      unit: "{batch}",
      description: "Batches handed to the client and not yet acked or rolled back",
    });
    const running = m.createObservableGauge("sluice.destination.running", {
      unit: "1",
      description: "1 when this server runs the destination, 0 when it stands by or is starting",
    });
    const catchUp = m.createObservableGauge("sluice.catch_up.readers", {
      unit: "{reader}",
      description:
        "Catch-up readers of clients that fell behind the store: state running (reading, at most store.catchUpReaders) or waiting (for a slot)",
    });
    const stopped = m.createObservableGauge("sluice.destination.stopped", {
      unit: "1",
      description:
        "1 when the destination runs here but stopped on an error (an event it cannot decode, the source refused it); its status says why",
    });
    const lease = m.createObservableGauge("sluice.zk.lease", {
      unit: "1",
      description: "1 while the ZooKeeper session lease is held (serving allowed), 0 while it lapsed",
    });
    m.addBatchObservableCallback(
      (r) => {
        const now = Date.now();
        const here = new Set<string>();
        for (const dest of registry.all) {
          here.add(dest.name);
          const p = dest.pipeline;
          if (!p) continue;
          const d = { destination: dest.name };
          r.observe(storeEntries, p.ring.count, d);
          r.observe(storeBytes, dest.storeBytes, d);
          const readers = dest.catchUpReaders;
          r.observe(catchUp, readers.running, { ...d, state: "running" });
          r.observe(catchUp, readers.waiting, { ...d, state: "waiting" });
          const head = p.lastPosition;
          if (head) r.observe(position, head.offset, { ...d, file: head.file });
          const lag = p.lagMs(now);
          if (lag !== undefined) r.observe(headLag, lag / 1000, d);
          for (const s of dest.clients) {
            const c = { ...d, client_id: s.clientId };
            r.observe(outstanding, s.outstanding.length, c);
            let lag = 0;
            if (head && !(s.cursor && coveredBy(s.cursor, head.file, head.offset))) {
              const t = s.ring.get(s.neededSeq)?.position.timestamp || s.cursor?.resume.timestamp || 0;
              if (t > 0) lag = Math.max(0, head.timestamp - t);
            }
            r.observe(clientLag, lag / 1000, c);
          }
        }
        for (const name of configured) r.observe(running, here.has(name) ? 1 : 0, { destination: name });
        for (const dest of registry.all) r.observe(stopped, dest.failure ? 1 : 0, { destination: dest.name });
        const held = leaseHeld();
        if (held !== undefined) r.observe(lease, held);
      },
      [storeEntries, storeBytes, position, headLag, clientLag, outstanding, running, catchUp, stopped, lease],
    );
  }
}
