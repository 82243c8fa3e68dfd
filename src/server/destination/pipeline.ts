// One binlog reader feeding one ring, the stages in order: parse (BinlogReader, EntryBuilder;
// each statement classified once, carried on the entry's filter subject) → filter (the
// destination's own, sink/entry-filter.ts) → store (EntryRing, each entry encoded once as it
// enters: store/stored-entry.ts), with back-pressure: the reader pauses while the ring is full.
// It lives above parse, sink and store so that none of them imports another. A destination
// runs one shared pipeline; a client that falls behind the shared ring's window gets a private
// one from its own cursor until it catches up (see destination.ts).
import { createLogger, type Logger } from "../../common/log.js";
import type { Entry } from "../../gen/sluice/v1/entry_pb.js";
import type { SkippedTableEvent } from "../binlog/index.js";
import { filterSubject } from "../entry/filter-subject.js";
import type { BinlogPoint, Boundary, EntryPosition } from "../entry/positions.js";
import { isRowChanges, type RowChanges, rowChangeCount } from "../entry/row-changes.js";
import type { EventFilter } from "../filter/index.js";
import { BinlogReader, type SourceEvent } from "../parse/binlog-reader.js";
import { EntryBuilder } from "../parse/entry-builder.js";
import type { StartPosition } from "../replication/replication-client.js";
import type { SourceConfig } from "../replication/source.js";
import { filterEntry } from "../sink/entry-filter.js";
import { EntryRing, type RingLimits } from "../store/entry-ring.js";
import type { StoreBudget } from "../store/store-budget.js";
import { EntryStorer } from "../store/stored-entry.js";

export interface PipelineOptions {
  source: SourceConfig;
  /** Where to start; undefined = the source's current head. */
  start: Boundary | undefined;
  limits: RingLimits;
  /** The destination's store budget, shared with its other rings (store-budget.ts). */
  budget?: StoreBudget;
  heartbeatMs?: number;
  timeZone?: string;
  schemaLookup?: "auto" | "never";
  replicaServerId?: number;
  onFatal(err: Error): void;
  logger?: Logger;
  /** Told of every binlog event read: its size and the row changes it carries (for metrics). */
  onRead?(bytes: number, rows: number): void;
  /**
   * The destination's own filters: what they exclude never enters the ring, and the rows of
   * excluded tables are not even decoded. Every client's filter applies on top.
   */
  filter?: EventFilter;
  /** canal's filter.table.error: pass over TABLE_MAP and rows events that cannot be decoded. */
  filterTableError?: boolean;
  /** Events an operator chose to pass over (BinlogReaderOptions.skipEvents). */
  skipEvents?: ReadonlyArray<{ file: string; position: number }>;
  /** Told of every event passed over for a reason other than the table filter. */
  onSkipped?(event: SkippedTableEvent, file: string, offset: number): void;
}

export class Pipeline {
  readonly ring: EntryRing;
  readonly #reader: BinlogReader;
  readonly #log: Logger;
  #builder: EntryBuilder | undefined;
  readonly #storer = new EntryStorer();
  /** The boundary after the last complete transaction appended (or the start point). */
  #boundary: Boundary = { file: "", position: 0, gtid: "", timestamp: 0 };
  /** Everything from this point on is (or was) appended; entries before it never were. */
  #coverageStart: BinlogPoint = { file: "", position: 0 };
  #started = false;
  #last: EntryPosition | undefined;
  #waitingForSpace = false;
  /** Where the last event read from the file ends (its log_pos). */
  #readEnd: BinlogPoint = { file: "", position: 0 };
  /** When a heartbeat last said the source had nothing after #readEnd (ms since the epoch). */
  #caughtUpAt = 0;

  constructor(readonly opts: PipelineOptions) {
    this.ring = new EntryRing(opts.limits, opts.budget);
    this.#log = opts.logger ?? createLogger("pipeline");
    const includeTable = opts.filter && filterTables(opts.filter);
    const start: StartPosition | undefined = opts.start
      ? { kind: "file", file: opts.start.file, position: opts.start.position }
      : undefined;
    this.#reader = new BinlogReader({
      source: opts.source,
      ...(start ? { start } : {}),
      onEvent: (e) => this.#onEvent(e),
      onFatal: (err) => opts.onFatal(err),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.timeZone ? { timeZone: opts.timeZone } : {}),
      ...(opts.schemaLookup ? { schemaLookup: opts.schemaLookup } : {}),
      ...(opts.replicaServerId ? { replicaServerId: opts.replicaServerId } : {}),
      ...(includeTable ? { includeTable } : {}),
      ...(opts.filterTableError ? { tableErrors: "skip" as const } : {}),
      ...(opts.skipEvents ? { skipEvents: opts.skipEvents } : {}),
      logger: this.#log,
    });
  }

  async start(): Promise<void> {
    await this.#reader.start();
    const b = this.#reader.boundary;
    this.#boundary = {
      file: b.file,
      position: b.position,
      gtid: b.gtidState || b.lastGtid,
      timestamp: b.timestamp,
    };
    if (this.opts.start?.gtid && !this.#boundary.gtid) this.#boundary.gtid = this.opts.start.gtid;
    this.#coverageStart = { file: b.file, position: b.position };
    this.#started = true;
  }

  async stop(): Promise<void> {
    await this.#reader.stop();
    this.ring.wakeAll();
  }

  get serverInfo() {
    return this.#reader.serverInfo;
  }

  /** The boundary after the last complete transaction in the ring: a safe start for a new client. */
  get boundary(): Boundary {
    return { ...this.#boundary };
  }

  /** Entries from this point on are all in the ring (or still to come). */
  get coverageStart(): BinlogPoint {
    const first = this.ring.get(this.ring.first);
    if (first) return { file: first.position.file, position: first.position.offset };
    // Everything appended was trimmed: only what comes after the last entry is still to come.
    if (this.#last) return { file: this.#last.file, position: this.#last.offset + 1 };
    return { ...this.#coverageStart };
  }

  get started(): boolean {
    return this.#started;
  }

  /** Position of the last entry appended, if any. */
  get lastPosition(): EntryPosition | undefined {
    return this.#last;
  }

  /** True while the reader waits for room in the ring. */
  get waitingForSpace(): boolean {
    return this.#waitingForSpace;
  }

  /** Call after trimming the ring: resumes a reader paused for space. */
  spaceFreed(): void {
    if (this.#waitingForSpace && !this.ring.full) {
      this.#waitingForSpace = false;
      this.#reader.resume();
    }
  }

  /**
   * How far the reader trails the source, in ms: 0 while heartbeats say nothing is left to
   * read (the last one within two heartbeat periods), else now minus the source time of the
   * last entry read (undefined before any). Heartbeats come after `heartbeatMs` of silence.
   */
  lagMs(now = Date.now()): number | undefined {
    const period = this.opts.heartbeatMs ?? 5000;
    if (period > 0 && this.#caughtUpAt > 0 && now - this.#caughtUpAt <= 2 * period) return 0;
    return this.#last ? Math.max(0, now - this.#last.timestamp) : undefined;
  }

  #onEvent(e: SourceEvent): void {
    if (e.event.type === "heartbeat") {
      // The source's position when it sent the heartbeat: equal to where our last event ended,
      // nothing is left to read.
      const at = { file: e.event.file, position: e.event.offset ?? e.nextOffset };
      if (at.file === this.#readEnd.file && at.position === this.#readEnd.position)
        this.#caughtUpAt = Date.now();
      return;
    }
    if (e.offset > 0) {
      this.#readEnd = { file: e.file, position: e.nextOffset };
      this.#caughtUpAt = 0;
    }
    this.#builder ??= new EntryBuilder({ flavor: this.#reader.serverInfo?.flavor ?? "mysql" });
    const before = this.#boundary;
    if (e.event.type === "skipped_table" && e.event.reason !== "filtered") {
      this.opts.onSkipped?.(e.event, e.file, e.offset);
    }
    const built = this.#builder.buildForStore(e);
    const subject = built && filterSubject(built, e.statement);
    const entry = built && this.opts.filter ? filterEntry(built, subject, this.opts.filter) : built;
    if (e.offset > 0) {
      const rows = entry === undefined ? 0 : rowsOf(entry);
      this.opts.onRead?.(e.event.header.eventSize, rows);
    }
    const b = this.#reader.boundary;
    // The tracker moved its boundary iff this event closed a transaction.
    const closed = b.position !== before.position || b.file !== before.file;
    const after: Boundary | undefined = closed
      ? { file: b.file, position: b.position, gtid: b.gtidState || b.lastGtid, timestamp: b.timestamp }
      : undefined;
    if (entry && e.offset > 0) {
      const position: EntryPosition = {
        file: e.file,
        offset: e.offset,
        after,
        before,
        timestamp: e.event.header.timestamp * 1000,
        gtid: e.gtid,
        serverId: e.serverId,
      };
      this.ring.append(this.#storer.store(entry, subject, position));
      this.#last = position;
    }
    if (after) this.#boundary = after;
    if (this.ring.full && !this.#waitingForSpace) {
      this.#waitingForSpace = true;
      this.#reader.pause();
    }
  }
}

/** The decoder's table predicate for a filter; undefined when the filter keeps every table. */
function filterTables(filter: EventFilter): ((schema: string, table: string) => boolean) | undefined {
  if (filter.filter.isEmpty && filter.blackFilter.isEmpty) return undefined;
  return (schema, table) => filter.acceptsTable(schema, table);
}

/** Row changes (rowDatas) an entry holds. */
function rowsOf(entry: Entry | RowChanges): number {
  if (isRowChanges(entry)) return rowChangeCount(entry);
  return entry.payload.case === "rowChange" ? entry.payload.value.rowDatas.length : 0;
}
