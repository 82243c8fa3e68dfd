// Entries as plain objects: one flat row per changed row, with the before and after images as
// column name -> text records (canal's FlatMessage shape), for code that wants the data, not
// the binlog structure.
import { type Column, type Entry, EntryType, EventType } from "../../gen/sluice/v1/entry_pb.js";
import { type ColumnValue, columnValues, type ValueOptions } from "./values.js";

/** Kind of change, canal's EventType name without the prefix: "INSERT", "UPDATE", "ALTER", ... */
export type ChangeType = keyof typeof EventType;

/** One changed row (or one statement, with `sql` set and no images). */
export interface FlatRow {
  schema: string;
  table: string;
  type: ChangeType;
  /** Before image (UPDATE, DELETE): column name -> value text, null for SQL NULL. */
  before?: Record<string, string | null>;
  /** After image (INSERT, UPDATE). Columns the row image did not carry are left out. */
  after?: Record<string, string | null>;
  /** Names of the primary key columns. */
  keys: string[];
  /** DDL or other statement text; empty for row changes. */
  sql: string;
  isDdl: boolean;
  /** When the source executed the change, ms since the Unix epoch. */
  executeTime: number;
  gtid: string;
  /** Binlog file and offset of the event. */
  logfileName: string;
  logfileOffset: bigint;
  /** The raw columns, for typed reading (see typed()). */
  beforeColumns: Column[];
  afterColumns: Column[];
}

/** The row changes and statements of entries, in order; transaction frames are left out. */
export function flatRows(entries: Iterable<Entry>): FlatRow[] {
  const out: FlatRow[] = [];
  for (const entry of entries) {
    if (entry.entryType !== EntryType.ROWDATA || entry.payload.case !== "rowChange") continue;
    const change = entry.payload.value;
    const h = entry.header;
    const base = {
      schema: h?.schemaName ?? "",
      table: h?.tableName ?? "",
      type: (EventType[change.eventType] ?? "UNSPECIFIED") as ChangeType,
      sql: change.sql,
      isDdl: change.isDdl,
      executeTime: Number(h?.executeTime ?? 0n),
      gtid: h?.gtid ?? "",
      logfileName: h?.logfileName ?? "",
      logfileOffset: h?.logfileOffset ?? 0n,
    };
    if (change.rowDatas.length === 0) {
      out.push({ ...base, keys: [], beforeColumns: [], afterColumns: [] });
      continue;
    }
    for (const row of change.rowDatas) {
      const columns = row.afterColumns.length > 0 ? row.afterColumns : row.beforeColumns;
      out.push({
        ...base,
        keys: columns.filter((c) => c.isKey).map((c) => c.name),
        before: row.beforeColumns.length > 0 ? textRecord(row.beforeColumns) : undefined,
        after: row.afterColumns.length > 0 ? textRecord(row.afterColumns) : undefined,
        beforeColumns: row.beforeColumns,
        afterColumns: row.afterColumns,
      });
    }
  }
  return out;
}

/** A row's images as JS values (numbers, bigint, Date, Buffer; see ColumnValue). */
export function typed(
  row: FlatRow,
  opts: ValueOptions = {},
): { before?: Record<string, ColumnValue>; after?: Record<string, ColumnValue> } {
  return {
    before: row.beforeColumns.length > 0 ? columnValues(row.beforeColumns, opts) : undefined,
    after: row.afterColumns.length > 0 ? columnValues(row.afterColumns, opts) : undefined,
  };
}

function textRecord(columns: Column[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const c of columns) {
    if (c.omitted) continue;
    out[c.name || `#${c.index}`] = c.isNull ? null : c.value;
  }
  return out;
}
