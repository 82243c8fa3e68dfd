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
import type { SkippedTableEvent } from "../binlog/index.js";
import { type Boundary, type Cursor, comparePoints, earliest } from "../entry/positions.js";
import { EventFilter, type EventFilterOptions } from "../filter/index.js";
import type { CursorStore, SkippedEventRecord } from "../meta/cursor-store.js";
import { FencedError } from "../meta/zk-cursor-store.js";
import type { DestinationMetrics } from "../metrics.js";
import type { SourceConfig } from "../replication/source.js";
import { encodedFilter } from "../sink/entry-filter.js";
import { type Batch, ClientSession, type StoredEntryFilter } from "../store/client-session.js";
import { fullCollection } from "../store/dropped-entries.js";
import type { RingLimits } from "../store/entry-ring.js";
import { catchUpRing, StoreBudget } from "../store/store-budget.js";
import { CatchUpReaders } from "./catch-up.js";
import { type CursorTarget, resolveTarget } from "./cursor-target.js";
import { type DestinationFailure, describeFailure, fixHint, SkipLog } from "./failure.js";
import { Pipeline } from "./pipeline.js";

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
  /**
   * The destination's own filters (canal's instance filters): a boundary for every client.
   * What they exclude never enters the store; a client's filter narrows what is left.
   */
  filter?: EventFilterOptions;
  /** Catch-up readers that may read at once (catch-up.ts); default 4. */
  catchUpReaders?: number;
  logger?: Logger;
  /**
   * Called when the destination stops (source refused us, an event that cannot be decoded).
   * It stays stopped, and says why in `failure`, until skipEvent() or a restart.
   */
  onFatal?(err: Error, failure: DestinationFailure): void;
  /**
   * Asked before anything is served: undefined while this server may serve, else why not
   * (its ZooKeeper lease ran out). Read at the moment of serving, not on a timer.
   */
  mayServe?(): string | undefined;
  /** Told what is read and served (see ../metrics.ts). */
  metrics?: DestinationMetrics;
}

export const DEFAULT_CATCH_UP_READERS = 4;
/** A client that has not asked for this long gives its catch-up reader to one that asks. */
const CATCH_UP_IDLE_MS = 30_000;

export class DestinationError extends Error {
  constructor(
    readonly kind: "not_subscribed" | "bad_filter" | "stopped" | "cannot_skip" | "held",
    message: string,
  ) {
    super(message);
    this.name = "DestinationError";
  }
}

// A catch-up reader's ring: enough to keep its client busy, small enough to have several. Its
// bytes come out of the destination's store budget (store-budget.ts), a share of it at most.
const CATCH_UP_MAX_ENTRIES = 4096;
const CATCH_UP_MAX_BYTES = 16 << 20;

export class Destination {
  readonly name: string;
  #pipeline: Pipeline | undefined;
  readonly #sessions = new Map<string, ClientSession>();
  readonly #catchUp: CatchUpReaders;
  /** store.maxBytes, shared by the shared ring and the catch-up readers' rings. */
  readonly #budget: StoreBudget;
  readonly #log: Logger;
  #epoch = 0n;
  #initialStart: Boundary | undefined;
  #fatal: Error | undefined;
  #failure: DestinationFailure | undefined;
  readonly #filter: EventFilter | undefined;
  /** Events operators chose to pass over (from the cursor store). */
  #skips: SkippedEventRecord[] = [];
  /** Batch ids issued per client before a restart in this epoch (so that none repeats). */
  readonly #batchesIssued = new Map<string, number>();
  /** Events passed over, by reason, since this server runs the destination. */
  readonly skipped = { tableError: 0, operator: 0 };
  readonly #skipLog: SkipLog;
  #stopped = false;
  #suspended: string | undefined;
  /** Set when a cursor write found a newer runner's epoch: never served here again. */
  #fenced: string | undefined;

  constructor(readonly opts: DestinationOptions) {
    this.name = opts.name;
    this.#log = opts.logger ?? createLogger(`destination.${opts.name}`);
    this.#skipLog = new SkipLog(this.#log);
    const f = opts.filter;
    const bounded =
      f &&
      (f.filter ||
        f.blackFilter ||
        f.fieldFilter ||
        f.fieldBlackFilter ||
        f.filterQueryDdl ||
        f.filterTableError);
    // The config was validated: a bad filter cannot reach here.
    this.#filter = bounded ? new EventFilter(f) : undefined;
    this.#budget = new StoreBudget(opts.limits.maxBytes, fullCollection ? { collect: fullCollection } : {});
    // Memory collected: the readers that waited for it read on.
    this.#budget.onCollected = () => {
      if (this.#stopped) return;
      this.#pipeline?.spaceFreed();
      this.#catchUp.spaceFreed();
    };
    const readers = opts.catchUpReaders ?? DEFAULT_CATCH_UP_READERS;
    const ring = catchUpRing(opts.limits.maxBytes, readers, CATCH_UP_MAX_BYTES);
    const catchUpLimits: RingLimits = {
      maxEntries: Math.min(CATCH_UP_MAX_ENTRIES, opts.limits.maxEntries),
      maxBytes: ring.maxBytes,
    };
    this.#catchUp = new CatchUpReaders(readers, CATCH_UP_IDLE_MS, {
      shared: () => this.#pipeline as Pipeline,
      sessions: () => this.#sessions.values(),
      makePipeline: (from) => this.#makePipeline(from, catchUpLimits),
      reserveBytes: ring.reserved,
      log: this.#log,
    });
  }

  /** The destination's own filters as configured; undefined when it has none. */
  get filterOptions(): EventFilterOptions | undefined {
    return this.#filter ? this.opts.filter : undefined;
  }

  /** Why the destination stopped; undefined while it runs. */
  get failure(): DestinationFailure | undefined {
    return this.#failure;
  }

  get epoch(): bigint {
    return this.#epoch;
  }

  get pipeline(): Pipeline | undefined {
    return this.#pipeline;
  }

  async start(): Promise<void> {
    this.#skips = await this.opts.store.loadSkips(this.name);
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
    try {
      await pipeline.start();
    } catch (err) {
      // The source cannot stream from the earliest cursor (purged binlog): the destination
      // waits, stopped, for an administrator to set its clients' cursors (setCursor).
      const failure = describeFailure(err as Error);
      if (failure.fix !== "set-cursor") throw err;
      this.#fail(err as Error, failure);
    }
    for (const s of stored) {
      const filter = s.filter ? this.#parseFilter(s.filter) : undefined;
      this.#sessions.set(
        s.clientId,
        new ClientSession(s.clientId, pipeline.ring, this.#epoch, {
          filter,
          filterText: s.filter ?? "",
          cursor: s.cursor ?? (pipeline.started ? { resume: pipeline.boundary, serverId: 0 } : undefined),
          readSeq: pipeline.ring.first,
          batchesIssued: this.#batchesIssued.get(s.clientId) ?? 0,
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
    this.#budget.close();
    await this.#pipeline?.stop();
    await this.#catchUp.stopAll();
  }

  #makePipeline(start: Boundary | undefined, limits: RingLimits): Pipeline {
    return new Pipeline({
      source: this.opts.source,
      start,
      limits,
      budget: this.#budget,
      ...(this.opts.heartbeatMs !== undefined ? { heartbeatMs: this.opts.heartbeatMs } : {}),
      ...(this.opts.timeZone ? { timeZone: this.opts.timeZone } : {}),
      ...(this.opts.schemaLookup ? { schemaLookup: this.opts.schemaLookup } : {}),
      logger: this.#log,
      ...(this.opts.metrics ? { onRead: this.opts.metrics.read } : {}),
      ...(this.#filter ? { filter: this.#filter, filterTableError: this.#filter.filterTableError } : {}),
      skipEvents: this.#skips,
      onSkipped: (event, file, offset) => this.#onSkipped(event, file, offset),
      onFatal: (err) => this.#fail(err, describeFailure(err)),
    });
  }

  #fail(err: Error, failure: DestinationFailure): void {
    if (this.#fatal) return;
    this.#fatal = err;
    this.#failure = failure;
    for (const s of this.#sessions.values()) s.ring.wakeAll();
    this.#log.error("destination stopped", {
      error: err.message,
      ...(failure.fix ? { fix: fixHint(this.name, failure) } : {}),
    });
    this.opts.onFatal?.(err, failure);
  }

  #onSkipped(event: SkippedTableEvent, file: string, offset: number): void {
    const reason = event.reason === "skipped" ? "operator" : "table_error";
    if (reason === "operator") this.skipped.operator++;
    else this.skipped.tableError++;
    this.opts.metrics?.skipped(reason);
    this.#skipLog.passedOver(event, file, offset);
  }

  /**
   * Passes over the one event the destination stopped on, as an operator asked: the skip is
   * stored (every later reader of the destination passes over it too, on any server), then the
   * destination starts again from its clients' cursors. Refused unless the destination stopped
   * on exactly that event and that event may be skipped.
   */
  async skipEvent(file: string, position: number): Promise<SkippedEventRecord> {
    const event = this.#failure?.event;
    if (!event) {
      throw new DestinationError(
        "cannot_skip",
        this.#failure
          ? `destination ${this.name} stopped, but not on a binlog event (${this.#failure.message}): there is nothing to skip`
          : `destination ${this.name} is running: an event is skipped only when the destination stopped on it`,
      );
    }
    if (event.file !== file || event.position !== position) {
      throw new DestinationError(
        "cannot_skip",
        `destination ${this.name} stopped at ${event.file}:${event.position}, not at ${file}:${position}: name the event it stopped on`,
      );
    }
    if (event.notSkippable) {
      throw new DestinationError("cannot_skip", `cannot skip ${file}:${position}: ${event.notSkippable}`);
    }
    const record: SkippedEventRecord = {
      file,
      position,
      eventType: event.eventType,
      table: event.table,
      cause: event.cause.slice(0, 500),
      at: Date.now(),
    };
    await this.opts.store.saveSkip(this.name, record);
    this.#log.warn("an operator skipped one event; starting again from the clients' cursors", {
      at: `${file}:${position}`,
      eventType: record.eventType,
      table: record.table || undefined,
      cause: record.cause,
    });
    await this.#restart();
    return record;
  }

  /** Bytes the destination's store holds: its shared ring and its catch-up readers' rings. */
  get storeBytes(): number {
    return this.#budget.held;
  }

  /** Catch-up readers reading (holding one of the store.catchUpReaders slots) and waiting for one. */
  get catchUpReaders(): { running: number; waiting: number } {
    return { running: this.#catchUp.running, waiting: this.#catchUp.waiting };
  }

  /** Streams open per client on this server (a client being streamed is held). */
  readonly #streams = new Map<string, number>();

  /** A stream of clientId opened (+1) or ended (-1). */
  streamCount(clientId: string, delta: 1 | -1): void {
    const n = (this.#streams.get(clientId) ?? 0) + delta;
    if (n > 0) this.#streams.set(clientId, n);
    else this.#streams.delete(clientId);
  }

  /**
   * Moves clientId's cursor as an administrator asked: durable and fenced like an ack, after
   * any ack in flight; its outstanding batches are given back. Creates the client when it has
   * no state. Refused while a stream of the client is open here (the caller checks holds
   * kept elsewhere). A destination that stopped because the source could not stream from a
   * cursor starts again.
   */
  async setCursor(
    clientId: string,
    target: CursorTarget,
  ): Promise<{ cursor: Cursor; previous: Cursor | undefined; givenBack: string[] }> {
    this.#check();
    if (this.#streams.has(clientId)) {
      throw new DestinationError(
        "held",
        `client ${clientId} is being streamed from this server: stop that consumer first`,
      );
    }
    const pipeline = this.#pipeline as Pipeline;
    const reading = pipeline.started && !this.#failure;
    const resume = await resolveTarget(target, {
      source: this.opts.source,
      readHead: () => (reading ? pipeline.boundary : undefined),
      ...(this.opts.start ? { configuredStart: this.opts.start } : {}),
    });
    const cursor: Cursor = { resume, serverId: pipeline.serverInfo?.serverId ?? 0 };
    const existing = this.#sessions.get(clientId);
    const previous = existing?.cursor;
    const stopped = this.#failure !== undefined || !reading;
    let givenBack: string[] = [];
    if (existing) {
      // After any ack in flight; nothing can take a batch between the write and the move.
      givenBack = await existing.serialize(async () => {
        await this.#saveCursor(clientId, cursor);
        const ids = existing.giveBack(`client ${clientId}'s cursor was set by an administrator`);
        existing.cursor = cursor;
        if (!stopped) this.#place(clientId, existing, cursor);
        return ids;
      });
    } else {
      await this.#saveCursor(clientId, cursor);
      if (!stopped) this.#place(clientId, undefined, cursor);
    }
    this.#log.warn("an administrator set a client's cursor", {
      clientId,
      to: `${resume.file}:${resume.position}`,
      ...(previous ? { from: `${previous.resume.file}:${previous.resume.position}` } : {}),
      givenBack: givenBack.length ? givenBack.join(",") : undefined,
    });
    if (stopped) await this.#restart();
    return { cursor, previous, givenBack };
  }

  async #saveCursor(clientId: string, cursor: Cursor): Promise<void> {
    await this.opts.store.saveCursor(this.name, clientId, cursor).catch((err: unknown) => {
      if (err instanceof FencedError) {
        this.#fenced = err.message;
        for (const s of this.#sessions.values()) s.ring.wakeAll();
      }
      throw err;
    });
  }

  /**
   * Puts a client (new, or with no outstanding batch) where it reads from `cursor`: in the
   * shared ring when it holds that point, else on a private reader from it (which get() waits
   * for). Synchronous, so that no get() sees the client half moved.
   */
  #place(clientId: string, existing: ClientSession | undefined, cursor: Cursor): void {
    const pipeline = this.#pipeline as Pipeline;
    this.#catchUp.stop(clientId);
    const readSeq = pipeline.ring.firstAtOrAfter(cursor.resume);
    let session = existing;
    if (session) {
      session.moveTo(pipeline.ring, readSeq);
      session.lastSettled = undefined;
    } else {
      session = new ClientSession(clientId, pipeline.ring, this.#epoch, {
        filter: undefined,
        filterText: "",
        cursor,
        readSeq,
      });
      this.#sessions.set(clientId, session);
    }
    if (comparePoints(pipeline.coverageStart, cursor.resume) > 0)
      this.#catchUp.detach(session, cursor.resume);
    this.#trim();
  }

  /** Starts again from the stored cursors: every outstanding batch is given back. */
  async #restart(): Promise<void> {
    await this.#pipeline?.stop();
    this.#pipeline?.ring.leaveBudget();
    await this.#catchUp.stopAll();
    for (const s of this.#sessions.values()) {
      s.giveBack(`destination ${this.name} was restarted`);
      this.#batchesIssued.set(s.clientId, s.batchesIssued);
    }
    this.#sessions.clear();
    this.#pipeline = undefined;
    this.#fatal = undefined;
    this.#failure = undefined;
    await this.start();
  }

  /** A client's filter, as the store applies it to stored entries (the sink stage's). */
  #parseFilter(text: string): StoredEntryFilter | undefined {
    if (text.trim() === "") return undefined;
    try {
      return encodedFilter(new EventFilter({ filter: text }));
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
  }

  /** Once a failed destination has handed out everything it read before the failure. */
  #stoppedError(failure: DestinationFailure): DestinationError {
    const fix = failure.fix
      ? `; an administrator can get it going again: ${fixHint(this.name, failure)}`
      : "";
    return new DestinationError("stopped", `destination ${this.name} stopped: ${failure.message}${fix}`);
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
    // Without a running reader there is no head to start a new client at.
    if (!pipeline.started && this.#failure) throw this.#stoppedError(this.#failure);
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
    const session = new ClientSession(clientId, pipeline.ring, this.#epoch, {
      filter,
      filterText,
      cursor,
      readSeq: pipeline.ring.firstAtOrAfter(cursor.resume),
    });
    this.#sessions.set(clientId, session);
    if (comparePoints(pipeline.coverageStart, cursor.resume) > 0)
      this.#catchUp.detach(session, cursor.resume);
    this.#log.info("client subscribed", {
      clientId,
      filter: filterText || undefined,
      at: `${cursor.resume.file}:${cursor.resume.position}`,
    });
    return session;
  }

  async unsubscribe(clientId: string): Promise<void> {
    this.#check();
    await this.opts.store.remove(this.name, clientId);
    this.#sessions.delete(clientId);
    this.#catchUp.stop(clientId);
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
      // A client reading on a catch-up reader waits (until the deadline) for it to read.
      const reading = await this.#catchUp.prepare(session, Math.max(0, deadline - Date.now()), signal);
      if (!reading) return undefined;
      this.#check(); // again: the await above may have outlived this server's right to serve
      const batch = session.take(batchSize);
      this.#trim();
      if (batch) {
        this.opts.metrics?.delivered(clientId, batch.entries.length);
        return batch;
      }
      // A destination that stopped serves what it read before; then it says why it stopped.
      if (this.#failure) throw this.#stoppedError(this.#failure);
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return undefined;
      await session.ring.waitForAppend(Math.min(left, 1000), signal);
    }
  }

  async ack(clientId: string, batchId: string): Promise<Cursor | undefined> {
    const session = this.session(clientId);
    const started = performance.now();
    // A FencedError (a newer runner owns the destination) also stops this server serving it.
    const cursor = await session.ack(batchId, (c) => this.#saveCursor(clientId, c));
    this.opts.metrics?.acked(clientId, performance.now() - started);
    // A client that caught up gives its catch-up reader back now, not at its next get.
    this.#catchUp.maybeRejoin(session);
    this.#trim();
    return cursor;
  }

  async rollback(clientId: string, batchId: string | undefined): Promise<string[]> {
    const ids = await this.session(clientId).rollback(batchId);
    if (ids.length > 0) this.opts.metrics?.rolledBack(clientId, ids.length);
    return ids;
  }

  /**
   * Drops ring entries no client needs any more, and lets the readers go on: every ring is
   * trimmed before any reader resumes, since they share one budget.
   */
  #trim(): void {
    const pipeline = this.#pipeline as Pipeline;
    this.#trimShared(pipeline);
    pipeline.spaceFreed();
    this.#catchUp.detachLaggards();
    this.#trimShared(pipeline);
    this.#catchUp.trim((clientId) => this.#sessions.get(clientId));
    pipeline.spaceFreed();
    this.#catchUp.spaceFreed();
  }

  #trimShared(pipeline: Pipeline): void {
    let needed = pipeline.ring.next;
    for (const s of this.#sessions.values()) {
      if (s.ring === pipeline.ring) needed = Math.min(needed, s.neededSeq);
    }
    pipeline.ring.trimTo(needed);
  }
}
