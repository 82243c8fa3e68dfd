// sluice.v1.Entry (proto/sluice/v1/entry.proto) to protobuf bytes, by hand. The server encodes
// every entry once, as it enters the store; a batch is then its entries' bytes back to back.
//
// Why not protobuf-es's toBinary: its generic writer walks each message's field descriptors
// through closures, which cost twice this encoder's CPU per row on the bench's entries
// (bench/delivery/codec, docs/benchmarks.md). The bytes are the same, field for field:
// fields in number order, proto3 defaults (0, "", false, empty lists, unset oneof) left out,
// minimal varints, negative int32 and enum values in ten bytes, lone surrogates as U+FFFD.
// test/unit/encode/entry-encoder.test.ts proves it on the decoder's fixtures and on generated
// entries with every field of every message set (fast-check), and fails when entry.proto
// gains a field that ENTRY_FIELDS below does not list; test/integration/decoder-type-matrix
// on live MariaDB rows of every column type.
import { fromBinary } from "@bufbuild/protobuf";
import {
  type Column,
  type Entry,
  EntrySchema,
  type RowChange,
  type RowData,
  type TransactionBegin,
  type TransactionEnd,
} from "../../gen/sluice/v1/entry_pb.js";
import { isRowChanges, type RowChanges } from "../entry/row-changes.js";
import {
  boolField,
  GUESS_SMALL,
  int32Field,
  int64Field,
  pairs,
  stringField,
  writeHeader,
} from "./entry-fields.js";
import { ProtoWriter, WIRE_LEN, WIRE_VARINT } from "./proto-writer.js";
import { writeRowChanges } from "./row-changes-encoder.js";

/**
 * The fields this encoder writes, per message of entry.proto, by number. The test compares it
 * with the schema: a field added to the proto and not written here fails it. (A field of
 * RowChange, RowData or Column is also one for row-changes-encoder.ts and entry/row-changes.ts.)
 */
export const ENTRY_FIELDS: Readonly<Record<string, readonly number[]>> = {
  "sluice.v1.Entry": [1, 2, 100, 101, 102],
  "sluice.v1.Header": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  "sluice.v1.RowChange": [1, 2, 10, 11, 12, 13, 14],
  "sluice.v1.RowData": [1, 2, 3],
  "sluice.v1.Column": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 101],
  "sluice.v1.TransactionBegin": [3, 4],
  "sluice.v1.TransactionEnd": [2, 3],
  "sluice.v1.Pair": [1, 2],
};

// Length prefixes reserved before a nested message is written (moved when off): what the
// bench's entries mostly need.
const GUESS_ENTRY = 2;
const GUESS_ROW_CHANGE = 2;
const GUESS_ROW_DATA = 2;
const GUESS_COLUMN = 1;

/** `repeated Entry entries = 2` of Batch and GetResponse: the field every stored entry is. */
export const ENTRIES_FIELD = 2;

/** A writer grown past this (by a huge entry) is dropped after use rather than kept. */
const KEEP_WRITER_BYTES = 1 << 20;

export class EntryEncoder {
  #w = new ProtoWriter();

  /**
   * The entry as one `entries` field of Batch and GetResponse (both field 2): its tag, its
   * length, the Entry message. A batch of such fields back to back is the batch's entries.
   * `alloc` gives the buffer to copy them into (default: Node's, pooled for small sizes).
   */
  encodeField(e: Entry | RowChanges, alloc: (size: number) => Buffer = Buffer.allocUnsafe): Buffer {
    const w = this.#w;
    w.reset();
    w.tag(ENTRIES_FIELD, WIRE_LEN);
    const at = w.fork(GUESS_ENTRY);
    if (isRowChanges(e)) writeRowChanges(w, e);
    else writeEntry(w, e);
    w.join(at, GUESS_ENTRY);
    return this.#take(alloc);
  }

  /** The Entry message alone (what protobuf-es's toBinary(EntrySchema, e) gives). */
  encode(e: Entry | RowChanges): Buffer {
    const w = this.#w;
    w.reset();
    if (isRowChanges(e)) writeRowChanges(w, e);
    else writeEntry(w, e);
    return this.#take(Buffer.allocUnsafe);
  }

  /** The bytes written, copied into `alloc(size)`. */
  #take(alloc: (size: number) => Buffer): Buffer {
    const out = alloc(this.#w.pos);
    this.#w.buf.copy(out, 0, 0, this.#w.pos);
    if (this.#w.buf.length > KEEP_WRITER_BYTES) this.#w = new ProtoWriter();
    return out;
  }
}

/** The Entry message inside an `entries` field made by encodeField (after its tag and length). */
export function entryMessage(field: Uint8Array): Uint8Array {
  let i = 1; // the tag: one byte for field 2
  while ((field[i] as number) & 0x80) i++;
  return field.subarray(i + 1);
}

/** The entry of an `entries` field, as objects (JSON calls, flat messages, pruning columns). */
export function decodeEntryField(field: Uint8Array): Entry {
  return fromBinary(EntrySchema, entryMessage(field));
}

function writeEntry(w: ProtoWriter, e: Entry): void {
  if (e.header !== undefined) {
    w.tag(1, WIRE_LEN);
    const at = w.fork(GUESS_SMALL);
    writeHeader(w, e.header);
    w.join(at, GUESS_SMALL);
  }
  if (e.entryType !== 0) {
    w.tag(2, WIRE_VARINT);
    w.int32(e.entryType);
  }
  const p = e.payload;
  if (p.case === "rowChange") {
    w.tag(100, WIRE_LEN);
    const at = w.fork(GUESS_ROW_CHANGE);
    writeRowChange(w, p.value);
    w.join(at, GUESS_ROW_CHANGE);
  } else if (p.case === "transactionBegin") {
    w.tag(101, WIRE_LEN);
    const at = w.fork(GUESS_SMALL);
    writeTransactionBegin(w, p.value);
    w.join(at, GUESS_SMALL);
  } else if (p.case === "transactionEnd") {
    w.tag(102, WIRE_LEN);
    const at = w.fork(GUESS_SMALL);
    writeTransactionEnd(w, p.value);
    w.join(at, GUESS_SMALL);
  }
}

function writeRowChange(w: ProtoWriter, v: RowChange): void {
  int64Field(w, 1, v.tableId);
  int32Field(w, 2, v.eventType);
  boolField(w, 10, v.isDdl);
  stringField(w, 11, v.sql);
  for (const rd of v.rowDatas) {
    w.tag(12, WIRE_LEN);
    const at = w.fork(GUESS_ROW_DATA);
    writeRowData(w, rd);
    w.join(at, GUESS_ROW_DATA);
  }
  pairs(w, 13, v.props);
  stringField(w, 14, v.ddlSchemaName);
}

function writeRowData(w: ProtoWriter, rd: RowData): void {
  for (const c of rd.beforeColumns) column(w, 1, c);
  for (const c of rd.afterColumns) column(w, 2, c);
  pairs(w, 3, rd.props);
}

function column(w: ProtoWriter, field: number, c: Column): void {
  w.tag(field, WIRE_LEN);
  const at = w.fork(GUESS_COLUMN);
  int32Field(w, 1, c.index);
  int32Field(w, 2, c.sqlType);
  stringField(w, 3, c.name);
  boolField(w, 4, c.isKey);
  boolField(w, 5, c.updated);
  boolField(w, 6, c.isNull);
  pairs(w, 7, c.props);
  stringField(w, 8, c.value);
  int32Field(w, 9, c.length);
  stringField(w, 10, c.mysqlType);
  boolField(w, 100, c.omitted);
  boolField(w, 101, c.base64);
  w.join(at, GUESS_COLUMN);
}

function writeTransactionBegin(w: ProtoWriter, v: TransactionBegin): void {
  pairs(w, 3, v.props);
  int64Field(w, 4, v.threadId);
}

function writeTransactionEnd(w: ProtoWriter, v: TransactionEnd): void {
  stringField(w, 2, v.transactionId);
  pairs(w, 3, v.props);
}
