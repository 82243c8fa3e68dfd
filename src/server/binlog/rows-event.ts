// Rows events: WRITE/UPDATE/DELETE_ROWS v1 (23-25, MariaDB's default) and v2 (30-32, with
// extra data), PARTIAL_UPDATE_ROWS (39, MySQL JSON partial updates), MariaDB compressed rows
// events (166-168 v1, 169-171 v2; zlib). Every row image is an array indexed by column
// ordinal: string (text value), null (SQL NULL) or undefined (column not in the image, for
// binlog_row_image=MINIMAL/NOBLOB).
import { readPacked } from "./buffer-reader.js";
import { type Cursor, decodeImage, type RowImage, type RowPlan, type ValueContext } from "./column-values.js";
import { fail } from "./errors.js";
import { EventType as E } from "./event-types.js";
import type { DeleteRowsEvent, InsertRowsEvent, UpdateRow, UpdateRowsEvent } from "./events.js";
import { applyJsonDiffs, type JsonDiff, parseJsonDiffs } from "./json-binary.js";
import { decompressMariadb } from "./query.js";
import { compiledRows } from "./row-decoder.js";

export type RowsKind = "insert" | "update" | "delete";

export interface RowsTypeInfo {
  kind: RowsKind;
  version: 1 | 2;
  compressed: boolean;
  partial: boolean;
}

function info(kind: RowsKind, version: 1 | 2, compressed: boolean, partial: boolean): RowsTypeInfo {
  return Object.freeze({ kind, version, compressed, partial });
}

const ROWS_TYPES: (RowsTypeInfo | undefined)[] = [];
ROWS_TYPES[E.WRITE_ROWS_V1] = info("insert", 1, false, false);
ROWS_TYPES[E.UPDATE_ROWS_V1] = info("update", 1, false, false);
ROWS_TYPES[E.DELETE_ROWS_V1] = info("delete", 1, false, false);
ROWS_TYPES[E.WRITE_ROWS_V2] = info("insert", 2, false, false);
ROWS_TYPES[E.UPDATE_ROWS_V2] = info("update", 2, false, false);
ROWS_TYPES[E.DELETE_ROWS_V2] = info("delete", 2, false, false);
ROWS_TYPES[E.PARTIAL_UPDATE_ROWS] = info("update", 2, false, true);
ROWS_TYPES[E.MARIADB_WRITE_ROWS_COMPRESSED_V1] = info("insert", 1, true, false);
ROWS_TYPES[E.MARIADB_UPDATE_ROWS_COMPRESSED_V1] = info("update", 1, true, false);
ROWS_TYPES[E.MARIADB_DELETE_ROWS_COMPRESSED_V1] = info("delete", 1, true, false);
ROWS_TYPES[E.MARIADB_WRITE_ROWS_COMPRESSED] = info("insert", 2, true, false);
ROWS_TYPES[E.MARIADB_UPDATE_ROWS_COMPRESSED] = info("update", 2, true, false);
ROWS_TYPES[E.MARIADB_DELETE_ROWS_COMPRESSED] = info("delete", 2, true, false);

/** Classifies a rows event type code, or undefined for other events (a shared, frozen object). */
export function rowsType(code: number): RowsTypeInfo | undefined {
  return ROWS_TYPES[code];
}

export interface RowsHeader {
  tableId: number;
  flags: number;
  partitionId?: number;
  sourcePartitionId?: number;
  /** Body offset where the column count starts. */
  pos: number;
}

/** Reads the post-header (table id, flags) and v2 extra data. */
export function parseRowsHeader(
  buf: Buffer,
  pos: number,
  end: number,
  idSize: number,
  info: RowsTypeInfo,
): RowsHeader {
  if (pos + idSize + 2 > end) fail("truncated rows event header");
  const tableId = buf.readUIntLE(pos, idSize);
  pos += idSize;
  const flags = buf.readUInt16LE(pos);
  pos += 2;
  const out: RowsHeader = { tableId, flags, pos };
  if (info.version === 2) {
    if (pos + 2 > end) fail("truncated rows event extra data length");
    const extraLen = buf.readUInt16LE(pos);
    if (extraLen < 2 || pos + extraLen > end) fail(`invalid rows event extra data length ${extraLen}`);
    let p = pos + 2;
    const extraEnd = pos + extraLen;
    // extra row info: type byte; 1 = partition info (partition id, + source partition id for updates)
    while (p < extraEnd) {
      const type = buf[p++] as number;
      if (type === 1) {
        if (p + 2 > extraEnd) break;
        out.partitionId = buf.readUInt16LE(p);
        p += 2;
        if (info.kind === "update" && p + 2 <= extraEnd) {
          out.sourcePartitionId = buf.readUInt16LE(p);
          p += 2;
        }
      } else if (type === 0) {
        // NDB info: length byte covers itself and the format byte
        const len = buf[p] as number;
        p += len;
      } else break;
    }
    pos = extraEnd;
  }
  out.pos = pos;
  return out;
}

/** Set bits among the first n bits of the bitmap at buf[at] (LSB first). */
function popCount(buf: Buffer, at: number, n: number): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (((buf[at + (i >> 3)] as number) & (1 << (i & 7))) !== 0) count++;
  return count;
}

/** Stands for a columns-present bitmap with every bit set (decodeImage does not read it then). */
const ALL_PRESENT = Buffer.alloc(0);

export type RowsBody =
  | Pick<InsertRowsEvent, "kind" | "rows">
  | Pick<DeleteRowsEvent, "kind" | "rows">
  | Pick<UpdateRowsEvent, "kind" | "rows" | "partial">;

/** Receives row images one by one, in order (an update's before image, then its after image). */
export interface ImageSink {
  image(row: RowImage): void;
}

/**
 * Decodes the rows after the post-header: column count, columns-present bitmap(s), images.
 * `pos` points at the column count. With a `sink` (not for partial updates), every image goes
 * to it as soon as it is decoded and the returned `rows` stays empty.
 */
export function parseRowsBody(
  buf: Buffer,
  pos: number,
  end: number,
  info: RowsTypeInfo,
  plan: RowPlan,
  ctx: ValueContext,
  sink?: ImageSink,
): RowsBody {
  let columnCount: number;
  if (pos < end && (buf[pos] as number) < 0xfb) columnCount = buf[pos++] as number;
  else [columnCount, pos] = readPacked(buf, pos, end);
  if (columnCount !== plan.n) {
    fail(`rows event has ${columnCount} columns, its TABLE_MAP has ${plan.n}`);
  }
  // Images of a table without columns would take no bytes: row data there cannot be read.
  if (columnCount === 0 && pos < end) fail("rows event for a table without columns carries row data");
  const bitmapLen = (columnCount + 7) >> 3;
  if (pos + bitmapLen > end) fail("truncated columns bitmap");
  const present1At = pos;
  pos += bitmapLen;
  let present2At = present1At;
  if (info.kind === "update") {
    if (pos + bitmapLen > end) fail("truncated after-image columns bitmap");
    present2At = pos;
    pos += bitmapLen;
  }
  const count1 = popCount(buf, present1At, columnCount);
  const count2 = info.kind === "update" ? popCount(buf, present2At, columnCount) : count1;
  // Views of the bitmaps for decodeImage (made before a compressed body replaces buf).
  const present1 = count1 === columnCount ? ALL_PRESENT : buf.subarray(present1At, present1At + bitmapLen);
  const present2 = count2 === columnCount ? ALL_PRESENT : buf.subarray(present2At, present2At + bitmapLen);
  if (info.compressed) {
    buf = decompressMariadb(buf.subarray(pos, end));
    pos = 0;
    end = buf.length;
  }
  ctx.text.reset(buf);
  // Every column in every image (binlog_row_image=FULL): the table's compiled decoder.
  const compiled =
    sink === undefined && !info.partial && ctx.emit === undefined && count1 === columnCount
      ? compiledRows(plan)
      : undefined;
  if (compiled !== undefined) {
    if (info.kind !== "update") {
      const rows: RowImage[] = [];
      compiled.plain(plan, buf, pos, end, ctx, rows);
      return { kind: info.kind, rows };
    }
    if (count2 === columnCount) {
      const rows: UpdateRow[] = [];
      compiled.update(plan, buf, pos, end, ctx, rows);
      return { kind: "update", rows };
    }
  }
  const cursor: Cursor = { pos };
  if (sink !== undefined && !info.partial) {
    const present = info.kind === "update" ? present2 : present1;
    const count = info.kind === "update" ? count2 : count1;
    while (cursor.pos < end) {
      sink.image(decodeImage(buf, cursor, end, plan, present1, count1, ctx));
      if (info.kind === "update") sink.image(decodeImage(buf, cursor, end, plan, present, count, ctx));
    }
    return info.kind === "update" ? { kind: "update", rows: [] } : { kind: info.kind, rows: [] };
  }
  if (info.kind !== "update") {
    const rows: RowImage[] = [];
    while (cursor.pos < end) rows.push(decodeImage(buf, cursor, end, plan, present1, count1, ctx));
    return { kind: info.kind, rows };
  }
  const rows: UpdateRow[] = [];
  while (cursor.pos < end) {
    const before = decodeImage(buf, cursor, end, plan, present1, count1, ctx);
    if (info.partial) rows.push(decodePartialAfter(buf, cursor, end, plan, present2, count2, ctx, before));
    else rows.push({ before, after: decodeImage(buf, cursor, end, plan, present2, count2, ctx) });
  }
  return info.partial ? { kind: "update", rows, partial: true } : { kind: "update", rows };
}

/** PARTIAL_UPDATE_ROWS after image: value options, partial-JSON bitmap, then the image. */
function decodePartialAfter(
  buf: Buffer,
  cursor: Cursor,
  end: number,
  plan: RowPlan,
  present: Buffer,
  presentCount: number,
  ctx: ValueContext,
  before: RowImage,
): UpdateRow {
  const [options, afterOptions] = readPacked(buf, cursor.pos, end);
  let pos = afterOptions;
  const partialCols = new Set<number>();
  if (options & 1) {
    const nJson = plan.jsonColumns.length;
    const bytes = (nJson + 7) >> 3;
    if (pos + bytes > end) fail("truncated partial JSON bitmap");
    for (let k = 0; k < nJson; k++) {
      if (((buf[pos + (k >> 3)] as number) & (1 << (k & 7))) !== 0)
        partialCols.add(plan.jsonColumns[k] as number);
    }
    pos += bytes;
  }
  const raw = new Map<number, [number, number]>();
  cursor.pos = pos;
  const after = decodeImage(buf, cursor, end, plan, present, presentCount, ctx, partialCols, raw);
  const update: UpdateRow = { before, after };
  for (const [col, [s, e]] of raw) {
    const diffs: JsonDiff[] = parseJsonDiffs(buf, s, e);
    const doc = before[col];
    const applied = typeof doc === "string" ? applyJsonDiffs(doc, diffs) : undefined;
    if (applied !== undefined) after[col] = applied;
    else {
      update.jsonDiffs ??= {};
      update.jsonDiffs[col] = diffs;
    }
  }
  return update;
}
