// The row changes of one rows event as the parse stage passes them on: the table's columns
// once, the rows' values as the decoder read them. The store writes an entry's bytes straight
// from these (encode/row-changes-encoder.ts), so that no object per column is built for a row
// only to be encoded and dropped: per row change that was a third of the server's CPU, with
// the garbage collection it caused (bench/delivery --cpu-prof). rowChangesEntry() gives the
// same entry as objects, for everything else (the `sluice binlog` command, tests), and
// test/unit/encode/row-changes-encoder.test.ts proves both give the same bytes.
import {
  type Column,
  type Entry,
  EntryType,
  type EventType,
  type Header,
  type RowData,
} from "../../gen/sluice/v1/entry_pb.js";

/** What Column holds that is the same in every row of one table definition. */
export interface ColumnSpec {
  readonly index: number;
  readonly sqlType: number;
  readonly name: string;
  readonly isKey: boolean;
  readonly length: number;
  readonly mysqlType: string;
  readonly base64: boolean;
}

/** A column's value: text, null (SQL NULL), or undefined (not in this row image). */
export type ColumnValue = string | null | undefined;
export type RowValues = readonly ColumnValue[];
export interface UpdatedRow {
  readonly before: RowValues;
  readonly after: RowValues;
}

/** The rows of a rows event, as the binlog decoder reads them. */
export type RowChangeRows =
  | { readonly kind: "insert" | "delete"; readonly rows: readonly RowValues[] }
  | { readonly kind: "update"; readonly rows: readonly UpdatedRow[] };

/** A ROWDATA entry of row changes (canal's rowDatas), before it is made objects or bytes. */
export interface RowChanges {
  readonly kind: "rowChanges";
  readonly header: Header;
  readonly tableId: bigint;
  readonly eventType: EventType;
  /** The table's columns, in ordinal order, shared by every entry of the same definition. */
  readonly columns: readonly ColumnSpec[];
  readonly change: RowChangeRows;
  /** The columns a field filter keeps, by ordinal (undefined: all of them). */
  readonly keep?: readonly boolean[];
}

export function isRowChanges(e: Entry | RowChanges): e is RowChanges {
  return (e as RowChanges).kind === "rowChanges";
}

/** Row changes (rowDatas) the entry holds. */
export function rowChangeCount(r: RowChanges): number {
  return r.change.rows.length;
}

/**
 * canal's `updated` flag of column `i` of an image: set on the after image of an INSERT (every
 * column present) and of an UPDATE (the columns whose value differs from the before image, or
 * is not in it); never on before images. `before`: the UPDATE's before image.
 */
export function columnUpdated(value: ColumnValue, before: RowValues | undefined, i: number): boolean {
  if (value === undefined) return false;
  if (before === undefined) return true;
  const old = before[i];
  return old === undefined || old !== value;
}

/** The entry `r` stands for, as objects of the generated types. */
export function rowChangesEntry(r: RowChanges): Entry {
  const rowDatas: RowData[] = [];
  const { change } = r;
  if (change.kind === "update") {
    for (const row of change.rows)
      rowDatas.push(
        rowData(columns(r, row.before, undefined, false), columns(r, row.after, row.before, true)),
      );
  } else if (change.kind === "insert") {
    for (const row of change.rows) rowDatas.push(rowData([], columns(r, row, undefined, true)));
  } else {
    for (const row of change.rows) rowDatas.push(rowData(columns(r, row, undefined, false), []));
  }
  return {
    $typeName: "sluice.v1.Entry",
    header: r.header,
    entryType: EntryType.ROWDATA,
    payload: {
      case: "rowChange",
      value: {
        $typeName: "sluice.v1.RowChange",
        tableId: r.tableId,
        eventType: r.eventType,
        isDdl: false,
        sql: "",
        rowDatas,
        props: [],
        ddlSchemaName: "",
      },
    },
  };
}

function rowData(beforeColumns: Column[], afterColumns: Column[]): RowData {
  return { $typeName: "sluice.v1.RowData", beforeColumns, afterColumns, props: [] };
}

/** One image's columns (those `r.keep` keeps). `after`: the image whose columns carry `updated`. */
function columns(r: RowChanges, image: RowValues, before: RowValues | undefined, after: boolean): Column[] {
  const out: Column[] = [];
  for (let i = 0; i < r.columns.length; i++) {
    if (r.keep && !r.keep[i]) continue;
    const spec = r.columns[i] as ColumnSpec;
    const value = image[i];
    out.push({
      $typeName: "sluice.v1.Column",
      index: spec.index,
      sqlType: spec.sqlType,
      name: spec.name,
      isKey: spec.isKey,
      updated: after && columnUpdated(value, before, i),
      isNull: value === null,
      props: [],
      value: typeof value === "string" ? value : "",
      length: spec.length,
      mysqlType: spec.mysqlType,
      omitted: value === undefined,
      base64: spec.base64,
    });
  }
  return out;
}
