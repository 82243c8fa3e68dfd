// Row images -> text values. A RowPlan is compiled once per TABLE_MAP (typed arrays of
// per-column decoder kinds and parameters). Full images (every column present) go through the
// code generated from it (row-decoder.ts); decodeImage() here is the generic path (MINIMAL /
// NOBLOB images, partial JSON updates, ParallelDecoder's workers): one switch per value in
// decodeValue(), which the generated code also calls for the less common types. Both read
// straight from the Buffer: no closures, no per-value objects beyond the result string.
import type { TextDecoder } from "node:util";
import {
  cp1252Text,
  type EventText,
  latin1Text,
  spaceWidth,
  type TextCodec,
  TextKind,
  textCodec,
  utf8Text,
  utf16leText,
  utf32beText,
} from "./charsets.js";
import { uncompressedValue } from "./compressed-column.js";
import { decimalBinSize, decodeDecimal } from "./decimal.js";
import { BinlogDecodeError, fail } from "./errors.js";
import { ColumnType as T } from "./event-types.js";
import { formatDouble, formatFixed, formatFloat } from "./float-format.js";
import { intText as integerText, uintText } from "./int-text.js";
import { renderJsonBinary } from "./json-binary.js";
import type { ColumnInfo, TableInfo } from "./table-map.js";
import { stringMaxLength } from "./table-map.js";
import {
  decodeDate,
  decodeDatetime2,
  decodeDatetimeHires,
  decodeDatetimeOld,
  decodeTime2,
  decodeTimeHires,
  decodeTimeOld,
  decodeTimestamp2,
  decodeTimestampHires,
  decodeTimestampOld,
  decodeYear,
  fspBytes,
  HIRES_EXTRA,
  type TimeZoneOffset,
  TS_HIRES_FRAC,
} from "./temporal.js";

/** A column value: text, null (SQL NULL), or undefined (not in this row image). */
export type ColumnValue = string | null | undefined;
/** One row image, indexed by column ordinal. */
export type RowImage = ColumnValue[];

export enum K {
  NULLTYPE = 1,
  TINY,
  TINY_U,
  SHORT,
  SHORT_U,
  INT24,
  INT24_U,
  LONG,
  LONG_U,
  LONGLONG,
  LONGLONG_U,
  DECIMAL,
  FLOAT,
  FLOAT_FIXED,
  DOUBLE,
  DOUBLE_FIXED,
  BIT,
  YEAR,
  DATE,
  TIME_OLD,
  DATETIME_OLD,
  TIMESTAMP_OLD,
  TIME2,
  DATETIME2,
  TIMESTAMP2,
  VARSTR,
  CHAR,
  BLOB,
  ENUM,
  SET,
  JSON,
  BINARY_BLOB,
  UUID,
  INET4,
  INET6,
  TIME_HIRES,
  DATETIME_HIRES,
  TIMESTAMP_HIRES,
  /** MariaDB VARCHAR/VARBINARY ... COMPRESSED. */
  VARSTR_COMPRESSED,
  /** MariaDB TEXT/BLOB types ... COMPRESSED. */
  BLOB_COMPRESSED,
  UNSUPPORTED,
}

export interface RowPlan {
  readonly n: number;
  readonly kind: Uint8Array;
  /** length bytes / pack length / precision / fsp */
  readonly a: Int32Array;
  /** max length / scale / fixed decimals */
  readonly b: Int32Array;
  /** byte size (DECIMAL) / space width (CHAR) */
  readonly c: Int32Array;
  readonly text: Uint8Array;
  /** TextDecoder for TextKind.DECODER/UTF16BE, labels for ENUM/SET */
  readonly aux: unknown[];
  /** Ordinals of JSON columns (partial updates address them by rank). */
  readonly jsonColumns: number[];
  readonly table: TableInfo;
  /** Compiled decoders for images with every column present (row-decoder.ts), found or made on first use. */
  compiled?: CompiledRows;
}

/** Decodes every row image of a rows event body whose images hold every column. */
export interface CompiledRows {
  /** Images of insert/delete events: one row per image. */
  plain(plan: RowPlan, buf: Buffer, pos: number, end: number, ctx: ValueContext, rows: RowImage[]): void;
  /** Images of update events: { before, after } per pair. */
  update(
    plan: RowPlan,
    buf: Buffer,
    pos: number,
    end: number,
    ctx: ValueContext,
    rows: { before: RowImage; after: RowImage }[],
  ): void;
}

export interface ValueContext {
  tz: TimeZoneOffset;
  /** Text of the event being decoded (reset to each rows event's buffer). */
  text: EventText;
  /**
   * Set by ParallelDecoder's workers, which send values back as byte ranges rather than
   * strings (see parallel/wire.ts): a text value whose characters are the Latin-1 reading of
   * its bytes (UTF-8/cp1252 that is pure ASCII, or an ascii column) and an integer that fits a
   * double go to the emitter instead, and the row gets "" in their place.
   */
  emit?: ValueEmitter;
}

export interface ValueEmitter {
  /**
   * Per column i: ranges[2i + 1] the length of the value's text, -1 when the value was not
   * emitted; ranges[2i] its start: >= 0 in the event's bytes, < 0 (~offset) in the emitter's
   * own formatted text. The reader of an entry resets its length to -1.
   */
  readonly ranges: Int32Array;
  /** Column i's value is the integer v (|v| < 2^53): its decimal text. */
  int(i: number, v: number): void;
}

/** Decimal text of an integer value (|v| < 2^53), or "" when it went to ctx.emit. */
function intText(ctx: ValueContext, i: number, v: number): string {
  const emit = ctx.emit;
  if (emit === undefined) return integerText(v);
  emit.int(i, v);
  return "";
}

/** Compiles the per-column decoders of a table (once per TABLE_MAP). */
export function compilePlan(table: TableInfo): RowPlan {
  const n = table.columnCount;
  const kind = new Uint8Array(n);
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  const c = new Int32Array(n);
  const text = new Uint8Array(n);
  const aux: unknown[] = new Array(n).fill(undefined);
  const jsonColumns: number[] = [];
  for (let i = 0; i < n; i++) {
    const col = table.columns[i];
    if (!col) fail(`missing column ${i}`);
    const m = col.meta;
    const codec: TextCodec | undefined =
      col.valueFormat === "text" && col.charset !== undefined ? textCodec(col.charset) : undefined;
    const setText = () => {
      text[i] = codec ? codec.kind : TextKind.BINARY;
      if (codec?.decoder) aux[i] = codec.decoder;
    };
    switch (col.type) {
      case T.NULL:
        kind[i] = K.NULLTYPE;
        break;
      case T.TINY:
        kind[i] = col.unsigned ? K.TINY_U : K.TINY;
        break;
      case T.SHORT:
        kind[i] = col.unsigned ? K.SHORT_U : K.SHORT;
        break;
      case T.INT24:
        kind[i] = col.unsigned ? K.INT24_U : K.INT24;
        break;
      case T.LONG:
        kind[i] = col.unsigned ? K.LONG_U : K.LONG;
        break;
      case T.LONGLONG:
        kind[i] = col.unsigned ? K.LONGLONG_U : K.LONGLONG;
        break;
      case T.NEWDECIMAL:
        kind[i] = K.DECIMAL;
        a[i] = m >> 8;
        b[i] = m & 0xff;
        c[i] = decimalBinSize(m >> 8, m & 0xff);
        break;
      case T.FLOAT:
        kind[i] = col.scale !== undefined && col.scale < 31 ? K.FLOAT_FIXED : K.FLOAT;
        b[i] = col.scale ?? 0;
        break;
      case T.DOUBLE:
        kind[i] = col.scale !== undefined && col.scale < 31 ? K.DOUBLE_FIXED : K.DOUBLE;
        b[i] = col.scale ?? 0;
        break;
      case T.BIT:
        kind[i] = K.BIT;
        a[i] = col.length ?? 0;
        break;
      case T.YEAR:
        kind[i] = K.YEAR;
        break;
      case T.DATE:
        kind[i] = K.DATE;
        break;
      case T.TIME:
        kind[i] = col.precisionUnknown ? K.UNSUPPORTED : col.mariadbHires ? K.TIME_HIRES : K.TIME_OLD;
        a[i] = col.fsp ?? 0;
        break;
      case T.DATETIME:
        kind[i] = col.precisionUnknown ? K.UNSUPPORTED : col.mariadbHires ? K.DATETIME_HIRES : K.DATETIME_OLD;
        a[i] = col.fsp ?? 0;
        break;
      case T.TIMESTAMP:
        kind[i] = col.precisionUnknown
          ? K.UNSUPPORTED
          : col.mariadbHires
            ? K.TIMESTAMP_HIRES
            : K.TIMESTAMP_OLD;
        a[i] = col.fsp ?? 0;
        break;
      case T.TIME2:
      case T.DATETIME2:
      case T.TIMESTAMP2:
        if (m > 6) fail(`invalid fractional precision ${m} for column ${i}`);
        kind[i] = col.type === T.TIME2 ? K.TIME2 : col.type === T.DATETIME2 ? K.DATETIME2 : K.TIMESTAMP2;
        a[i] = m;
        break;
      case T.VARCHAR:
      case T.VAR_STRING:
        kind[i] = col.compressed ? K.VARSTR_COMPRESSED : K.VARSTR;
        // For a compressed VARCHAR, m (1 more than its bytes) decides the prefix just the same.
        a[i] = m < 256 ? 1 : 2;
        if (col.compressed) {
          if (m < 1) fail(`invalid VARCHAR COMPRESSED length ${m} for column ${i}`);
          b[i] = m - 1;
        }
        setText();
        break;
      case T.STRING: {
        const max = stringMaxLength(m);
        a[i] = max < 256 ? 1 : 2;
        b[i] = max;
        if (col.extendedType === "uuid") kind[i] = K.UUID;
        else if (col.extendedType === "inet4") kind[i] = K.INET4;
        else if (col.extendedType === "inet6") kind[i] = K.INET6;
        else {
          kind[i] = K.CHAR;
          // space width for text; 0 = binary (pad with 0x00 to the full length); -1 = unknown charset
          c[i] = col.charset === "binary" ? 0 : codec ? spaceWidth(col.charset) : -1;
          setText();
        }
        break;
      }
      case T.BLOB:
      case T.TINY_BLOB:
      case T.MEDIUM_BLOB:
      case T.LONG_BLOB:
        kind[i] = col.compressed ? K.BLOB_COMPRESSED : K.BLOB;
        a[i] = m;
        if (m < 1 || m > 4) fail(`invalid BLOB pack length ${m} for column ${i}`);
        setText();
        break;
      case T.ENUM:
        kind[i] = K.ENUM;
        a[i] = m & 0xff;
        aux[i] = col.enumValues;
        break;
      case T.SET:
        kind[i] = K.SET;
        a[i] = m & 0xff;
        aux[i] = col.setValues;
        break;
      case T.JSON:
        kind[i] = K.JSON;
        a[i] = m;
        jsonColumns.push(i);
        break;
      case T.GEOMETRY:
      case T.VECTOR:
        kind[i] = K.BINARY_BLOB;
        a[i] = m;
        if (m < 1 || m > 4) fail(`invalid BLOB pack length ${m} for column ${i}`);
        break;
      default:
        kind[i] = K.UNSUPPORTED;
    }
  }
  return { n, kind, a, b, c, text, aux, jsonColumns, table };
}

/** A MariaDB old-format temporal value whose fractional digits only the table's definition gives. */
function precisionUnknown(col: ColumnInfo): never {
  const err = new BinlogDecodeError(
    `column ${col.index}${col.name === undefined ? "" : ` (${col.name})`} is in MariaDB's old temporal ` +
      "format (mysql56_temporal_format=OFF), which does not log its fractional digits: the table's definition is needed",
  );
  err.definitionNeeded = true;
  throw err;
}

export function truncated(col: number): never {
  return fail(`row image truncated in column ${col}`);
}

/** An ENUM value: its label ("" for index 0, the server's error value), or the index without labels. */
export function enumText(plan: RowPlan, i: number, idx: number): string {
  const labels = plan.aux[i] as string[] | undefined;
  if (labels === undefined) return `${idx}`;
  if (idx === 0) return "";
  const label = labels[idx - 1];
  if (label === undefined) fail(`ENUM index ${idx} out of range for column ${i} (${labels.length} labels)`);
  return label;
}

export function textOf(
  plan: RowPlan,
  i: number,
  buf: Buffer,
  s: number,
  e: number,
  ctx: ValueContext,
): string {
  const kind = plan.text[i];
  const emit = ctx.emit;
  if (
    emit !== undefined &&
    (kind === TextKind.ASCII ||
      ((kind === TextKind.UTF8 || kind === TextKind.CP1252) && ctx.text.isAscii(s, e)))
  ) {
    emit.ranges[2 * i] = s;
    emit.ranges[2 * i + 1] = e - s;
    return "";
  }
  switch (kind) {
    case TextKind.UTF8:
      return ctx.text.utf8(s, e);
    case TextKind.CP1252:
      return ctx.text.cp1252(s, e);
    case TextKind.ASCII:
      return ctx.text.latin1(s, e);
    case TextKind.UTF16LE:
      return utf16leText(buf, s, e);
    case TextKind.UTF32BE:
      return utf32beText(buf, s, e);
    case TextKind.UTF16BE:
    case TextKind.DECODER:
      return (plan.aux[i] as TextDecoder).decode(buf.subarray(s, e));
    default:
      return buf.toString("base64", s, e);
  }
}

/**
 * Text of bytes that are not the event's (a decompressed value): not through ctx.text nor
 * ctx.emit, whose offsets refer to the event's bytes.
 */
function bytesText(plan: RowPlan, i: number, bytes: Buffer): string {
  const end = bytes.length;
  switch (plan.text[i]) {
    case TextKind.UTF8:
      return utf8Text(bytes, 0, end);
    case TextKind.CP1252:
      return cp1252Text(bytes, 0, end);
    case TextKind.ASCII:
      return latin1Text(bytes, 0, end);
    case TextKind.UTF16LE:
      return utf16leText(bytes, 0, end);
    case TextKind.UTF32BE:
      return utf32beText(bytes, 0, end);
    case TextKind.UTF16BE:
    case TextKind.DECODER:
      return (plan.aux[i] as TextDecoder).decode(bytes);
    default:
      return bytes.toString("base64");
  }
}

/** Read position shared across the images of one event (saves an object per image). */
export interface Cursor {
  pos: number;
}

/**
 * Decodes one row image at buf[cursor.pos] (null bitmap + values of the present columns) and
 * advances the cursor past it.
 * `present` is the columns-present bitmap (LSB first). `partialJson`, when given, marks JSON
 * columns whose value is a diff list rather than a document (PARTIAL_UPDATE_ROWS after image):
 * those values are returned raw in `diffs` and left undefined in the row.
 */
export function decodeImage(
  buf: Buffer,
  cursor: Cursor,
  end: number,
  plan: RowPlan,
  present: Buffer,
  presentCount: number,
  ctx: ValueContext,
  partialJson?: Set<number>,
  diffs?: Map<number, [number, number]>,
): RowImage {
  let pos = cursor.pos;
  const n = plan.n;
  const nullBytes = (presentCount + 7) >> 3;
  const nullAt = pos;
  pos += nullBytes;
  if (pos > end) truncated(0);
  // Exactly n slots (a growing [] reserves 17 at its first store: 3x the memory of a
  // 4-column row, and more scavenges); every index is then assigned, absent columns as undefined.
  const row: RowImage = new Array(n);
  const kind = plan.kind;
  const all = presentCount === n;
  let nullIndex = 0;
  for (let i = 0; i < n; i++) {
    if (!all && ((present[i >> 3] as number) & (1 << (i & 7))) === 0) {
      row[i] = undefined;
      continue;
    }
    const isNull = ((buf[nullAt + (nullIndex >> 3)] as number) & (1 << (nullIndex & 7))) !== 0;
    nullIndex++;
    if (isNull) {
      row[i] = null;
      continue;
    }
    if (partialJson?.has(i) && kind[i] === K.JSON) {
      // a diff list, not a document: returned raw, the value stays undefined
      const pl = plan.a[i] as number;
      if (pos + pl > end) truncated(i);
      const len =
        pl === 1
          ? (buf[pos] as number)
          : pl === 2
            ? buf.readUInt16LE(pos)
            : pl === 3
              ? buf.readUIntLE(pos, 3)
              : buf.readUInt32LE(pos);
      pos += pl;
      if (pos + len > end) truncated(i);
      row[i] = undefined;
      diffs?.set(i, [pos, pos + len]);
      pos += len;
      continue;
    }
    cursor.pos = pos;
    row[i] = decodeValue(buf, cursor, end, plan, i, ctx);
    pos = cursor.pos;
  }
  cursor.pos = pos;
  return row;
}

/**
 * Decodes the (non-NULL) value of column i at buf[cursor.pos] and advances the cursor past it.
 * The generic path (decodeImage) and the compiled row decoders (row-decoder.ts) share it.
 */
export function decodeValue(
  buf: Buffer,
  cursor: Cursor,
  end: number,
  plan: RowPlan,
  i: number,
  ctx: ValueContext,
): string | null {
  let pos = cursor.pos;
  const kind = plan.kind;
  let v: string | null = null;
  switch (kind[i]) {
    case K.NULLTYPE:
      v = null;
      break;
    case K.TINY:
      if (pos + 1 > end) truncated(i);
      v = intText(ctx, i, buf.readInt8(pos));
      pos += 1;
      break;
    case K.TINY_U:
      if (pos + 1 > end) truncated(i);
      v = intText(ctx, i, buf[pos] as number);
      pos += 1;
      break;
    case K.SHORT:
      if (pos + 2 > end) truncated(i);
      v = intText(ctx, i, buf.readInt16LE(pos));
      pos += 2;
      break;
    case K.SHORT_U:
      if (pos + 2 > end) truncated(i);
      v = intText(ctx, i, buf.readUInt16LE(pos));
      pos += 2;
      break;
    case K.INT24:
      if (pos + 3 > end) truncated(i);
      v = intText(ctx, i, buf.readIntLE(pos, 3));
      pos += 3;
      break;
    case K.INT24_U:
      if (pos + 3 > end) truncated(i);
      v = intText(ctx, i, buf.readUIntLE(pos, 3));
      pos += 3;
      break;
    case K.LONG:
      if (pos + 4 > end) truncated(i);
      v = intText(ctx, i, buf.readInt32LE(pos));
      pos += 4;
      break;
    case K.LONG_U:
      if (pos + 4 > end) truncated(i);
      v = intText(ctx, i, buf.readUInt32LE(pos));
      pos += 4;
      break;
    case K.LONGLONG: {
      if (pos + 8 > end) truncated(i);
      const hi = buf.readInt32LE(pos + 4);
      const lo = buf.readUInt32LE(pos);
      if (hi >= -0x200000 && hi < 0x200000) v = intText(ctx, i, hi * 4294967296 + lo);
      else if (hi >= 0) v = uint64Text(hi, lo);
      // two's complement magnitude: ~(hi:lo) + 1
      else v = `-${uint64Text((~hi + (lo === 0 ? 1 : 0)) >>> 0, (~lo + 1) >>> 0)}`;
      pos += 8;
      break;
    }
    case K.LONGLONG_U: {
      if (pos + 8 > end) truncated(i);
      const hi = buf.readUInt32LE(pos + 4);
      const lo = buf.readUInt32LE(pos);
      v = hi < 0x200000 ? intText(ctx, i, hi * 4294967296 + lo) : uint64Text(hi, lo);
      pos += 8;
      break;
    }
    case K.DECIMAL: {
      const size = plan.c[i] as number;
      if (pos + size > end) truncated(i);
      v = decodeDecimal(buf, pos, plan.a[i] as number, plan.b[i] as number);
      pos += size;
      break;
    }
    case K.FLOAT:
      if (pos + 4 > end) truncated(i);
      v = formatFloat(buf.readFloatLE(pos));
      pos += 4;
      break;
    case K.FLOAT_FIXED:
      if (pos + 4 > end) truncated(i);
      v = formatFixed(buf.readFloatLE(pos), plan.b[i] as number);
      pos += 4;
      break;
    case K.DOUBLE:
      if (pos + 8 > end) truncated(i);
      v = formatDouble(buf.readDoubleLE(pos));
      pos += 8;
      break;
    case K.DOUBLE_FIXED:
      if (pos + 8 > end) truncated(i);
      v = formatFixed(buf.readDoubleLE(pos), plan.b[i] as number);
      pos += 8;
      break;
    case K.BIT: {
      const len = plan.a[i] as number;
      if (pos + len > end) truncated(i);
      v = len <= 6 ? `${len === 0 ? 0 : buf.readUIntBE(pos, len)}` : bigBE(buf, pos, len);
      pos += len;
      break;
    }
    case K.YEAR:
      if (pos + 1 > end) truncated(i);
      v = decodeYear(buf, pos);
      pos += 1;
      break;
    case K.DATE:
      if (pos + 3 > end) truncated(i);
      v = decodeDate(buf, pos);
      pos += 3;
      break;
    case K.TIME_OLD:
      if (pos + 3 > end) truncated(i);
      v = decodeTimeOld(buf, pos);
      pos += 3;
      break;
    case K.DATETIME_OLD:
      if (pos + 8 > end) truncated(i);
      v = decodeDatetimeOld(buf, pos);
      pos += 8;
      break;
    case K.TIMESTAMP_OLD:
      if (pos + 4 > end) truncated(i);
      v = decodeTimestampOld(buf, pos, ctx.tz);
      pos += 4;
      break;
    case K.TIME_HIRES:
    case K.DATETIME_HIRES:
    case K.TIMESTAMP_HIRES: {
      const fsp = plan.a[i] as number;
      const k = kind[i] as number;
      const size =
        k === K.TIME_HIRES
          ? 3 + (HIRES_EXTRA[fsp] as number)
          : k === K.DATETIME_HIRES
            ? 5 + (HIRES_EXTRA[fsp] as number)
            : 4 + (TS_HIRES_FRAC[fsp] as number);
      if (pos + size > end) truncated(i);
      v =
        k === K.TIME_HIRES
          ? decodeTimeHires(buf, pos, size, fsp)
          : k === K.DATETIME_HIRES
            ? decodeDatetimeHires(buf, pos, size, fsp)
            : decodeTimestampHires(buf, pos, fsp, ctx.tz);
      pos += size;
      break;
    }
    case K.TIME2: {
      const fsp = plan.a[i] as number;
      const size = 3 + fspBytes(fsp);
      if (pos + size > end) truncated(i);
      v = decodeTime2(buf, pos, fsp);
      pos += size;
      break;
    }
    case K.DATETIME2: {
      const fsp = plan.a[i] as number;
      const size = 5 + fspBytes(fsp);
      if (pos + size > end) truncated(i);
      v = decodeDatetime2(buf, pos, fsp);
      pos += size;
      break;
    }
    case K.TIMESTAMP2: {
      const fsp = plan.a[i] as number;
      const size = 4 + fspBytes(fsp);
      if (pos + size > end) truncated(i);
      v = decodeTimestamp2(buf, pos, fsp, ctx.tz);
      pos += size;
      break;
    }
    case K.VARSTR: {
      let len: number;
      if (plan.a[i] === 1) {
        if (pos + 1 > end) truncated(i);
        len = buf[pos] as number;
        pos += 1;
      } else {
        if (pos + 2 > end) truncated(i);
        len = buf.readUInt16LE(pos);
        pos += 2;
      }
      if (pos + len > end) truncated(i);
      v = textOf(plan, i, buf, pos, pos + len, ctx);
      pos += len;
      break;
    }
    case K.CHAR: {
      let len: number;
      if (plan.a[i] === 1) {
        if (pos + 1 > end) truncated(i);
        len = buf[pos] as number;
        pos += 1;
      } else {
        if (pos + 2 > end) truncated(i);
        len = buf.readUInt16LE(pos);
        pos += 2;
      }
      if (pos + len > end) truncated(i);
      const tk = plan.text[i];
      if (tk === TextKind.BINARY) {
        const max = plan.b[i] as number;
        v =
          len >= max || plan.c[i] !== 0
            ? buf.toString("base64", pos, pos + len)
            : paddedBase64(buf, pos, len, max);
      } else {
        let e = pos + len;
        if (plan.c[i] === 1) {
          while (e > pos && buf[e - 1] === 0x20) e--;
          v = textOf(plan, i, buf, pos, e, ctx);
        } else {
          v = trimSpaces(textOf(plan, i, buf, pos, e, ctx));
        }
      }
      pos += len;
      break;
    }
    case K.BLOB:
    case K.BINARY_BLOB:
    case K.JSON: {
      const pl = plan.a[i] as number;
      if (pos + pl > end) truncated(i);
      const len =
        pl === 1
          ? (buf[pos] as number)
          : pl === 2
            ? buf.readUInt16LE(pos)
            : pl === 3
              ? buf.readUIntLE(pos, 3)
              : buf.readUInt32LE(pos);
      pos += pl;
      if (pos + len > end) truncated(i);
      const k = kind[i];
      if (k === K.BLOB) v = textOf(plan, i, buf, pos, pos + len, ctx);
      else if (k === K.BINARY_BLOB) v = buf.toString("base64", pos, pos + len);
      else v = renderJsonBinary(buf, pos, pos + len);
      pos += len;
      break;
    }
    case K.VARSTR_COMPRESSED:
    case K.BLOB_COMPRESSED: {
      // a little-endian length of plan.a bytes, then the value in MariaDB's compressed format
      const pl = plan.a[i] as number;
      if (pos + pl > end) truncated(i);
      const len = buf.readUIntLE(pos, pl);
      pos += pl;
      if (pos + len > end) truncated(i);
      const max = kind[i] === K.VARSTR_COMPRESSED ? (plan.b[i] as number) : 2 ** (8 * pl) - 1;
      v = bytesText(plan, i, uncompressedValue(buf, pos, pos + len, max, plan.table.columns[i]));
      pos += len;
      break;
    }
    case K.ENUM: {
      const pl = plan.a[i] as number;
      if (pos + pl > end) truncated(i);
      v = enumText(plan, i, pl === 1 ? (buf[pos] as number) : buf.readUInt16LE(pos));
      pos += pl;
      break;
    }
    case K.SET: {
      const pl = plan.a[i] as number;
      if (pos + pl > end) truncated(i);
      const labels = plan.aux[i] as string[] | undefined;
      if (labels === undefined) {
        v = pl <= 6 ? `${buf.readUIntLE(pos, pl)}` : bigLE(buf, pos, pl);
      } else {
        let out = "";
        for (let byte = 0; byte < pl; byte++) {
          let bits = buf[pos + byte] as number;
          let bit = byte * 8;
          while (bits !== 0) {
            if (bits & 1) {
              const label = labels[bit];
              if (label === undefined) fail(`SET bit ${bit} out of range for column ${i}`);
              out = out === "" ? label : `${out},${label}`;
            }
            bits >>>= 1;
            bit++;
          }
        }
        v = out;
      }
      pos += pl;
      break;
    }
    case K.UUID: {
      const max = plan.b[i] as number;
      const len = lengthPrefixed(buf, pos, end, plan.a[i] as number, i);
      pos += plan.a[i] as number;
      if (len > max || max !== 16) fail(`UUID value of ${len} bytes in column ${i}`);
      const h = fixedHex(buf, pos, len, 16);
      v = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      pos += len;
      break;
    }
    case K.INET4: {
      const len = lengthPrefixed(buf, pos, end, plan.a[i] as number, i);
      pos += plan.a[i] as number;
      if (len > 4) fail(`INET4 value of ${len} bytes in column ${i}`);
      const h = fixedHex(buf, pos, len, 4);
      v = `${Number.parseInt(h.slice(0, 2), 16)}.${Number.parseInt(h.slice(2, 4), 16)}.${Number.parseInt(h.slice(4, 6), 16)}.${Number.parseInt(h.slice(6, 8), 16)}`;
      pos += len;
      break;
    }
    case K.INET6: {
      const len = lengthPrefixed(buf, pos, end, plan.a[i] as number, i);
      pos += plan.a[i] as number;
      if (len > 16) fail(`INET6 value of ${len} bytes in column ${i}`);
      v = formatInet6(buf, pos, len);
      pos += len;
      break;
    }
    default: {
      const col = plan.table.columns[i];
      if (col?.precisionUnknown) precisionUnknown(col);
      fail(`unsupported column type ${col?.binlogType} in column ${i}`);
    }
  }
  cursor.pos = pos;
  return v;
}

const PAD8 = ["", "0", "00", "000", "0000", "00000", "000000", "0000000"];

/**
 * Decimal text of the unsigned 64-bit value hi * 2^32 + lo, for values of at least 10^8 (the
 * decoder passes those >= 2^53). Long division by 10^8 over 16-bit limbs keeps every step
 * below 2^53, so it is exact without BigInt.
 */
export function uint64Text(hi: number, lo: number): string {
  let r = hi >>> 16;
  let q = Math.floor(r / 100000000);
  r -= q * 100000000;
  let x = r * 65536 + (hi & 0xffff);
  let d = Math.floor(x / 100000000);
  q = q * 65536 + d;
  r = x - d * 100000000;
  x = r * 65536 + (lo >>> 16);
  d = Math.floor(x / 100000000);
  q = q * 65536 + d;
  r = x - d * 100000000;
  x = r * 65536 + (lo & 0xffff);
  d = Math.floor(x / 100000000);
  q = q * 65536 + d;
  r = x - d * 100000000;
  const low = uintText(r);
  return `${uintText(q)}${PAD8[8 - low.length] as string}${low}`;
}

function lengthPrefixed(buf: Buffer, pos: number, end: number, lenBytes: number, col: number): number {
  if (pos + lenBytes > end) truncated(col);
  const len = lenBytes === 1 ? (buf[pos] as number) : buf.readUInt16LE(pos);
  if (pos + lenBytes + len > end) truncated(col);
  return len;
}

/** Hex of `len` bytes right-padded with zero bytes to `width`. */
function fixedHex(buf: Buffer, pos: number, len: number, width: number): string {
  const h = buf.toString("hex", pos, pos + len);
  return len >= width ? h : h + "00".repeat(width - len);
}

/** MariaDB's Inet6::to_string (longest zero run, even of length 1, becomes "::"). */
export function formatInet6(buf: Buffer, pos: number, len: number): string {
  const bytes = Buffer.alloc(16);
  buf.copy(bytes, 0, pos, pos + len);
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(bytes.readUInt16BE(i * 2));
  let gapPos = -1;
  let gapLen = -1;
  let rgPos = -1;
  let rgLen = -1;
  for (let i = 0; i < 8; i++) {
    if (w[i] !== 0) {
      if (rgPos >= 0) {
        if (rgLen > gapLen) {
          gapPos = rgPos;
          gapLen = rgLen;
        }
        rgPos = -1;
        rgLen = -1;
      }
    } else if (rgPos >= 0) rgLen++;
    else {
      rgPos = i;
      rgLen = 1;
    }
  }
  if (rgPos >= 0 && rgLen > gapLen) {
    gapPos = rgPos;
    gapLen = rgLen;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === gapPos) {
      if (i === 0) out += ":";
      out += ":";
      i += gapLen - 1;
    } else if (i === 6 && gapPos === 0 && (gapLen === 6 || (gapLen === 5 && w[5] === 0xffff))) {
      return `${out}${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
    } else {
      out += (w[i] as number).toString(16);
      if (i + 1 !== 8) out += ":";
    }
  }
  return out;
}

function paddedBase64(buf: Buffer, pos: number, len: number, max: number): string {
  const b = Buffer.alloc(max);
  buf.copy(b, 0, pos, pos + len);
  return b.toString("base64");
}

function trimSpaces(s: string): string {
  let e = s.length;
  while (e > 0 && s.charCodeAt(e - 1) === 0x20) e--;
  return e === s.length ? s : s.slice(0, e);
}

function bigBE(buf: Buffer, pos: number, len: number): string {
  let v = 0n;
  for (let k = 0; k < len; k++) v = (v << 8n) | BigInt(buf[pos + k] as number);
  return v.toString();
}

function bigLE(buf: Buffer, pos: number, len: number): string {
  let v = 0n;
  for (let k = len - 1; k >= 0; k--) v = (v << 8n) | BigInt(buf[pos + k] as number);
  return v.toString();
}
