// A ROWDATA entry of row changes (entry/row-changes.ts) to the bytes of its sluice.v1.Entry,
// written straight from the rows' values: the bytes EntryEncoder writes for
// rowChangesEntry(r), field for field (test/unit/encode/row-changes-encoder.test.ts), without
// an object per column. What a column holds that is the same in every row (index, sqlType,
// name, isKey; length, mysqlType; base64) is encoded once per table definition and copied.
import { EntryType } from "../../gen/sluice/v1/entry_pb.js";
import {
  type ColumnSpec,
  type ColumnValue,
  columnUpdated,
  type RowChanges,
  type RowValues,
} from "../entry/row-changes.js";
import { GUESS_SMALL, int32Field, int64Field, writeHeader } from "./entry-fields.js";
import { ProtoWriter, WIRE_LEN, WIRE_VARINT } from "./proto-writer.js";

/** A column's fixed fields, encoded: before its value (1-4), after it (9, 10), last (101). */
interface ColumnBytes {
  head: Uint8Array;
  tail: Uint8Array;
  base64: boolean;
  /** Bytes of the column message apart from its value and flags. */
  fixed: number;
}

const columnBytes = new WeakMap<readonly ColumnSpec[], readonly ColumnBytes[]>();
const scratch = new ProtoWriter(256);

// Tags of the Column fields written here by hand (field << 3 | wire type), as varint bytes.
const TAG_UPDATED = 5 << 3; // bool updated = 5
const TAG_IS_NULL = 6 << 3; // bool is_null = 6
const TAG_VALUE = (8 << 3) | WIRE_LEN; // string value = 8
const TAG_OMITTED = [0xa0, 0x06]; // bool omitted = 100
const TAG_BASE64 = [0xa8, 0x06]; // bool base64 = 101
// Room for the flags and the value's tag around the fixed fields.
const FLAGS_ROOM = 16;

/** Writes the Entry message of `r` (without a length prefix of its own). */
export function writeRowChanges(w: ProtoWriter, r: RowChanges): void {
  w.tag(1, WIRE_LEN);
  const at = w.fork(GUESS_SMALL);
  writeHeader(w, r.header);
  w.join(at, GUESS_SMALL);
  int32Field(w, 2, EntryType.ROWDATA);
  w.tag(100, WIRE_LEN);
  const change = w.fork(2);
  int64Field(w, 1, r.tableId);
  int32Field(w, 2, r.eventType);
  writeRowDatas(w, r, bytesOf(r.columns));
  w.join(change, 2);
}

function writeRowDatas(w: ProtoWriter, r: RowChanges, cols: readonly ColumnBytes[]): void {
  const { change, keep } = r;
  if (change.kind === "update") {
    for (const row of change.rows) {
      const at = startRowData(w);
      writeImage(w, 1, cols, keep, row.before, undefined, false);
      writeImage(w, 2, cols, keep, row.after, row.before, true);
      w.join(at, 2);
    }
  } else {
    const field = change.kind === "insert" ? 2 : 1;
    for (const row of change.rows) {
      const at = startRowData(w);
      writeImage(w, field, cols, keep, row, undefined, field === 2);
      w.join(at, 2);
    }
  }
}

/** `repeated RowData row_datas = 12` of RowChange: its tag, then room for its length. */
function startRowData(w: ProtoWriter): number {
  w.tag(12, WIRE_LEN);
  return w.fork(2);
}

/** One image's columns as `field` (1: before_columns, 2: after_columns) of RowData. */
function writeImage(
  w: ProtoWriter,
  field: number,
  cols: readonly ColumnBytes[],
  keep: readonly boolean[] | undefined,
  image: RowValues,
  before: RowValues | undefined,
  after: boolean,
): void {
  for (let i = 0; i < cols.length; i++) {
    if (keep !== undefined && !keep[i]) continue;
    const value = image[i];
    writeColumn(w, field, cols[i] as ColumnBytes, value, after && columnUpdated(value, before, i));
  }
}

function writeColumn(
  w: ProtoWriter,
  field: number,
  c: ColumnBytes,
  value: ColumnValue,
  updated: boolean,
): void {
  const text = typeof value === "string" ? value : "";
  // The length prefix is one byte below 128 bytes of column; guessed from the UTF-16 length,
  // moved by join() when the text was not ASCII and the guess was off.
  const guess = c.fixed + FLAGS_ROOM + text.length < 0x80 ? 1 : 2;
  w.ensure(1 + guess + c.fixed + FLAGS_ROOM);
  w.buf[w.pos++] = (field << 3) | WIRE_LEN;
  const at = w.fork(guess);
  w.bytes(c.head);
  const b = w.buf;
  if (updated) {
    b[w.pos++] = TAG_UPDATED;
    b[w.pos++] = 1;
  }
  if (value === null) {
    b[w.pos++] = TAG_IS_NULL;
    b[w.pos++] = 1;
  }
  if (text !== "") {
    b[w.pos++] = TAG_VALUE;
    w.string(text);
  }
  w.bytes(c.tail);
  if (value === undefined) pushFlag(w, TAG_OMITTED);
  if (c.base64) pushFlag(w, TAG_BASE64);
  w.join(at, guess);
}

function pushFlag(w: ProtoWriter, tag: readonly number[]): void {
  w.ensure(3);
  w.buf[w.pos++] = tag[0] as number;
  w.buf[w.pos++] = tag[1] as number;
  w.buf[w.pos++] = 1;
}

/** The fixed fields of a table definition's columns, encoded once per definition. */
function bytesOf(columns: readonly ColumnSpec[]): readonly ColumnBytes[] {
  let known = columnBytes.get(columns);
  if (known === undefined) {
    known = columns.map(encodeFixed);
    columnBytes.set(columns, known);
  }
  return known;
}

function encodeFixed(c: ColumnSpec): ColumnBytes {
  const head = written((w) => {
    int32Field(w, 1, c.index);
    int32Field(w, 2, c.sqlType);
    if (c.name !== "") {
      w.tag(3, WIRE_LEN);
      w.string(c.name);
    }
    if (c.isKey) {
      w.tag(4, WIRE_VARINT);
      w.varint(1);
    }
  });
  const tail = written((w) => {
    int32Field(w, 9, c.length);
    if (c.mysqlType !== "") {
      w.tag(10, WIRE_LEN);
      w.string(c.mysqlType);
    }
  });
  return { head, tail, base64: c.base64, fixed: head.length + tail.length };
}

function written(write: (w: ProtoWriter) => void): Uint8Array {
  scratch.reset();
  write(scratch);
  return Uint8Array.prototype.slice.call(scratch.buf, 0, scratch.pos);
}
