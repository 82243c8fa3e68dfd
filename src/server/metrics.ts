// The server's metrics (docs/observability.md lists them). Counters are bumped by small,
// explicit calls from where things happen (pipeline reads, destination get/ack/rollback,
// elections); gauges are read from the running destinations at each scrape.
import { createNoopMeter, type Meter } from "@opentelemetry/api";
import type { DestinationRegistry } from "./destination/registry.js";
import { coveredBy } from "./store/positions.js";

/** What a destination reports as it reads and serves. */
export interface DestinationMetrics {
  /** One binlog event read (of `bytes`), carrying `rows` row changes. */
  read(bytes: number, rows: number): void;
  /** A batch of `entries` entries handed to clientId. */
  delivered(clientId: string, entries: number): void;
  /** A batch acked; `ms` the time the ack (its cursor write) took. */
  acked(clientId: string, ms: number): void;
  /** `batches` batches given back by a rollback. */
  rolledBack(clientId: string, batches: number): void;
}

export class ServerMetrics {
  readonly #events;
  readonly #rows;
  readonly #bytes;
  readonly #delivered;
  readonly #deliveredEntries;
  readonly #acked;
  readonly #rolledBack;
  readonly #ackDuration;
  readonly #electionsWon;
  readonly #handovers;
  readonly #meter: Meter;

  /** Metrics that go nowhere (the server started without telemetry, e.g. in tests). */
  static noop(): ServerMetrics {
    return new ServerMetrics(createNoopMeter());
  }

  constructor(meter: Meter) {
    this.#meter = meter;
    this.#events = meter.createCounter("sluice.binlog.events", {
      unit: "{event}",
      description: "Binlog events read from the source (shared and catch-up readers)",
    });
    this.#rows = meter.createCounter("sluice.binlog.row_changes", {
      unit: "{row}",
      description: "Row changes read from the source (one per row of a write, update or delete event)",
    });
    this.#bytes = meter.createCounter("sluice.binlog.bytes", {
      unit: "By",
      description: "Bytes of binlog events read from the source",
    });
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
    this.#ackDuration = meter.createHistogram("sluice.ack.duration_ms", {
      unit: "ms",
      description: "Time an Ack took, the cursor write (ZooKeeper or file) included",
      advice: { explicitBucketBoundaries: [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] },
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
    const d = { destination };
    return {
      read: (bytes, rows) => {
        this.#events.add(1, d);
        this.#bytes.add(bytes, d);
        if (rows > 0) this.#rows.add(rows, d);
      },
      delivered: (clientId, entries) => {
        this.#delivered.add(1, { ...d, client_id: clientId });
        this.#deliveredEntries.add(entries, { ...d, client_id: clientId });
      },
      acked: (clientId, ms) => {
        this.#acked.add(1, { ...d, client_id: clientId });
        this.#ackDuration.record(ms, { ...d, client_id: clientId });
      },
      rolledBack: (clientId, batches) => {
        this.#rolledBack.add(batches, { ...d, client_id: clientId });
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
      description: "Approximate memory held by the destination's shared store ring",
    });
    const position = m.createObservableGauge("sluice.binlog.position", {
      unit: "By",
      description: "Offset in its binlog file (label file) of the last entry read",
    });
    const headLag = m.createObservableGauge("sluice.binlog.lag_ms", {
      unit: "ms",
      description: "Now minus the source timestamp of the last entry read (grows while the source is idle)",
    });
    const clientLag = m.createObservableGauge("sluice.client.lag_ms", {
      unit: "ms",
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
          r.observe(storeBytes, p.ring.bytes, d);
          const head = p.lastPosition;
          if (head) {
            r.observe(position, head.offset, { ...d, file: head.file });
            r.observe(headLag, Math.max(0, now - head.timestamp), d);
          }
          for (const s of dest.clients) {
            const c = { ...d, client_id: s.clientId };
            r.observe(outstanding, s.outstanding.length, c);
            let lag = 0;
            if (head && !(s.cursor && coveredBy(s.cursor, head.file, head.offset))) {
              const t = s.ring.get(s.neededSeq)?.position.timestamp || s.cursor?.resume.timestamp || 0;
              if (t > 0) lag = Math.max(0, head.timestamp - t);
            }
            r.observe(clientLag, lag, c);
          }
        }
        for (const name of configured) r.observe(running, here.has(name) ? 1 : 0, { destination: name });
        const held = leaseHeld();
        if (held !== undefined) r.observe(lease, held);
      },
      [storeEntries, storeBytes, position, headLag, clientLag, outstanding, running, lease],
    );
  }
}
