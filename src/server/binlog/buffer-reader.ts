// A bounds-checked little-endian cursor over a Buffer, for the event bodies that are not on
// the row hot path (the row decoder reads the Buffer directly, see column-values.ts).
import { fail } from "./errors.js";

const TWO_32 = 4294967296;

export class BufferReader {
  pos: number;
  readonly end: number;
  readonly buf: Buffer;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws a truncation error unless n more bytes are available. */
  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      fail(`truncated: need ${n} byte(s) at body offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned little-endian integer of 1..6 bytes, as a number (exact). */
  uintLE(n: number): number {
    if (n === 0) return 0;
    this.need(n);
    const v = this.buf.readUIntLE(this.pos, n);
    this.pos += n;
    return v;
  }

  u48(): number {
    return this.uintLE(6);
  }

  /** Unsigned 64-bit as bigint (exact). */
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned 64-bit as a number; throws if it exceeds 2^53-1 (never silently rounds). */
  u64Number(): number {
    this.need(8);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    if (hi > 0x1fffff) fail(`64-bit value at body offset ${this.pos} exceeds 2^53`);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** MySQL packed (length-encoded) integer as a number; throws above 2^53-1. */
  packed(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    switch (first) {
      case 0xfc:
        return this.u16();
      case 0xfd:
        return this.u24();
      case 0xfe:
        return this.u64Number();
      default:
        return fail(`invalid packed integer prefix 0x${first.toString(16)} at body offset ${this.pos - 1}`);
    }
  }

  /** MySQL packed integer as a bigint (for 64-bit quantities). */
  packedBig(): bigint {
    const first = this.u8();
    if (first < 0xfb) return BigInt(first);
    switch (first) {
      case 0xfc:
        return BigInt(this.u16());
      case 0xfd:
        return BigInt(this.u24());
      case 0xfe:
        return this.u64();
      default:
        return fail(`invalid packed integer prefix 0x${first.toString(16)} at body offset ${this.pos - 1}`);
    }
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** The rest of the body (no copy). */
  rest(): Buffer {
    const b = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return b;
  }

  /** n bytes as a string in the given Node encoding (ASCII-safe identifiers use "utf8"). */
  str(n: number, encoding: BufferEncoding = "utf8"): string {
    this.need(n);
    const s = this.buf.toString(encoding, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A NUL-terminated string; the NUL is consumed. */
  nulStr(encoding: BufferEncoding = "utf8"): string {
    const at = this.buf.indexOf(0, this.pos);
    if (at < 0 || at >= this.end) fail(`unterminated string at body offset ${this.pos}`);
    const s = this.buf.toString(encoding, this.pos, at);
    this.pos = at + 1;
    return s;
  }

  /** A string prefixed by a packed length. */
  packedStr(encoding: BufferEncoding = "utf8"): string {
    return this.str(this.packed(), encoding);
  }

  /** A packed-length byte string (view). */
  packedBytes(): Buffer {
    return this.bytes(this.packed());
  }
}

/** Reads a MySQL packed integer at buf[pos]; returns [value, newPos]. Bounded by `end`. */
export function readPacked(buf: Buffer, pos: number, end: number): [number, number] {
  if (pos >= end) fail(`truncated packed integer at body offset ${pos}`);
  const first = buf[pos] as number;
  if (first < 0xfb) return [first, pos + 1];
  if (first === 0xfc) {
    if (pos + 3 > end) fail(`truncated packed integer at body offset ${pos}`);
    return [buf.readUInt16LE(pos + 1), pos + 3];
  }
  if (first === 0xfd) {
    if (pos + 4 > end) fail(`truncated packed integer at body offset ${pos}`);
    return [buf.readUIntLE(pos + 1, 3), pos + 4];
  }
  if (first === 0xfe) {
    if (pos + 9 > end) fail(`truncated packed integer at body offset ${pos}`);
    const lo = buf.readUInt32LE(pos + 1);
    const hi = buf.readUInt32LE(pos + 5);
    if (hi > 0x1fffff) fail(`packed integer at body offset ${pos} exceeds 2^53`);
    return [hi * TWO_32 + lo, pos + 9];
  }
  return fail(`invalid packed integer prefix 0x${first.toString(16)} at body offset ${pos}`);
}

/** Standard base64 of buf[start, end) without copying. */
export function base64Of(buf: Buffer, start: number, end: number): string {
  return buf.toString("base64", start, end);
}

/** Lower-case hex of buf[start, end). */
export function hexOf(buf: Buffer, start: number, end: number): string {
  return buf.toString("hex", start, end);
}
