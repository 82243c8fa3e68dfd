// MariaDB compressed columns (VARCHAR/VARBINARY/TEXT/BLOB ... COMPRESSED, MariaDB 10.3+): the
// bytes of one value, after its usual length prefix, as MariaDB stores and logs them
// (sql/field.cc Field_longstr::compress/uncompress, sql/field_comp.cc):
//
//   (no bytes)                    the empty string: no header at all
//   0x00, data                    stored uncompressed (shorter than column_compression_threshold,
//                                 or not smaller compressed)
//   0x8N [0x08 set], len, deflate zlib: N (1-4) bytes of the original length, big-endian, then
//                                 a raw deflate stream when bit 0x08 is set (MariaDB's default,
//                                 column_compression_zlib_wrap=OFF), else a zlib stream
//
// The high nibble of the header is the compression method: 0 (none) and 8 (zlib) are the only
// ones MariaDB has. Anything else, or bytes that do not inflate to exactly the length the header
// gives, is an error: the decoder never guesses a value.
//
// Inflation is synchronous (zlib's *Sync calls): values are decoded inside the synchronous row
// decoders, one call per value; rows of offline files can already go to worker threads
// (ParallelDecoder), which is where a large value's inflate then runs.
import { inflateRawSync, inflateSync } from "node:zlib";
import { BinlogDecodeError, fail } from "./errors.js";
import type { ColumnInfo } from "./table-map.js";

const METHOD_NONE = 0;
const METHOD_ZLIB = 8;
/** zlib header bit: the stream is raw deflate (no zlib wrapper, no Adler-32). */
const RAW_DEFLATE = 0x08;
const EMPTY = Buffer.alloc(0);

/**
 * The original bytes of a compressed column's value buf[start, end) (the bytes after its
 * length prefix): a view of buf when stored uncompressed, else a new buffer. `maxLength`: the
 * most bytes the column holds uncompressed.
 */
export function uncompressedValue(
  buf: Buffer,
  start: number,
  end: number,
  maxLength: number,
  column: ColumnInfo | undefined,
): Buffer {
  if (start === end) return EMPTY;
  const header = buf[start] as number;
  const method = header >> 4;
  if (method === METHOD_NONE) {
    if (header !== 0) bad(column, `bad header ${hex(header)} (compression method 0 with flag bits set)`);
    return buf.subarray(start + 1, end);
  }
  if (method !== METHOD_ZLIB) bad(column, `unknown compression method ${method} (header ${hex(header)})`);
  const lengthBytes = header & 0x07;
  if (lengthBytes < 1 || lengthBytes > 4) {
    bad(column, `bad header ${hex(header)} (${lengthBytes} bytes of original length)`);
  }
  const data = start + 1 + lengthBytes;
  if (data > end) bad(column, `${end - start} bytes, too short for its header ${hex(header)}`);
  const expected = buf.readUIntBE(start + 1, lengthBytes);
  if (expected > maxLength) {
    bad(column, `original length ${expected} is more than the column's ${maxLength} bytes`);
  }
  const input = buf.subarray(data, end);
  let out: Buffer;
  try {
    // At most `expected` bytes come out: a stream that inflates to more is corrupt, and a bad
    // length cannot make the decoder allocate more than the header claims.
    const opts = { maxOutputLength: Math.max(expected, 1) };
    out = (header & RAW_DEFLATE) !== 0 ? inflateRawSync(input, opts) : inflateSync(input, opts);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE") {
      bad(column, `inflates to more than the ${expected} bytes its header gives`);
    }
    throw new BinlogDecodeError(`${where(column)}: zlib: ${(err as Error).message}`, {}, { cause: err });
  }
  if (out.length !== expected) {
    bad(column, `inflates to ${out.length} bytes, its header gives ${expected}`);
  }
  return out;
}

function bad(column: ColumnInfo | undefined, reason: string): never {
  return fail(`${where(column)}: ${reason}`);
}

function where(column: ColumnInfo | undefined): string {
  if (column === undefined) return "compressed value";
  const name = column.name === undefined ? "" : ` (${column.name})`;
  return `compressed value of column ${column.index}${name}`;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}
