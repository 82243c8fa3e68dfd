// Flat rows straight from the bytes of Entry messages, as flatRows() makes them from decoded
// entries. Written by hand because protobuf-es builds an object per Entry, Header, RowChange,
// RowData and Column (and a string per field): for row changes that was most of the client's
// CPU, and most of its garbage. Here a row costs its FlatRow, its two records and the value
// strings; column names and header strings are decoded once and reused while their bytes stay
// the same; a row's raw columns (beforeColumns, afterColumns) are decoded by protobuf-es from
// the row's bytes when first asked for. test/unit/clients/row-reader*.test.ts prove the rows
// equal flatRows(fromBinary(...)): on random entries, on entries generated from entry.proto's
// descriptors (and that every field of it is read or known to be skipped), on the server's
// entries for the decoder's fixtures.
import { fromBinary } from "@bufbuild/protobuf";
import { type Column, EntryType, EventType, RowDataSchema } from "../../../gen/sluice/v1/entry_pb.js";
import type { ChangeType, FlatRow } from "../rows.js";
import { ProtoReader, sameBytes, utf8 } from "./proto-reader.js";
import { ValueText } from "./value-text.js";

// Field numbers of entry.proto.
const ENTRY_HEADER = 1;
const ENTRY_TYPE = 2;
const ENTRY_ROW_CHANGE = 100;
const HEADER_LOGFILE_NAME = 2;
const HEADER_LOGFILE_OFFSET = 3;
const HEADER_EXECUTE_TIME = 6;
const HEADER_SCHEMA_NAME = 8;
const HEADER_TABLE_NAME = 9;
const HEADER_GTID = 13;
const CHANGE_EVENT_TYPE = 2;
const CHANGE_IS_DDL = 10;
const CHANGE_SQL = 11;
const CHANGE_ROW_DATAS = 12;
const ROW_BEFORE = 1;
const ROW_AFTER = 2;
const COLUMN_INDEX = 1;
const COLUMN_NAME = 3;
const COLUMN_IS_KEY = 4;
const COLUMN_IS_NULL = 6;
const COLUMN_VALUE = 8;
const COLUMN_OMITTED = 100;

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/**
 * A statement's row, shaped as flatRows() makes it (no `before` and `after` keys). Its raw
 * columns are empty.
 */
function statementRow(base: RowBase): FlatRow {
  return {
    schema: base.schema,
    table: base.table,
    type: base.type,
    sql: base.sql,
    isDdl: base.isDdl,
    executeTime: base.executeTime,
    gtid: base.gtid,
    logfileName: base.logfileName,
    logfileOffset: base.logfileOffset,
    keys: [],
    beforeColumns: [],
    afterColumns: [],
  };
}

/** The accessors of a RowFromBytes's raw columns, shared by all rows (set in its static block). */
let beforeColumnsAccessor: PropertyDescriptor;
let afterColumnsAccessor: PropertyDescriptor;

/**
 * A changed row with flatRows()'s keys in its order. Its raw columns are decoded by protobuf-es
 * from the row's RowData bytes when first read: from a view of the entry as it came, so the
 * columns' unknown fields are what decoding the whole entry gives. They are own enumerable
 * accessors, so a spread copy (`{...row}`) or Object.keys sees them as on flatRows()'s rows;
 * accessors shared by every row (not getters in an object literal, closures per row, which
 * cost a quarter of the reader's time), defined one by one: Object.defineProperties with a map
 * of both cost twice as much per row.
 */
class RowFromBytes implements FlatRow {
  schema: string;
  table: string;
  type: ChangeType;
  sql: string;
  isDdl: boolean;
  executeTime: number;
  gtid: string;
  logfileName: string;
  logfileOffset: bigint;
  keys: string[];
  before: Record<string, string | null> | undefined;
  after: Record<string, string | null> | undefined;
  declare beforeColumns: Column[];
  declare afterColumns: Column[];
  readonly #entry: Uint8Array;
  readonly #start: number;
  readonly #end: number;
  #columns: { before: Column[]; after: Column[] } | undefined;

  constructor(
    base: RowBase,
    keys: string[],
    before: Record<string, string | null> | undefined,
    after: Record<string, string | null> | undefined,
    entry: Uint8Array,
    start: number,
    end: number,
  ) {
    this.schema = base.schema;
    this.table = base.table;
    this.type = base.type;
    this.sql = base.sql;
    this.isDdl = base.isDdl;
    this.executeTime = base.executeTime;
    this.gtid = base.gtid;
    this.logfileName = base.logfileName;
    this.logfileOffset = base.logfileOffset;
    this.keys = keys;
    this.before = before;
    this.after = after;
    this.#entry = entry;
    this.#start = start;
    this.#end = end;
    Object.defineProperty(this, "beforeColumns", beforeColumnsAccessor);
    Object.defineProperty(this, "afterColumns", afterColumnsAccessor);
  }

  static {
    beforeColumnsAccessor = {
      get(this: RowFromBytes) {
        return this.#raw().before;
      },
      set(this: RowFromBytes, columns: Column[]) {
        this.#raw().before = columns;
      },
      enumerable: true,
      configurable: true,
    };
    afterColumnsAccessor = {
      get(this: RowFromBytes) {
        return this.#raw().after;
      },
      set(this: RowFromBytes, columns: Column[]) {
        this.#raw().after = columns;
      },
      enumerable: true,
      configurable: true,
    };
  }

  #raw(): { before: Column[]; after: Column[] } {
    if (this.#columns === undefined) {
      const rd = fromBinary(RowDataSchema, this.#entry.subarray(this.#start, this.#end));
      this.#columns = { before: rd.beforeColumns, after: rd.afterColumns };
    }
    return this.#columns;
  }
}

/** What the rows of one entry share. */
type RowBase = Pick<
  FlatRow,
  "schema" | "table" | "type" | "sql" | "isDdl" | "executeTime" | "gtid" | "logfileName" | "logfileOffset"
>;

/** Strings that recur from entry to entry and row to row, by slot: decoded again only when their bytes change. */
class StringCache {
  readonly #bytes: Uint8Array[] = [];
  readonly #strings: string[] = [];

  get(buf: Uint8Array, start: number, end: number, slot: number): string {
    const known = this.#bytes[slot];
    if (known !== undefined && sameBytes(buf, start, end, known)) return this.#strings[slot] as string;
    const s = utf8(buf, start, end);
    this.#bytes[slot] = buf.slice(start, end);
    this.#strings[slot] = s;
    return s;
  }
}

/** One image of a row while its columns are read. */
class ImageReader {
  record: Record<string, string | null> | undefined;
  /** The image's key column names (the first keyCount): reused from row to row, a row gets a copy. */
  readonly keys: string[] = [];
  keyCount = 0;
  count = 0;

  reset(): void {
    this.record = undefined;
    this.keyCount = 0;
    this.count = 0;
  }
}

export class RowReader {
  readonly #headers = new StringCache();
  readonly #beforeNames = new StringCache();
  readonly #afterNames = new StringCache();
  readonly #before = new ImageReader();
  readonly #after = new ImageReader();
  readonly #text = new ValueText();

  /** The row changes and statements of the entries' bytes, in order (flatRows()'s rows). */
  rows(entries: readonly Uint8Array[]): FlatRow[] {
    const out: FlatRow[] = [];
    for (const bytes of entries) this.#entry(bytes, new ProtoReader(bytes, 0, bytes.length), out);
    return out;
  }

  #entry(bytes: Uint8Array, r: ProtoReader, out: FlatRow[]): void {
    const base: RowBase = {
      schema: "",
      table: "",
      type: "UNSPECIFIED",
      sql: "",
      isDdl: false,
      executeTime: 0,
      gtid: "",
      logfileName: "",
      logfileOffset: 0n,
    };
    let entryType = 0;
    // The payload oneof: the last of its fields wins; a row_change seen again is merged.
    let payload = 0;
    let changes: number[] = [];
    while (r.pos < r.end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === ENTRY_HEADER && wire === WIRE_LEN) {
        const end = r.len();
        const outer = r.end;
        r.end = end;
        this.#header(r, base);
        r.end = outer;
      } else if (field === ENTRY_TYPE && wire === WIRE_VARINT) entryType = r.int32();
      else if (field >= 100 && field <= 102 && wire === WIRE_LEN) {
        const end = r.len();
        if (field === ENTRY_ROW_CHANGE) {
          if (payload !== ENTRY_ROW_CHANGE) changes = [];
          changes.push(r.pos, end);
        }
        payload = field;
        r.pos = end;
      } else r.skip(wire, field);
      if (r.pos > r.end) throw new RangeError("premature end of Entry");
    }
    if (entryType !== EntryType.ROWDATA || payload !== ENTRY_ROW_CHANGE) return;
    const rowDatas: number[] = [];
    for (let i = 0; i < changes.length; i += 2) {
      r.reset(changes[i] as number, changes[i + 1] as number);
      this.#rowChange(r, base, rowDatas);
    }
    if (rowDatas.length === 0) {
      out.push(statementRow(base));
      return;
    }
    this.#text.entry(bytes);
    for (let i = 0; i < rowDatas.length; i += 2) {
      out.push(this.#row(bytes, r, base, rowDatas[i] as number, rowDatas[i + 1] as number));
    }
  }

  #header(r: ProtoReader, base: RowBase): void {
    while (r.pos < r.end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (
        wire === WIRE_LEN &&
        (field === HEADER_LOGFILE_NAME ||
          field === HEADER_SCHEMA_NAME ||
          field === HEADER_TABLE_NAME ||
          field === HEADER_GTID)
      ) {
        const end = r.len();
        const s = this.#headers.get(r.buf, r.pos, end, field);
        r.pos = end;
        if (field === HEADER_LOGFILE_NAME) base.logfileName = s;
        else if (field === HEADER_SCHEMA_NAME) base.schema = s;
        else if (field === HEADER_TABLE_NAME) base.table = s;
        else base.gtid = s;
      } else if (field === HEADER_LOGFILE_OFFSET && wire === WIRE_VARINT) base.logfileOffset = r.int64();
      else if (field === HEADER_EXECUTE_TIME && wire === WIRE_VARINT) base.executeTime = Number(r.int64());
      else r.skip(wire, field);
      if (r.pos > r.end) throw new RangeError("premature end of Header");
    }
  }

  #rowChange(r: ProtoReader, base: RowBase, rowDatas: number[]): void {
    while (r.pos < r.end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === CHANGE_EVENT_TYPE && wire === WIRE_VARINT) {
        base.type = (EventType[r.int32()] ?? "UNSPECIFIED") as ChangeType;
      } else if (field === CHANGE_IS_DDL && wire === WIRE_VARINT) base.isDdl = r.bool();
      else if (field === CHANGE_SQL && wire === WIRE_LEN) base.sql = r.string();
      else if (field === CHANGE_ROW_DATAS && wire === WIRE_LEN) {
        const end = r.len();
        rowDatas.push(r.pos, end);
        r.pos = end;
      } else r.skip(wire, field);
      if (r.pos > r.end) throw new RangeError("premature end of RowChange");
    }
  }

  #row(bytes: Uint8Array, r: ProtoReader, base: RowBase, start: number, end: number): FlatRow {
    const before = this.#before;
    const after = this.#after;
    before.reset();
    after.reset();
    r.reset(start, end);
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if ((field === ROW_BEFORE || field === ROW_AFTER) && wire === WIRE_LEN) {
        const colEnd = r.len();
        r.end = colEnd;
        if (field === ROW_BEFORE) this.#column(r, before, this.#beforeNames);
        else this.#column(r, after, this.#afterNames);
        r.end = end;
      } else r.skip(wire, field);
      if (r.pos > end) throw new RangeError("premature end of RowData");
    }
    const image = after.count > 0 ? after : before;
    const keys = image.keys.slice(0, image.keyCount);
    return new RowFromBytes(base, keys, before.record, after.record, bytes, start, end);
  }

  /** One Column message (r.end at its end) into its image's record and keys. */
  #column(r: ProtoReader, image: ImageReader, names: StringCache): void {
    let index = 0;
    let name = "";
    let isKey = false;
    let isNull = false;
    let omitted = false;
    let valueStart = 0;
    let valueEnd = 0;
    while (r.pos < r.end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (wire === WIRE_LEN && field === COLUMN_VALUE) {
        valueEnd = r.len();
        valueStart = r.pos;
        r.pos = valueEnd;
      } else if (wire === WIRE_LEN && field === COLUMN_NAME) {
        const end = r.len();
        name = names.get(r.buf, r.pos, end, image.count);
        r.pos = end;
      } else if (wire === WIRE_VARINT && field === COLUMN_INDEX) index = r.int32();
      else if (wire === WIRE_VARINT && field === COLUMN_IS_KEY) isKey = r.bool();
      else if (wire === WIRE_VARINT && field === COLUMN_IS_NULL) isNull = r.bool();
      else if (wire === WIRE_VARINT && field === COLUMN_OMITTED) omitted = r.bool();
      else r.skip(wire, field);
      if (r.pos > r.end) throw new RangeError("premature end of Column");
    }
    image.count++;
    image.record ??= {};
    if (isKey) image.keys[image.keyCount++] = name;
    if (omitted) return;
    image.record[name || `#${index}`] = isNull ? null : this.#text.value(valueStart, valueEnd);
  }
}
