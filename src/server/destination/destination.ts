// A destination: one source database stream (canal's instance), one shared pipeline
// (binlog reader → entries → ring), and the clientIds that consume it, each with its own
// filter, cursor and outstanding batches.
//
// Start position: the earliest cursor of the destination's clients; else the configured
// start; else the source's current head. Every client skips what its own cursor covers.
// A new client starts at the boundary after the last complete transaction read; its cursor is
// stored at once, so a restart resumes it there. If the shared ring no longer holds that
// point, the client reads through a private pipeline until it reaches the shared window.

import { createLogger, type Logger } from "../../common/log.js";
import type { CancelSignal } from "../../protocol/call-cancel.js";
import { EventFilter } from "../filter/index.js";
import type { CursorStore } from "../meta/cursor-store.js";
import { FencedError } from "../meta/zk-cursor-store.js";
import type { DestinationMetrics } from "../metrics.js";
import type { SourceConfig } from "../replication/source.js";
import { type Batch, ClientSession } from "../store/client-session.js";
import type { RingLimits } from "../store/entry-ring.js";
import { Pipeline } from "../store/pipeline.js";
import { type Boundary, type Cursor, comparePoints, earliest } from "../store/positions.js";

export interface DestinationOptions {
  name: string;
  source: SourceConfig;
  /** Configured start for a destination none of whose clients has a cursor (resolved then). */
  start?: () => Promise<Boundary | undefined>;
  limits: RingLimits;
  store: CursorStore;
  heartbeatMs?: number;
  timeZone?: string;
  schemaLookup?: "auto" | "never";
  logger?: Logger;
  /** Called when the destination stops for good (source refused us, decode error). */
  onFatal?(err: Error): void;
  /**
   * Asked before anything is served: undefined while this server may serve, else why not
   * (its ZooKeeper lease ran out). Read at the moment of serving, not on a timer.
   */
  mayServe?(): string | undefined;
  /** Told what is read and served (see ../metrics.ts). */
  metrics?: DestinationMetrics;
}

export class DestinationError extends Error {
  constructor(
    readonly kind: "not_subscribed" | "bad_filter" | "stopped",
    message: string,
  ) {
    super(message);
    this.name = "DestinationError";
  }
}

interface PrivateReader {
  pipeline: Pipeline;
  /** Resolves once the private pipeline reads (its start connects to the source). */
  ready: Promise<void>;
}

// A private reader's ring: enough to keep its client busy, small enough to have many.
const PRIVATE_LIMITS: RingLimits = { maxEntries: 4096, maxBytes: 16 << 20 };

export class Destination {
  readonly name: string;
  #pipeline: Pipeline | undefined;
  readonly #sessions = new Map<string, ClientSession>();
  readonly #private = new Map<string, PrivateReader>();
  readonly #log: Logger;
  #epoch = 0n;
  #initialStart: Boundary | undefined;
  #fatal: Error | undefined;
  #stopped = false;
  #suspended: string | undefined;
  /** Set when a cursor write found a newer runner's epoch: never served here again. */
  #fenced: string | undefined;

  constructor(readonly opts: DestinationOptions) {
    this.name = opts.name;
    this.#log = opts.logger ?? createLogger(`destination.${opts.name}`);
  }

  get epoch(): bigint {
    return this.#epoch;
  }

  get pipeline(): Pipeline | undefined {
    return this.#pipeline;
  }

  get failure(): Error | undefined {
    return this.#fatal;
  }

  async start(): Promise<void> {
    const stored = await this.opts.store.load(this.name);
    this.#epoch = await this.opts.store.nextEpoch(this.name);
    const cursors = stored.map((c) => c.cursor).filter((c): c is Cursor => c !== undefined);
    const first = earliest(cursors);
    const configured = first ? undefined : await this.opts.start?.();
    const start = first?.resume ?? configured;
    // The first client of a destination that starts from its configured position gets every
    // change from there; clients that come later start at the head.
    if (stored.length === 0 && configured) this.#initialStart = configured;
    const pipeline = this.#makePipeline(start, this.opts.limits);
    this.#pipeline = pipeline;
    await pipeline.start();
    for (const s of stored) {
      const filter = s.filter ? this.#parseFilter(s.filter) : undefined;
      this.#sessions.set(
        s.clientId,
        new ClientSession(s.clientId, pipeline.ring, this.#epoch, {
          filter,
          filterText: s.filter ?? "",
          cursor: s.cursor ?? { resume: pipeline.boundary, serverId: 0 },
          readSeq: pipeline.ring.first,
        }),
      );
    }
    const at = pipeline.boundary;
    this.#log.info("destination started", {
      epoch: this.#epoch,
      clients: stored.length,
      from: `${at.file}:${at.position}`,
      ...(at.gtid ? { gtid: at.gtid } : {}),
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#pipeline?.stop();
    for (const p of this.#private.values()) await p.pipeline.stop();
    this.#private.clear();
  }

  #makePipeline(start: Boundary | undefined, limits: RingLimits): Pipeline {
    return new Pipeline({
      source: this.opts.source,
      start,
      limits,
      ...(this.opts.heartbeatMs !== undefined ? { heartbeatMs: this.opts.heartbeatMs } : {}),
      ...(this.opts.timeZone ? { timeZone: this.opts.timeZone } : {}),
      ...(this.opts.schemaLookup ? { schemaLookup: this.opts.schemaLookup } : {}),
      logger: this.#log,
      ...(this.opts.metrics ? { onRead: this.opts.metrics.read } : {}),
      onFatal: (err) => {
        this.#fatal = err;
        this.#log.error("destination stopped", { error: err.message });
        this.opts.onFatal?.(err);
      },
    });
  }

  #parseFilter(text: string): EventFilter | undefined {
    if (text.trim() === "") return undefined;
    try {
      return new EventFilter({ filter: text });
    } catch (err) {
      throw new DestinationError("bad_filter", (err as Error).message);
    }
  }

  /**
   * Stops serving without stopping: calls fail with unavailable and streams end, until
   * resume(). Used while this server cannot be sure it still owns the destination.
   */
  suspend(reason: string): void {
    this.#suspended = reason;
    for (const s of this.#sessions.values()) s.ring.wakeAll();
  }

  resume(): void {
    this.#suspended = undefined;
  }

  #check(): void {
    if (this.#stopped) throw new DestinationError("stopped", `destination ${this.name} is stopping`);
    const suspended = this.#fenced ?? this.#suspended ?? this.opts.mayServe?.();
    if (suspended)
      throw new DestinationError("stopped", `destination ${this.name} is not served right now: ${suspended}`);
    if (this.#fatal)
      throw new DestinationError("stopped", `destination ${this.name} stopped: ${this.#fatal.message}`);
  }

  session(clientId: string): ClientSession {
    this.#check();
    const s = this.#sessions.get(clientId);
    if (!s) {
      throw new DestinationError(
        "not_subscribed",
        `client ${clientId} is not subscribed to ${this.name}: Subscribe first`,
      );
    }
    return s;
  }

  get clients(): ClientSession[] {
    return [...this.#sessions.values()];
  }

  /** Subscribes (or re-subscribes) clientId; an empty filter keeps the stored one. */
  async subscribe(clientId: string, filterText: string): Promise<ClientSession> {
    this.#check();
    const pipeline = this.#pipeline as Pipeline;
    const existing = this.#sessions.get(clientId);
    const filter = filterText ? this.#parseFilter(filterText) : undefined;
    if (existing) {
      if (filterText && filterText !== existing.filterText) {
        await this.opts.store.saveFilter(this.name, clientId, filterText);
        existing.filter = filter;
        existing.filterText = filterText;
      }
      return existing;
    }
    const cursor: Cursor = {
      resume: this.#initialStart ?? pipeline.boundary,
      serverId: pipeline.serverInfo?.serverId ?? 0,
    };
    this.#initialStart = undefined;
    await this.opts.store.saveCursor(this.name, clientId, cursor);
    if (filterText) await this.opts.store.saveFilter(this.name, clientId, filterText);
    const covered = comparePoints(pipeline.coverageStart, cursor.resume) <= 0;
    let ring = pipeline.ring;
    let readSeq = this.#firstSeqAfter(cursor.resume);
    if (!covered) {
      const priv = await this.#startPrivate(clientId, cursor.resume);
      ring = priv.pipeline.ring;
      readSeq = priv.pipeline.ring.first;
    }
    const session = new ClientSession(clientId, ring, this.#epoch, {
      filter,
      filterText,
      cursor,
      readSeq,
    });
    this.#sessions.set(clientId, session);
    this.#log.info("client subscribed", {
      clientId,
      filter: filterText || undefined,
      at: `${cursor.resume.file}:${cursor.resume.position}`,
    });
    return session;
  }

  async #startPrivate(clientId: string, from: Boundary): Promise<PrivateReader> {
    const pipeline = this.#makePipeline(from, PRIVATE_LIMITS);
    const priv: PrivateReader = { pipeline, ready: pipeline.start() };
    this.#private.set(clientId, priv);
    try {
      await priv.ready;
    } catch (err) {
      this.#private.delete(clientId);
      throw err;
    }
    return priv;
  }

  /**
   * The shared ring is full and a client that wants more waits at its head while others lag
   * far behind: those lagging clients get private readers from their cursors, so that they
   * neither block the others nor make the ring grow. Their outstanding batches are given back
   * (delivered again from the private reader); a late ack of one gets a clear error.
   */
  #detachLaggards(): void {
    const pipeline = this.#pipeline as Pipeline;
    const ring = pipeline.ring;
    if (!pipeline.waitingForSpace) return;
    const attached = [...this.#sessions.values()].filter(
      (s) => s.ring === ring && !this.#private.has(s.clientId),
    );
    const someoneWaits = attached.some((s) => s.readSeq >= ring.next && s.outstanding.length === 0);
    if (!someoneWaits) return;
    const halfway = ring.first + Math.floor(ring.count / 2);
    for (const s of attached) {
      if (s.neededSeq >= halfway || !s.cursor) continue;
      const reason =
        `it was given back: client ${s.clientId} fell more than half the store's window ` +
        `(${ring.limits.maxEntries} entries) behind and now reads from its cursor; Get again`;
      const given = s.giveBack(reason);
      const from = s.cursor.resume;
      const pipelineReady = this.#startPrivate(s.clientId, from);
      // Until the private reader runs, the client reads nothing (it has no outstanding batch).
      const priv = this.#private.get(s.clientId) as PrivateReader;
      s.moveTo(priv.pipeline.ring, priv.pipeline.ring.first);
      pipelineReady.catch((err: Error) => {
        this.#log.error("catch-up reader failed", { clientId: s.clientId, error: err.message });
      });
      this.#log.warn("client fell behind the store's window; reading from its cursor on its own", {
        clientId: s.clientId,
        from: `${from.file}:${from.position}`,
        givenBack: given.length ? given.join(",") : undefined,
      });
    }
  }

  /** First ring sequence at or after a point (ring.next when the ring holds none). */
  #firstSeqAfter(point: Boundary): number {
    const ring = (this.#pipeline as Pipeline).ring;
    let lo = ring.first;
    let hi = ring.next;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = ring.get(mid)?.position;
      if (p && comparePoints({ file: p.file, position: p.offset }, point) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async unsubscribe(clientId: string): Promise<void> {
    this.#check();
    await this.opts.store.remove(this.name, clientId);
    this.#sessions.delete(clientId);
    const priv = this.#private.get(clientId);
    if (priv) {
      this.#private.delete(clientId);
      await priv.pipeline.stop();
    }
    this.#trim();
  }

  /**
   * The next batch for clientId: up to batchSize entries, waiting up to timeoutMs for the
   * first. Undefined when nothing arrived in time.
   */
  async get(
    clientId: string,
    batchSize: number,
    timeoutMs: number,
    signal?: CancelSignal,
  ): Promise<Batch | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const session = this.session(clientId);
      const priv = this.#private.get(clientId);
      if (priv) await priv.ready;
      this.#maybeRejoin(session);
      this.#check(); // again: the await above may have outlived this server's right to serve
      const batch = session.take(batchSize);
      this.#trim();
      if (batch) {
        this.opts.metrics?.delivered(clientId, batch.entries.length);
        return batch;
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return undefined;
      await session.ring.waitForAppend(Math.min(left, 1000), signal);
    }
  }

  async ack(clientId: string, batchId: string): Promise<Cursor | undefined> {
    const session = this.session(clientId);
    const started = performance.now();
    const cursor = await session
      .ack(batchId, (c) => this.opts.store.saveCursor(this.name, clientId, c))
      .catch((err: unknown) => {
        // A newer runner owns the destination: this server must not serve it any more.
        if (err instanceof FencedError) {
          this.#fenced = err.message;
          for (const s of this.#sessions.values()) s.ring.wakeAll();
        }
        throw err;
      });
    this.opts.metrics?.acked(clientId, performance.now() - started);
    this.#trim();
    return cursor;
  }

  async rollback(clientId: string, batchId: string | undefined): Promise<string[]> {
    const ids = await this.session(clientId).rollback(batchId);
    if (ids.length > 0) this.opts.metrics?.rolledBack(clientId, ids.length);
    return ids;
  }

  /** A private reader that reached the shared ring's window hands its client back to it. */
  #maybeRejoin(session: ClientSession): void {
    const priv = this.#private.get(session.clientId);
    if (!priv || session.outstanding.length > 0) return;
    const sharedPipeline = this.#pipeline as Pipeline;
    const shared = sharedPipeline.ring;
    const read = session.lastSettled;
    const theirs = sharedPipeline.lastPosition;
    if (read && theirs && read.file === theirs.file && read.offset === theirs.offset) {
      // Both readers stand at the same event: continue at the shared head.
      this.#rejoin(session, priv, shared.next);
      return;
    }
    const next = session.ring.get(session.readSeq)?.position;
    if (!next) return;
    const seq = this.#firstSeqAfter({ file: next.file, position: next.offset, gtid: "", timestamp: 0 });
    const found = shared.get(seq)?.position;
    if (!found || found.file !== next.file || found.offset !== next.offset) return;
    if (
      comparePoints((this.#pipeline as Pipeline).coverageStart, { file: next.file, position: next.offset }) >
      0
    )
      return;
    this.#rejoin(session, priv, seq);
  }

  #rejoin(session: ClientSession, priv: PrivateReader, seq: number): void {
    this.#private.delete(session.clientId);
    session.moveTo((this.#pipeline as Pipeline).ring, seq);
    void priv.pipeline.stop();
    this.#log.info("client rejoined the shared window", { clientId: session.clientId });
  }

  /** Drops ring entries no attached client needs any more, and lets the reader go on. */
  #trim(): void {
    const pipeline = this.#pipeline as Pipeline;
    let needed = pipeline.ring.next;
    for (const s of this.#sessions.values()) {
      if (s.ring === pipeline.ring) needed = Math.min(needed, s.neededSeq);
    }
    pipeline.ring.trimTo(needed);
    pipeline.spaceFreed();
    this.#detachLaggards();
    needed = pipeline.ring.next;
    for (const s of this.#sessions.values()) {
      if (s.ring === pipeline.ring) needed = Math.min(needed, s.neededSeq);
    }
    pipeline.ring.trimTo(needed);
    pipeline.spaceFreed();
    for (const [clientId, p] of this.#private) {
      const s = this.#sessions.get(clientId);
      if (s) p.pipeline.ring.trimTo(s.neededSeq);
      p.pipeline.spaceFreed();
    }
  }
}
