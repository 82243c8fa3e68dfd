// The parse stage: a replica connection plus the decoder, turned into an ordered stream of
// decoded events with exact positions, that survives disconnects.
//
// - Positions: every event is delivered with its binlog file and offset; the reader tracks
//   transaction boundaries (GTID / BEGIN ... XID / COMMIT, standalone DDL) so that it always
//   knows where the open transaction started and where the last complete one ended.
// - Reconnect: on a lost connection it reconnects with back-off from the START of the open
//   transaction (table maps and the GTID event must be read again) and suppresses the events
//   it had already delivered, so the consumer sees each event exactly once, in order.
// - Schema fallback: when a TABLE_MAP lacks what the decoder needs (names without FULL row
//   metadata; MariaDB UUID/INET columns, which are logged as plain BINARY), it pauses, loads
//   the table from information_schema and decodes the TABLE_MAP again.
// - Continuity: every event must start where the one before it ended (its end_log_pos minus
//   its length; binlog/event-chain.ts), else events were lost or repeated on the way.
// - Time zone: TIMESTAMPs are rendered in the source's global time_zone, read at every
//   (re)connect and checked again every minute, so that a SET GLOBAL time_zone (or a DST change
//   of a zone the source only gives as an offset) is followed, with a log line, from the next
//   event decoded on. Events decoded before are not rendered again.
// - Back-pressure: pause() stops reading the socket; the server then stops sending.
import { createLogger, type Logger } from "../../common/log.js";
import {
  BinlogDecoder,
  type BinlogEvent,
  ColumnType,
  describeBreak,
  EventChain,
  eventTypeName,
  type TableInfo,
} from "../binlog/index.js";
import type { DdlInfo } from "../entry/statement.js";
import {
  type BinlogDump,
  makeReplicaServerId,
  ReplicationClient,
  ReplicationError,
  type ServerInfo,
  type StartPosition,
} from "../replication/replication-client.js";
import { describeSource, type SourceConfig } from "../replication/source.js";
import { SchemaCache } from "../schema/schema-cache.js";
import { classifyQuery } from "./ddl.js";
import { SourceTimeZone } from "./source-time-zone.js";
import { type TransactionBoundary, TransactionTracker } from "./transaction-tracker.js";

export type { TransactionBoundary };

export interface SourceEvent {
  event: BinlogEvent;
  /** Binlog file of the event. */
  file: string;
  /** Offset of the event's first byte in `file`; 0 for artificial events (fake rotate, heartbeats). */
  offset: number;
  /** Offset of the next event (the event's log_pos). */
  nextOffset: number;
  /** GTID of the transaction the event belongs to ("" when the source has none). */
  gtid: string;
  /** Server id of the source server that wrote the event. */
  serverId: number;
  /**
   * A QUERY event's statement as classified once when it was read (parse/ddl.ts): its entry
   * and every filter take it from here. Set on the QUERY events that become entries.
   */
  statement?: DdlInfo | undefined;
}

export interface BinlogReaderOptions {
  source: SourceConfig;
  /** Where to start; default: the source's current head. */
  start?: StartPosition;
  /** Receives every event in binlog order. Throwing stops the reader with that error. */
  onEvent(e: SourceEvent): void;
  /** The reader stopped for good: a setup problem, a decode error, or onEvent threw. */
  onFatal(err: Error): void;
  replicaServerId?: number;
  heartbeatMs?: number;
  /** Reconnect back-off: first delay and cap (ms); default 100 ms doubling up to 1 s. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** TIMESTAMP rendering zone; default: the source server's, followed as it changes. */
  timeZone?: string;
  /** How often the source's time zone is read again (default 60 s; 0: only at connect). */
  timeZoneCheckMs?: number;
  /** information_schema lookups: "auto" (when the TABLE_MAP lacks something), "never". */
  schemaLookup?: "auto" | "never";
  /** Tables whose rows are decoded; others pass as `skipped_table` events (DecoderOptions.includeTable). */
  includeTable?: (schema: string, table: string) => boolean;
  /** Undecodable TABLE_MAP and rows events: stop ("throw", default) or pass them over ("skip"). */
  tableErrors?: "throw" | "skip";
  /**
   * Events an operator chose to pass over, by file and offset: a TABLE_MAP or rows event
   * arrives as a `skipped_table` event (reason "skipped"); any other is not delivered at all.
   */
  skipEvents?: ReadonlyArray<{ file: string; position: number }>;
  logger?: Logger;
}

const LOG_EVENT_ARTIFICIAL_F = 0x20;
const OLD_TEMPORAL_TYPES: ReadonlySet<number> = new Set([
  ColumnType.TIMESTAMP,
  ColumnType.TIME,
  ColumnType.DATETIME,
]);
const FLOATING: ReadonlySet<number> = new Set([ColumnType.FLOAT, ColumnType.DOUBLE]);
const HEARTBEAT = 27;

type State = "idle" | "connecting" | "streaming" | "waiting" | "stopped";

export class BinlogReader {
  readonly #opts: BinlogReaderOptions;
  readonly #log: Logger;
  #state: State = "idle";
  #info: ServerInfo | undefined;
  #client: ReplicationClient | undefined;
  #queryClient: ReplicationClient | undefined;
  #dump: BinlogDump | undefined;
  #decoder: BinlogDecoder | undefined;
  #schema: SchemaCache | undefined;
  #paused = false;
  #serverId: number | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #lastEventAt = 0;
  #attempt = 0;
  /** The source's time zone, followed as it changes (unless options.timeZone fixes one). */
  readonly #sourceZone: SourceTimeZone;

  // Position tracking.
  #tracker = new TransactionTracker();
  /** Last delivered event; after a reconnect, events up to it are decoded but not delivered. */
  #delivered = { file: "", offset: -1 };
  #suppressThrough: { file: string; offset: number } | undefined;
  /** "file:offset" of the events to pass over (options.skipEvents). */
  readonly #skips: ReadonlySet<string>;
  /** end_log_pos continuity of the events of this connection. */
  readonly #chain = new EventChain(true);
  /** "file:start:expected" of the last break in the chain, once a reconnect was tried for it. */
  #lastBreak = "";
  // Events held while the schema of a table loads.
  readonly #queue: Buffer[] = [];
  #loading = false;

  constructor(opts: BinlogReaderOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? createLogger("binlog-reader");
    this.#skips = new Set((opts.skipEvents ?? []).map((e) => `${e.file}:${e.position}`));
    this.#sourceZone = new SourceTimeZone({
      source: opts.source,
      log: this.#log,
      everyMs: opts.timeZone === undefined ? (opts.timeZoneCheckMs ?? 60_000) : 0,
      queryClient: () => this.#queryClient,
      position: () => `${this.#delivered.file}:${this.#delivered.offset}`,
      changed: (zone) => this.#decoder?.setTimeZone(zone),
    });
  }

  get serverInfo(): ServerInfo | undefined {
    return this.#info;
  }

  /** Counters for metrics and tests. */
  readonly stats = { reconnects: 0, suppressedEvents: 0, schemaLoads: 0 };

  /** The last transaction boundary read: resuming there repeats and loses nothing. */
  get boundary(): TransactionBoundary {
    return this.#tracker.boundary;
  }

  /** Connects and starts streaming; rejects when the first connection fails for a reason reconnecting cannot fix. */
  async start(): Promise<void> {
    if (this.#state !== "idle") throw new Error("BinlogReader.start() called twice");
    this.#state = "connecting";
    const client = await ReplicationClient.connect(this.#opts.source);
    try {
      let start = this.#opts.start;
      if (!start) {
        const head = await client.head();
        start = { kind: "file", file: head.file, position: head.position };
      }
      this.#tracker = new TransactionTracker({
        ...(start.kind === "file" ? { file: start.file, position: start.position } : {}),
        ...(start.kind === "mariadb-gtid" ? { mariadbGtidState: start.state } : {}),
      });
      await this.#open(client, start);
    } catch (err) {
      // Nothing may stay open: a process that cannot start must be able to exit.
      client.close();
      await this.stop();
      throw err;
    }
    this.#sourceZone.start();
  }

  pause(): void {
    this.#paused = true;
    this.#dump?.pause();
  }

  resume(): void {
    this.#paused = false;
    if (!this.#loading) this.#dump?.resume();
  }

  get paused(): boolean {
    return this.#paused;
  }

  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#idleTimer);
    this.#sourceZone.stop();
    this.#dump?.stop();
    this.#client?.close();
    this.#queryClient?.close();
  }

  async #open(client: ReplicationClient, start: StartPosition): Promise<void> {
    this.#client = client;
    this.#info = client.info;
    this.#serverId ??= this.#opts.replicaServerId ?? makeReplicaServerId(client.info.serverId);
    if (this.#opts.schemaLookup !== "never" && !this.#queryClient) {
      this.#queryClient = await ReplicationClient.connect(this.#opts.source);
      const qc = this.#queryClient;
      this.#schema = new SchemaCache((sql, params) => qc.query(sql, params));
    }
    if (this.#opts.timeZone === undefined) this.#sourceZone.connected(client.info.timeZone);
    this.#decoder = new BinlogDecoder({
      timeZone: this.timeZone ?? client.info.timeZone,
      ...(this.#schema ? { schemaProvider: this.#schema } : {}),
      ...(this.#opts.includeTable ? { includeTable: this.#opts.includeTable } : {}),
      ...(this.#opts.tableErrors ? { tableErrors: this.#opts.tableErrors } : {}),
    });
    this.#chain.reset();
    const heartbeatMs = this.#opts.heartbeatMs ?? 5000;
    this.#dump = await client.dump(
      start,
      {
        event: (bytes) => this.#onBytes(bytes),
        end: () => {},
      },
      { replicaServerId: this.#serverId, heartbeatMs },
    );
    if (this.#paused) this.#dump.pause();
    this.#state = "streaming";
    this.#attempt = 0;
    this.#lastEventAt = Date.now();
    // A connection that goes silent (no events, no heartbeats) is dead even if TCP says nothing.
    clearInterval(this.#idleTimer);
    if (heartbeatMs > 0) {
      this.#idleTimer = setInterval(() => {
        if (!this.#paused && !this.#loading && Date.now() - this.#lastEventAt > heartbeatMs * 3) {
          this.#log.warn("no event or heartbeat from the source; reconnecting", {
            silentMs: Date.now() - this.#lastEventAt,
          });
          this.#dump?.stop();
          this.#client?.close();
          this.#scheduleReconnect(new ReplicationError("CONNECTION_LOST", "source went silent"));
        }
      }, heartbeatMs);
      this.#idleTimer.unref();
    }
    const dump = this.#dump;
    dump.done.then(
      () => {
        if (this.#state === "streaming" && this.#dump === dump) {
          this.#scheduleReconnect(new ReplicationError("CONNECTION_LOST", "the source ended the dump"));
        }
      },
      (err: Error) => {
        if (this.#state !== "streaming" || this.#dump !== dump) return;
        if (err instanceof ReplicationError && err.retryable) this.#scheduleReconnect(err);
        else this.#fatal(err);
      },
    );
  }

  #scheduleReconnect(err: Error): void {
    if (this.#state === "stopped" || this.#state === "waiting") return;
    this.#state = "waiting";
    clearInterval(this.#idleTimer);
    this.#queue.length = 0;
    this.#loading = false;
    // Short and bounded: a restarted source is back within seconds, and every second spent
    // waiting here is a second every consumer stands still. Refused connects are cheap.
    const initial = this.#opts.reconnectInitialMs ?? 100;
    const max = this.#opts.reconnectMaxMs ?? 1000;
    const delay = Math.min(max, initial * 2 ** this.#attempt) * (0.8 + Math.random() * 0.4);
    this.#attempt++;
    const resume = this.#tracker.resumePoint();
    this.#log.warn("binlog connection lost; reconnecting", {
      source: describeSource(this.#opts.source),
      reason: err.message,
      inMs: Math.round(delay),
      resumeAt: `${resume.file}:${resume.position}`,
    });
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(resume), delay);
  }

  async #reconnect(resume: { file: string; position: number }): Promise<void> {
    if (this.#state !== "waiting") return;
    this.#state = "connecting";
    this.#suppressThrough = this.#delivered.offset >= 0 ? { ...this.#delivered } : undefined;
    this.#tracker.abandonTransaction();
    this.#tracker.file = resume.file;
    try {
      const client = await ReplicationClient.connect(this.#opts.source);
      if (this.#state !== "connecting") {
        client.close();
        return;
      }
      await this.#open(client, { kind: "file", file: resume.file, position: resume.position });
      this.stats.reconnects++;
      this.#log.info("binlog connection restored", { resumeAt: `${resume.file}:${resume.position}` });
    } catch (err) {
      if (err instanceof ReplicationError && err.retryable) {
        this.#state = "streaming";
        this.#scheduleReconnect(err);
      } else {
        this.#fatal(err as Error);
      }
    }
  }

  /** The zone TIMESTAMP values are rendered in now. */
  get timeZone(): string | undefined {
    return this.#opts.timeZone ?? this.#sourceZone.zone;
  }

  #fatal(err: Error): void {
    if (this.#state === "stopped") return;
    void this.stop();
    this.#log.error("binlog reader stopped", { error: err.message });
    this.#opts.onFatal(err);
  }

  #onBytes(bytes: Buffer): void {
    // The dump may still hand over what it had read when the reader stopped (a decode error)
    // or gave the connection up (a break in the chain): nothing after that event may reach the
    // consumer; a reconnect reads it again.
    if (this.#state === "stopped" || this.#state === "waiting") return;
    this.#lastEventAt = Date.now();
    if (this.#loading) {
      // A copy: the dump's bytes are only valid during this call.
      this.#queue.push(Buffer.from(bytes));
      return;
    }
    try {
      this.#process(bytes);
    } catch (err) {
      this.#failed(err as Error);
    }
  }

  /** An event could not be handled: a break in the chain is the stream's, anything else fatal. */
  #failed(err: Error): void {
    if (!(err instanceof ChainBreakError) || err.key === this.#lastBreak) {
      this.#fatal(err);
      return;
    }
    // A break is first taken for a fault of the connection (a relay or proxy on the way that
    // dropped or replayed events): read again from the last transaction boundary, as for a
    // lost connection, which delivers nothing twice. If the same break comes back, the
    // source's own binlog has it, and reading on would lose or repeat rows: stop.
    this.#lastBreak = err.key;
    this.#dump?.stop();
    this.#client?.close();
    this.#scheduleReconnect(new ReplicationError("CONNECTION_LOST", err.message));
  }

  /** Decodes and delivers one event; returns false when it started a schema load (event queued). */
  #process(bytes: Buffer): boolean {
    const decoder = this.#decoder as BinlogDecoder;
    const logPos = bytes.readUInt32LE(13);
    const size = bytes.readUInt32LE(9);
    // Artificial events (the dump's fake ROTATE and FORMAT_DESCRIPTION, heartbeats) have no
    // place in the file: their log_pos is 0 or the current head.
    const artificial =
      logPos === 0 || (bytes.readUInt16LE(17) & LOG_EVENT_ARTIFICIAL_F) !== 0 || bytes[4] === HEARTBEAT;
    const offset = artificial ? 0 : logPos - size;
    const broken = this.#chain.check(bytes);
    if (broken) {
      const file = this.#tracker.file;
      throw new ChainBreakError(
        `binlog stream from ${describeSource(this.#opts.source)} at ${file}:${broken.start} ` +
          `${eventTypeName(bytes[4] as number)}: ${describeBreak(broken)}`,
        `${file}:${broken.start}:${broken.expected}`,
      );
    }
    let event: BinlogEvent;
    if (offset > 0 && this.#skips.has(`${this.#tracker.file}:${offset}`)) {
      const passed = decoder.passOver(bytes, { file: this.#tracker.file, offset });
      this.#log.warn("passing over an event an operator chose to skip", {
        at: `${this.#tracker.file}:${offset}`,
        ...(passed ? { table: `${passed.schema}.${passed.table}` } : {}),
      });
      if (!passed) {
        this.#chain.accept(bytes);
        this.#delivered = { file: this.#tracker.file, offset };
        return true;
      }
      event = passed;
    } else {
      event = decoder.decode(bytes, { file: this.#tracker.file, offset });
    }

    if (event.type === "table_map" && this.#needsSchema(event.table)) {
      // Not yet a link of the chain: it is processed again once the schema is loaded.
      this.#loadSchema(event.table, bytes);
      return false;
    }
    this.#chain.accept(bytes);
    const gtid = this.#tracker.observe(event, offset, logPos);
    const statement = event.type === "query" ? classifyQuery(event) : undefined;
    if (statement && event.type === "query" && event.statement === "ddl") this.#forgetSchemas(statement);
    const file = this.#tracker.file;

    const suppress = this.#suppressThrough;
    if (suppress && offset > 0) {
      if (file === suppress.file && offset <= suppress.offset) {
        this.stats.suppressedEvents++;
        return true;
      }
      this.#suppressThrough = undefined;
    }
    if (offset > 0) this.#delivered = { file, offset };
    this.#opts.onEvent({
      event,
      file,
      offset,
      nextOffset: logPos,
      gtid,
      serverId: event.header.serverId,
      statement,
    });
    return true;
  }

  #needsSchema(table: TableInfo): boolean {
    const schema = this.#schema;
    if (!schema || schema.has(table.schema, table.name)) return false;
    if (table.metadataSource !== "binlog-full") return true;
    // Pre-5.6 temporal types (MariaDB with mysql56_temporal_format=OFF) do not log their
    // fractional digits; only the schema tells TIME(3) from TIME. Nor does any binlog carry
    // the D of FLOAT(M,D)/DOUBLE(M,D), which the server prints with exactly D decimals: a
    // table with such a column is looked up once (and after each DDL on it), as every table
    // of a source without FULL metadata is.
    if (table.columns.some((c) => OLD_TEMPORAL_TYPES.has(c.binlogType) || FLOATING.has(c.binlogType)))
      return true;
    // MariaDB logs UUID, INET4 and INET6 as BINARY(16)/BINARY(4); only the schema tells them apart.
    return (
      this.#info?.flavor === "mariadb" &&
      table.columns.some(
        (c) =>
          c.binlogType === ColumnType.STRING &&
          c.valueFormat === "base64" &&
          (c.length === 16 || c.length === 4),
      )
    );
  }

  #loadSchema(table: TableInfo, bytes: Buffer): void {
    const schema = this.#schema as SchemaCache;
    this.#loading = true;
    this.#queue.unshift(Buffer.from(bytes)); // kept past the dump's call: a copy
    this.#dump?.pause();
    this.stats.schemaLoads++;
    schema.load(table.schema, table.name).then(
      () => {
        this.#decoder?.invalidateSchema();
        this.#drainQueue();
      },
      (err: Error) => {
        // A query that failed: the query connection is gone or the source is going away.
        // Both connections are made again, and the transaction is read again from its start.
        this.#queryClient?.close();
        this.#queryClient = undefined;
        this.#schema = undefined;
        this.#dump?.stop();
        this.#client?.close();
        this.#scheduleReconnect(
          new ReplicationError(
            "CONNECTION_LOST",
            `loading the schema of ${table.schema}.${table.name} failed: ${err.message}`,
          ),
        );
      },
    );
  }

  #drainQueue(): void {
    this.#loading = false;
    try {
      while (this.#queue.length > 0 && this.#state !== "stopped") {
        const next = this.#queue.shift() as Buffer;
        if (!this.#process(next)) return; // another load started; it resumes the drain
      }
    } catch (err) {
      this.#failed(err as Error);
      return;
    }
    if (!this.#paused) this.#dump?.resume();
  }

  /** A DDL changed tables: their cached schemas are stale. */
  #forgetSchemas(info: DdlInfo): void {
    if (!this.#schema) return;
    for (const t of info.tables) this.#schema.invalidate(t.schema, t.table);
    if (info.schemaOnly) this.#schema.invalidateSchema(info.schemaOnly);
    if (info.tables.length > 0 || info.schemaOnly) this.#decoder?.invalidateSchema();
  }
}

/** Events were lost or repeated between two events of the stream (binlog/event-chain.ts). */
export class ChainBreakError extends Error {
  override readonly name = "ChainBreakError";
  constructor(
    message: string,
    /** Where the break is: "file:start:expected". */
    readonly key: string,
  ) {
    super(message);
  }
}
