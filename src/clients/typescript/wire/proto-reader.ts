// A cursor over protobuf bytes, for the hand-written readers of the hot messages (row-reader.ts).
// It reads what protobuf-es's BinaryReader reads, with the same results for the field types
// those readers use, without allocating per field. Plain Uint8Array and TextDecoder, no Node
// Buffer: the client also runs in browsers.

const TWO_32 = 2 ** 32;

export class ProtoReader {
  pos: number;
  end: number;
  /** The high 32 bits of the last varint64() (unsigned), its low bits being what it returned. */
  #hi = 0;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    end: number,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** Moves the cursor to another part of the same buffer. */
  reset(start: number, end: number): void {
    this.pos = start;
    this.end = end;
  }

  /** A tag (field number << 3 | wire type), or a uint32 / length. */
  uint32(): number {
    const b = this.buf;
    let byte = b[this.pos++] as number;
    if (byte < 0x80) return byte;
    let x = byte & 0x7f;
    byte = b[this.pos++] as number;
    x |= (byte & 0x7f) << 7;
    if (byte < 0x80) return x;
    byte = b[this.pos++] as number;
    x |= (byte & 0x7f) << 14;
    if (byte < 0x80) return x;
    byte = b[this.pos++] as number;
    x |= (byte & 0x7f) << 21;
    if (byte < 0x80) return x;
    byte = b[this.pos++] as number;
    x |= (byte & 0x0f) << 28;
    // A varint's bits past 32 are dropped, as protobuf does for 32-bit fields (int32 written
    // as a 10-byte varint when negative).
    for (let i = 0; byte >= 0x80 && i < 5; i++) byte = b[this.pos++] as number;
    if (byte >= 0x80) throw new Error("invalid varint");
    this.#check();
    return x >>> 0;
  }

  /** An int32 or enum field. */
  int32(): number {
    return this.uint32() | 0;
  }

  /** A bool field: any non-zero varint is true. */
  bool(): boolean {
    return this.varint64() !== 0 || this.#hi !== 0;
  }

  /** An int64 field as a bigint (protobuf-es's default). */
  int64(): bigint {
    const lo = this.varint64();
    const hi = this.#hi;
    if (hi <= 0x1fffff) return BigInt(hi * TWO_32 + lo); // below 2^53: exact as a number
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** A varint's low 32 bits (unsigned); its high 32 bits in #hi. */
  varint64(): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let byte = 0;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      byte = b[this.pos++] as number;
      lo |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.#hi = 0;
        this.#check();
        return lo >>> 0;
      }
    }
    byte = b[this.pos++] as number;
    lo |= (byte & 0x0f) << 28;
    hi = (byte & 0x7f) >> 4;
    if (byte >= 0x80) {
      for (shift = 3; shift <= 31; shift += 7) {
        byte = b[this.pos++] as number;
        hi |= (byte & 0x7f) << shift;
        if (byte < 0x80) break;
      }
      if (byte >= 0x80) throw new Error("invalid varint");
    }
    this.#check();
    this.#hi = hi >>> 0;
    return lo >>> 0;
  }

  /** A length-delimited field's end; the cursor at its start. */
  len(): number {
    const n = this.uint32();
    const end = this.pos + n;
    if (end > this.end) throw new RangeError("premature end of message");
    return end;
  }

  /** A string field (UTF-8; invalid UTF-8 is an error, as to protobuf-es). */
  string(): string {
    const end = this.len();
    const start = this.pos;
    this.pos = end;
    return utf8(this.buf, start, end);
  }

  /** Steps over a field of the given wire type (its tag already read). */
  skip(wireType: number, fieldNo: number): void {
    switch (wireType) {
      case 0:
        this.varint64();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.len();
        break;
      case 3:
        // A group: fields up to its end tag.
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === 4) {
            if (tag >>> 3 !== fieldNo) throw new Error("invalid end group tag");
            break;
          }
          this.skip(tag & 7, tag >>> 3);
        }
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`cannot skip wire type ${wireType}`);
    }
    this.#check();
  }

  #check(): void {
    if (this.pos > this.end) throw new RangeError("premature end of message");
  }
}

/**
 * As protobuf-es reads a string field: a leading U+FEFF is text, not a byte order mark, and
 * invalid UTF-8 is an error (proto3 strings are validated), the decoder's TypeError.
 */
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * UTF-8 text of buf[start, end), as protobuf-es reads it. Very short ASCII strings (flags,
 * numbers, names) are made in JavaScript: a call into the decoder costs more for them.
 */
export function utf8(buf: Uint8Array, start: number, end: number): string {
  if (start === end) return "";
  if (end - start <= 8 && isAscii(buf, start, end)) return shortAscii(buf, start, end);
  return decoder.decode(buf.subarray(start, end));
}

/** Whether buf[start, end) is all ASCII. */
export function isAscii(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((b[i] as number) > 0x7f) return false;
  return true;
}

/**
 * The text of buf[start, end), at most 8 ASCII bytes (see isAscii). One String.fromCharCode
 * call with the bytes as its arguments: the string is made once (adding a character at a time
 * made a string per character).
 */
export function shortAscii(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  const c = String.fromCharCode;
  const s = start;
  switch (n) {
    case 0:
      return "";
    case 1:
      return c(b[s] as number);
    case 2:
      return c(b[s] as number, b[s + 1] as number);
    case 3:
      return c(b[s] as number, b[s + 1] as number, b[s + 2] as number);
    case 4:
      return c(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number);
    case 5:
      return c(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
      );
    case 6:
      // biome-ignore format: one call per length reads best on one line
      return c(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number, b[s + 5] as number);
    case 7:
      // biome-ignore format: one call per length reads best on one line
      return c(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number, b[s + 5] as number, b[s + 6] as number);
    default:
      // biome-ignore format: one call per length reads best on one line
      return c(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number, b[s + 5] as number, b[s + 6] as number, b[s + 7] as number);
  }
}

/** Whether buf[start, end) holds the same bytes as known. */
export function sameBytes(buf: Uint8Array, start: number, end: number, known: Uint8Array): boolean {
  if (known.length !== end - start) return false;
  for (let i = 0; i < known.length; i++) if (buf[start + i] !== known[i]) return false;
  return true;
}
