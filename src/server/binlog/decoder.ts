// BinlogDecoder: bytes of one binlog event in, one typed event out. Stateful: it holds the
// current FORMAT_DESCRIPTION (checksum algorithm, post-header lengths, flavour) and the
// TABLE_MAP cache by table id, with a compiled row plan per table.
import { BufferReader } from "./buffer-reader.js";
import { EventText } from "./charsets.js";
import { CHECKSUM_LENGTH, hasValidChecksum, verifyChecksum } from "./checksum.js";
import { compilePlan, type RowPlan, type ValueContext } from "./column-values.js";
import { BinlogDecodeError, type BinlogPosition, fail } from "./errors.js";
import { EVENT_HEADER_LENGTH, type EventHeader, parseEventHeader } from "./event-header.js";
import { EventType as E, EventFlag, eventTypeName } from "./event-types.js";
import type { BinlogEvent, RowsEvent, SkippedTableEvent, UpdateRowsEvent } from "./events.js";
import { type FormatDescription, parseFormatDescription, postHeaderLength } from "./format-description.js";
import {
  parseBinlogCheckpoint,
  parseMariadbGtid,
  parseMariadbGtidList,
  parseMysqlGtid,
  parsePreviousGtids,
  parseTaggedGtid,
} from "./gtid.js";
import { parseHeartbeatV1, parseHeartbeatV2 } from "./heartbeat.js";
import { parseIncident, parseIntvar, parseRand, parseUserVar, parseXaPrepare } from "./misc-events.js";
import { parseQuery } from "./query.js";
import { parseRotate } from "./rotate.js";
import { parseRowsBody, parseRowsHeader, type RowsTypeInfo, rowsType } from "./rows-event.js";
import { parseAnnotateRows, parseRowsQuery } from "./rows-query.js";
import type { SchemaProvider } from "./schema-provider.js";
import { type Flavor, parseTableMap, readTableName, type TableInfo, tableIdSize } from "./table-map.js";
import { type TimeZoneOffset, timeZoneOffset } from "./temporal.js";
import { parseTransactionPayload, splitEvents } from "./transaction-payload.js";
import { parseXid } from "./xid.js";

export interface DecoderOptions {
  /** Column names, charsets, keys, ENUM/SET labels… when the TABLE_MAP lacks them. */
  schemaProvider?: SchemaProvider;
  /**
   * Time zone TIMESTAMP values are rendered in (the source server's): "UTC" (default),
   * "+08:00", "SYSTEM", an IANA name such as "Europe/Paris", or a function from UTC epoch
   * seconds to an offset in seconds.
   */
  timeZone?: string | TimeZoneOffset;
  /** Verify CRC32 checksums (default true). */
  verifyChecksum?: boolean;
  /**
   * Whether events that arrive before any FORMAT_DESCRIPTION (the dump thread's fake ROTATE)
   * carry a checksum: "auto" (default) checks whether the last 4 bytes are a valid CRC32.
   */
  initialChecksum?: "auto" | "crc32" | "off";
  /** Charset assumed for text columns whose charset nothing tells; default: render base64. */
  assumeCharset?: string;
  /** Override the flavour derived from the FORMAT_DESCRIPTION's server version. */
  flavor?: Flavor;
  /**
   * Tables whose events are wanted (default: all). Of any other table only the TABLE_MAP's
   * name is read, and its rows events come back as `skipped_table` events: a table nobody
   * receives can never stop the decoder, whatever its column types.
   */
  includeTable?: (schema: string, table: string) => boolean;
  /**
   * A TABLE_MAP or rows event whose table definition or rows cannot be decoded: "throw"
   * (default) a BinlogDecodeError, or "skip" it as a `skipped_table` event carrying the error
   * (canal's filter.table.error). Other events always throw.
   */
  tableErrors?: "throw" | "skip";
}

/** What decodeDeferred() leaves to decodeRowsJob() for a rows event (table undefined: none). */
export interface DeferredRows {
  table: TableInfo | undefined;
  plan: RowPlan | undefined;
  /** Where the column count starts. */
  bodyPos: number;
  /** End of the body (before the checksum). */
  end: number;
  /** Verify the event's CRC32 before decoding its rows. */
  checkCrc: boolean;
}

/** A DeferredRows to reuse across decodeDeferred() calls. */
export function deferredRows(): DeferredRows {
  return { table: undefined, plan: undefined, bodyPos: 0, end: 0, checkCrc: false };
}

interface CachedTable {
  table: TableInfo;
  plan: RowPlan;
  /** The TABLE_MAP body it was built from (for cheap reuse when the same map repeats). */
  raw: Buffer | undefined;
  /** Set when the table's rows are passed over rather than decoded. */
  skip?: { reason: SkippedTableEvent["reason"]; error?: string };
}

// A plan for tables whose rows are never decoded.
const NO_PLAN = undefined as unknown as RowPlan;

export class BinlogDecoder {
  private fd: FormatDescription | undefined;
  private readonly cache = new Map<number, CachedTable>();
  private readonly valueCtx: ValueContext;
  private readonly verify: boolean;
  private readonly opts: DecoderOptions;

  constructor(opts: DecoderOptions = {}) {
    this.opts = opts;
    this.verify = opts.verifyChecksum ?? true;
    this.valueCtx = { tz: timeZoneOffset(opts.timeZone), text: new EventText() };
  }

  /**
   * Renders TIMESTAMP values of the events decoded from now on in another zone (the source's
   * changed); takes what the timeZone option takes.
   */
  setTimeZone(zone: string | TimeZoneOffset): void {
    this.valueCtx.tz = timeZoneOffset(zone);
  }

  /** The FORMAT_DESCRIPTION in force, once one was decoded. */
  get formatDescription(): FormatDescription | undefined {
    return this.fd;
  }

  get flavor(): Flavor {
    const forced = typeof this.opts.flavor === "string" ? this.opts.flavor.toLowerCase() : undefined;
    if (forced === "mysql" || forced === "mariadb") return forced;
    return this.fd?.flavor ?? "mysql";
  }

  /** The table last mapped to a table id. */
  table(tableId: number): TableInfo | undefined {
    return this.cache.get(tableId)?.table;
  }

  /** Forget table maps (e.g. after a reconnect to another position). */
  reset(): void {
    this.cache.clear();
    this.fd = undefined;
  }

  /**
   * Passes over the rows events of `tableId` until its next TABLE_MAP: the caller could not
   * load the table's definition, or was told to pass over its TABLE_MAP.
   */
  skipTable(
    tableId: number,
    schema: string,
    table: string,
    reason: "table_error" | "skipped",
    error?: string,
  ): void {
    const info = stubTable(tableId, schema, table);
    this.cache.set(tableId, {
      table: info,
      plan: NO_PLAN,
      raw: undefined,
      skip: { reason, ...(error ? { error } : {}) },
    });
  }

  /**
   * Passes over one event without decoding it, as a caller was told to: a TABLE_MAP (its
   * table's rows events are then passed over too, until its next TABLE_MAP) or a rows event
   * becomes a `skipped_table` event with reason "skipped"; any other event gives undefined.
   * Only the header and, for a TABLE_MAP, the table's name are read.
   */
  passOver(event: Buffer, position?: BinlogPosition): SkippedTableEvent | undefined {
    const header = parseEventHeader(event);
    const base = position ? { header, position } : { header };
    const type = header.typeCode;
    const rt = rowsType(type);
    if (type !== E.TABLE_MAP && rt === undefined) return undefined;
    const postHeader = rt ? (rt.version === 2 ? 10 : 8) : 8;
    const idSize = tableIdSize(postHeaderLength(this.fd, type, postHeader));
    const r = new BufferReader(event, EVENT_HEADER_LENGTH, event.length);
    if (type === E.TABLE_MAP) {
      const name = readTableName(r, idSize);
      this.skipTable(name.tableId, name.schema, name.table, "skipped");
      return skipped(base, "table_map", stubTable(name.tableId, name.schema, name.table), {
        reason: "skipped",
      });
    }
    const tableId = r.uintLE(idSize);
    const known = this.cache.get(tableId)?.table ?? stubTable(tableId, "", "");
    return skipped(base, "rows", known, { reason: "skipped" });
  }

  /** Rebuild table metadata at the next TABLE_MAP (call after the schema provider's data changed). */
  invalidateSchema(): void {
    for (const c of this.cache.values()) c.raw = undefined;
  }

  /**
   * Decodes one event: `event` holds exactly its bytes (header, body, checksum if any),
   * i.e. a COM_BINLOG_DUMP packet after its 0x00 OK byte, or a slice of a binlog file.
   */
  decode(event: Buffer, position?: BinlogPosition): BinlogEvent {
    let header: EventHeader | undefined;
    try {
      header = parseEventHeader(event);
      return this.decodeWithHeader(event, header, position, false, undefined);
    } catch (err) {
      throw this.wrap(err, header, position, event);
    }
  }

  /**
   * Like decode(), except that the rows of a rows event are left to the caller: the event is
   * returned with `rows: []` and `job` describes what decodeRowsJob() (on any thread, with
   * a plan compiled from the same TableInfo) needs to fill them in, checksum check included.
   * Every other event, and all decoder state (format description, table maps), is handled
   * here, in stream order. For ParallelDecoder.
   */
  decodeDeferred(event: Buffer, position: BinlogPosition | undefined, job: DeferredRows): BinlogEvent {
    let header: EventHeader | undefined;
    job.table = undefined;
    try {
      header = parseEventHeader(event);
      return this.decodeWithHeader(event, header, position, false, job);
    } catch (err) {
      throw this.wrap(err, header, position, event);
    }
  }

  /** Adds file/offset/event type context to an error thrown while decoding an event. */
  errorFor(
    err: unknown,
    header: EventHeader | undefined,
    position: BinlogPosition | undefined,
  ): BinlogDecodeError {
    return this.wrap(err, header, position);
  }

  private wrap(
    err: unknown,
    header: EventHeader | undefined,
    position: BinlogPosition | undefined,
    event?: Buffer,
  ): BinlogDecodeError {
    const ctx = {
      file: position?.file,
      offset: position?.offset,
      eventType: header?.typeCode,
      eventTypeName: header ? eventTypeName(header.typeCode) : undefined,
      table: header && event ? this.tableNameOf(event, header) : undefined,
    };
    if (err instanceof BinlogDecodeError) return err.setContext(ctx);
    const message = err instanceof Error ? err.message : String(err);
    return new BinlogDecodeError(`cannot decode: ${message}`, ctx, { cause: err });
  }

  /** "schema.table" of a TABLE_MAP or rows event, when it can be read (for error messages). */
  private tableNameOf(event: Buffer, header: EventHeader): string | undefined {
    try {
      const rt = rowsType(header.typeCode);
      if (header.typeCode !== E.TABLE_MAP && rt === undefined) return undefined;
      const idSize = tableIdSize(postHeaderLength(this.fd, header.typeCode, rt?.version === 2 ? 10 : 8));
      const r = new BufferReader(event, EVENT_HEADER_LENGTH, event.length);
      if (rt === undefined) {
        const name = readTableName(r, idSize);
        return `${name.schema}.${name.table}`;
      }
      const table = this.cache.get(r.uintLE(idSize))?.table;
      return table ? `${table.schema}.${table.name}` : undefined;
    } catch {
      return undefined;
    }
  }

  private decodeWithHeader(
    event: Buffer,
    header: EventHeader,
    position: BinlogPosition | undefined,
    inner: boolean,
    defer: DeferredRows | undefined,
  ): BinlogEvent {
    if (header.eventSize !== event.length) {
      fail(`event_size ${header.eventSize} does not match the ${event.length} bytes received`);
    }
    const type = header.typeCode;
    const base = position ? { header, position } : { header };

    if (type === E.FORMAT_DESCRIPTION) {
      const fd = parseFormatDescription(event.subarray(EVENT_HEADER_LENGTH));
      if (fd.checksum === "crc32" && this.verify) {
        // The FDE is checksummed without LOG_EVENT_BINLOG_IN_USE_F, which the server sets
        // (in place, after the fact) while the file is open.
        if ((header.flags & EventFlag.BINLOG_IN_USE) !== 0) {
          const copy = Buffer.from(event);
          copy.writeUInt16LE(header.flags & ~EventFlag.BINLOG_IN_USE, 17);
          this.checkCrc(copy);
        } else this.checkCrc(event);
      }
      if (!inner) this.fd = fd;
      return { type: "format_description", ...base, ...fd };
    }

    let hasCrc: boolean;
    if (inner) hasCrc = false;
    else if (this.fd) hasCrc = this.fd.checksum === "crc32";
    else {
      const mode = this.opts.initialChecksum ?? "auto";
      hasCrc = mode === "crc32" || (mode === "auto" && hasValidChecksum(event));
    }
    let end = event.length;
    const rt = rowsType(type);
    // A deferred rows event's checksum is checked with its rows (decodeRowsJob).
    const deferCrc = defer !== undefined && rt !== undefined;
    if (hasCrc) {
      if (end < EVENT_HEADER_LENGTH + CHECKSUM_LENGTH) fail("event too short for its checksum");
      if (this.verify && !deferCrc) this.checkCrc(event);
      end -= CHECKSUM_LENGTH;
    }

    if (rt) {
      let out: RowsEvent;
      try {
        const idSize = tableIdSize(postHeaderLength(this.fd, type, rt.version === 2 ? 10 : 8));
        const rh = parseRowsHeader(event, EVENT_HEADER_LENGTH, end, idSize, rt);
        const cached = this.cache.get(rh.tableId);
        if (!cached) fail(`rows event for unknown table id ${rh.tableId} (no TABLE_MAP seen)`);
        if (cached.skip) {
          if (deferCrc && hasCrc && this.verify) this.checkCrc(event);
          return skipped(base, "rows", cached.table, cached.skip);
        }
        if (defer) {
          defer.table = cached.table;
          defer.plan = cached.plan;
          defer.bodyPos = rh.pos;
          defer.end = end;
          defer.checkCrc = hasCrc && this.verify;
          out = {
            type: "rows",
            ...base,
            table: cached.table,
            tableId: rh.tableId,
            flags: rh.flags,
            version: rt.version,
            kind: rt.kind,
            rows: [],
            ...(rt.partial ? { partial: true } : {}),
          } as RowsEvent;
        } else {
          const body = this.rowsBody(event, rh.pos, end, rt, cached, header, position);
          if (body === undefined) {
            return skipped(base, "rows", cached.table, { reason: "table_error", error: this.lastTableError });
          }
          // Literals rather than spreads: one object shape per case, built without copying.
          out = (
            position
              ? {
                  type: "rows",
                  header,
                  position,
                  table: cached.table,
                  tableId: rh.tableId,
                  flags: rh.flags,
                  version: rt.version,
                  kind: body.kind,
                  rows: body.rows,
                }
              : {
                  type: "rows",
                  header,
                  table: cached.table,
                  tableId: rh.tableId,
                  flags: rh.flags,
                  version: rt.version,
                  kind: body.kind,
                  rows: body.rows,
                }
          ) as RowsEvent;
          if ("partial" in body && body.partial) (out as UpdateRowsEvent).partial = true;
        }
        if (rt.compressed) out.compressed = true;
        if (rh.partitionId !== undefined) out.partitionId = rh.partitionId;
        if (rh.sourcePartitionId !== undefined) out.sourcePartitionId = rh.sourcePartitionId;
      } catch (err) {
        // As decode() would: a bad checksum is reported before anything read from the body.
        if (deferCrc && hasCrc && this.verify) this.checkCrc(event);
        throw err;
      }
      return out;
    }
    const r = new BufferReader(event, EVENT_HEADER_LENGTH, end);
    const ph = (t: number, fallback: number) => postHeaderLength(this.fd, t, fallback);

    switch (type) {
      case E.TABLE_MAP:
        return this.tableMap(r, ph(type, 8), base);
      case E.QUERY:
      case E.MARIADB_QUERY_COMPRESSED: {
        const q = parseQuery(r, ph(type, 13), type === E.MARIADB_QUERY_COMPRESSED);
        if (q.statement === "ddl") this.invalidateSchema();
        return { type: "query", ...base, ...q };
      }
      case E.XID:
        return { type: "xid", ...base, xid: parseXid(r) };
      case E.ROTATE:
        return { type: "rotate", ...base, ...parseRotate(r, header, ph(type, 8)) };
      case E.GTID:
      case E.ANONYMOUS_GTID:
        return { type: "gtid", ...base, ...parseMysqlGtid(r, type === E.ANONYMOUS_GTID) };
      case E.GTID_TAGGED:
        return { type: "gtid", ...base, ...parseTaggedGtid(r) };
      case E.PREVIOUS_GTIDS:
        return { type: "previous_gtids", ...base, gtidSet: parsePreviousGtids(r) };
      case E.MARIADB_GTID:
        return { type: "mariadb_gtid", ...base, ...parseMariadbGtid(r, header) };
      case E.MARIADB_GTID_LIST:
        return { type: "mariadb_gtid_list", ...base, ...parseMariadbGtidList(r) };
      case E.MARIADB_BINLOG_CHECKPOINT:
        return { type: "binlog_checkpoint", ...base, file: parseBinlogCheckpoint(r) };
      case E.ROWS_QUERY:
        return { type: "rows_query", ...base, query: parseRowsQuery(r) };
      case E.MARIADB_ANNOTATE_ROWS:
        return { type: "rows_query", ...base, query: parseAnnotateRows(r) };
      case E.HEARTBEAT:
        return { type: "heartbeat", ...base, version: 1, ...parseHeartbeatV1(r) };
      case E.HEARTBEAT_V2:
        return { type: "heartbeat", ...base, version: 2, ...parseHeartbeatV2(r) };
      case E.TRANSACTION_PAYLOAD: {
        if (inner) fail("nested transaction payload");
        const p = parseTransactionPayload(r);
        const events: BinlogEvent[] = [];
        for (const ev of splitEvents(p.data)) {
          events.push(this.decodeWithHeader(ev, parseEventHeader(ev), position, true, undefined));
        }
        return {
          type: "transaction_payload",
          ...base,
          compression: p.compression,
          payloadSize: p.payloadSize,
          uncompressedSize: p.uncompressedSize,
          events,
        };
      }
      case E.INTVAR:
        return { type: "intvar", ...base, ...parseIntvar(r) };
      case E.RAND:
        return { type: "rand", ...base, ...parseRand(r) };
      case E.USER_VAR:
        return { type: "user_var", ...base, ...parseUserVar(r) };
      case E.INCIDENT:
        return { type: "incident", ...base, ...parseIncident(r) };
      case E.XA_PREPARE:
        return { type: "xa_prepare", ...base, ...parseXaPrepare(r) };
      case E.STOP:
        return { type: "stop", ...base };
      case E.IGNORABLE:
        return { type: "ignorable", ...base };
      case E.MARIADB_START_ENCRYPTION:
        return { type: "start_encryption", ...base };
      case E.TRANSACTION_CONTEXT:
        return { type: "transaction_context", ...base };
      case E.VIEW_CHANGE:
        return { type: "view_change", ...base };
      default:
        return { type: "unknown", ...base, code: type };
    }
  }

  private checkCrc(event: Buffer): void {
    verifyChecksum(event);
  }

  private tableMap(
    r: BufferReader,
    postHeaderLen: number,
    base: { header: EventHeader; position?: BinlogPosition },
  ): BinlogEvent {
    const bodyStart = r.pos;
    const idSize = tableIdSize(postHeaderLen);
    const tableId = r.buf.readUIntLE(bodyStart, Math.min(idSize, r.remaining));
    const cached = this.cache.get(tableId);
    if (cached?.raw?.equals(r.buf.subarray(bodyStart, r.end))) {
      return cached.skip
        ? skipped(base, "table_map", cached.table, cached.skip)
        : { type: "table_map", ...base, table: cached.table };
    }
    // Parsed from a copy: the table keeps views of its bytes (signedness, enum labels...), and
    // the event's own bytes may be reused once decode() returns (a dump's read buffer).
    const raw = Buffer.from(r.buf.subarray(bodyStart, r.end));
    const name = readTableName(new BufferReader(raw, 0, raw.length), idSize);
    if (this.opts.includeTable && !this.opts.includeTable(name.schema, name.table)) {
      const skip = { reason: "filtered" as const };
      const table = stubTable(tableId, name.schema, name.table);
      this.cache.set(tableId, { table, plan: NO_PLAN, raw, skip });
      return skipped(base, "table_map", table, skip);
    }
    let table: TableInfo;
    let plan: RowPlan;
    try {
      table = parseTableMap(new BufferReader(raw, 0, raw.length), idSize, {
        flavor: this.flavor,
        schemaProvider: this.opts.schemaProvider,
        assumeCharset: this.opts.assumeCharset,
      });
      plan = compilePlan(table);
    } catch (err) {
      const wrapped = this.wrap(err, base.header, base.position).setContext({
        table: `${name.schema}.${name.table}`,
      });
      if (this.opts.tableErrors !== "skip") throw wrapped;
      const skip = { reason: "table_error" as const, error: wrapped.message };
      const stub = stubTable(tableId, name.schema, name.table);
      this.cache.set(tableId, { table: stub, plan: NO_PLAN, raw, skip });
      return skipped(base, "table_map", stub, skip);
    }
    this.cache.set(tableId, { table, plan, raw });
    return { type: "table_map", ...base, table };
  }

  /** The error of the last rows event passed over under tableErrors "skip". */
  private lastTableError: string | undefined;

  /**
   * Decodes a rows event's rows; a failure names the table, and under tableErrors "skip"
   * gives undefined (the message in lastTableError) instead of throwing.
   */
  private rowsBody(
    event: Buffer,
    pos: number,
    end: number,
    rt: RowsTypeInfo,
    cached: CachedTable,
    header: EventHeader,
    position: BinlogPosition | undefined,
  ): ReturnType<typeof parseRowsBody> | undefined {
    try {
      return parseRowsBody(event, pos, end, rt, cached.plan, this.valueCtx);
    } catch (err) {
      const wrapped = this.wrap(err, header, position).setContext({
        table: `${cached.table.schema}.${cached.table.name}`,
      });
      if (this.opts.tableErrors !== "skip") throw wrapped;
      this.lastTableError = wrapped.message;
      return undefined;
    }
  }
}

function stubTable(tableId: number, schema: string, name: string): TableInfo {
  return {
    tableId,
    schema,
    name,
    columnCount: 0,
    columns: [],
    primaryKey: [],
    flags: 0,
    metadataSource: "binlog-none",
    providerUsed: false,
  };
}

function skipped(
  base: { header: EventHeader; position?: BinlogPosition },
  of: SkippedTableEvent["of"],
  table: TableInfo,
  skip: { reason: SkippedTableEvent["reason"]; error?: string },
): SkippedTableEvent {
  return {
    type: "skipped_table",
    ...base,
    of,
    tableId: table.tableId,
    schema: table.schema,
    table: table.name,
    reason: skip.reason,
    ...(skip.error ? { error: skip.error } : {}),
  };
}

export type { SchemaProvider };
