// A protobuf wire writer for the hand-written encoders of this folder: one growable buffer,
// nested messages written in one pass with their length prefix reserved and fixed up when
// they end (as protobuf-es's BinaryWriter does), varints always minimal, so that the bytes
// equal protobuf-es's `toBinary` field for field.

export const WIRE_VARINT = 0;
export const WIRE_LEN = 2;

/** Bytes of the minimal varint of a non-negative number below 2^53. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  for (let v = Math.floor(n / 0x800000000); v > 0; v = Math.floor(v / 0x80)) size++;
  return size;
}

// Below this many UTF-16 units a string is copied by a JS loop; from it on, by Buffer's native
// UTF-8 writer, whose call costs about as much as the loop spends on 20 characters.
const SHORT_STRING = 24;

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** A non-negative integer below 2^53 as a varint (tags, lengths, uint32, positive int32/int64). */
  varint(n: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (n >= 0x80000000) {
      b[p++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    while (n >= 0x80) {
      b[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[p++] = n;
    this.pos = p;
  }

  /** An int32 or enum value: negatives take ten bytes (sign-extended to 64 bits), as protobuf's. */
  int32(n: number): void {
    if (n >= 0) this.varint(n);
    else this.int64(BigInt(n));
  }

  /** An int64 value (two's complement for negatives). */
  int64(n: bigint): void {
    if (n >= 0n && n <= 0x1fffffffffffffn) {
      this.varint(Number(n));
      return;
    }
    let v = BigInt.asUintN(64, n);
    this.ensure(10);
    const b = this.buf;
    while (v >= 0x80n) {
      b[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    b[this.pos++] = Number(v);
  }

  /** A tag whose varint is known: one or two bytes (`tag` < 2^14). */
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /**
   * A string's UTF-8 bytes with their length prefix. Lone surrogates become U+FFFD, as
   * TextEncoder (protobuf-es) and Buffer both do.
   */
  string(s: string): void {
    const len = s.length;
    this.ensure(5 + len * 3);
    const b = this.buf;
    if (len < SHORT_STRING) {
      // Short ASCII text (names, types, numbers) by a JS loop: a call into the runtime costs
      // more than copying these few characters (bench/delivery/codec).
      let p = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === len) {
        b[this.pos] = len;
        this.pos = p;
        return;
      }
    }
    // UTF-8 is at least as long as the UTF-16 length: reserve that prefix, widen if needed.
    const reserved = varintSize(len);
    const start = this.pos + reserved;
    const n = b.write(s, start, "utf8");
    this.#prefix(this.pos, reserved, n);
  }

  /** A few raw bytes (a cached encoding of fixed fields): by a JS loop, cheaper for these sizes than set(). */
  bytes(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = bytes[i] as number;
    this.pos = p;
  }

  /** Raw bytes, as they are. */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /**
   * Starts a length-delimited payload (a nested message), reserving `guess` bytes for its
   * length; returns where, for `join`.
   */
  fork(guess: number): number {
    this.ensure(guess);
    const at = this.pos;
    this.pos += guess;
    return at;
  }

  /**
   * Ends the payload begun by `fork(guess)` at `at`: writes its length, moving the payload when
   * the guess was off (the prefix is always the minimal varint).
   */
  join(at: number, guess: number): void {
    this.#prefix(at, guess, this.pos - at - guess);
  }

  /** Writes length `n` at `at`, where `reserved` bytes were left before the `n` bytes of payload. */
  #prefix(at: number, reserved: number, n: number): void {
    const size = varintSize(n);
    if (size !== reserved) {
      const start = at + reserved;
      this.pos = start + n;
      if (size > reserved) this.ensure(size - reserved);
      this.buf.copyWithin(at + size, start, start + n);
    }
    const b = this.buf;
    let p = at;
    let v = n;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p + n;
  }
}
