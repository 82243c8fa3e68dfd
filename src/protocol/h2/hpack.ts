// HPACK (RFC 7541) for the gateway's own HTTP/2 client (connection.ts). The encoder writes
// every field as a literal without indexing and without Huffman coding: requests carry a few
// short fields, and a stateless encoder can never fall out of step with the server. The
// decoder is complete (dynamic table, size updates, Huffman), since the server chooses how
// it encodes its answers.
import { HUFFMAN_BITS, HUFFMAN_CODES, STATIC_TABLE } from "./hpack-tables.js";

export class HpackError extends Error {
  override name = "HpackError";
}

/** Header name → the first static-table index with that name. */
const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
});

/** The encoded length of an integer with an N-bit prefix. */
function integerLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (let rest = value - max; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}

function writeInteger(out: Buffer, at: number, value: number, prefixBits: number, first: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[at++] = first | value;
    return at;
  }
  out[at++] = first | max;
  let rest = value - max;
  while (rest >= 128) {
    out[at++] = (rest % 128) | 128;
    rest = Math.floor(rest / 128);
  }
  out[at++] = rest;
  return at;
}

/**
 * One header block: every field a literal without indexing (names lower case, as HTTP/2
 * requires; values as latin1 bytes, so callers pass only visible ASCII).
 */
export function encodeHeaderBlock(fields: readonly (readonly [string, string])[]): Buffer {
  let size = 0;
  for (const [name, value] of fields) {
    const index = STATIC_NAME_INDEX.get(name);
    size += index === undefined ? 1 + integerLength(name.length, 7) + name.length : integerLength(index, 4);
    size += integerLength(value.length, 7) + value.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [name, value] of fields) {
    const index = STATIC_NAME_INDEX.get(name);
    if (index === undefined) {
      out[at++] = 0;
      at = writeInteger(out, at, name.length, 7, 0);
      at += out.write(name, at, "latin1");
    } else {
      at = writeInteger(out, at, index, 4, 0);
    }
    at = writeInteger(out, at, value.length, 7, 0);
    at += out.write(value, at, "latin1");
  }
  return out;
}

// The Huffman decoder walks a binary tree built once from the code table: node n's children
// are at CHILD[2n] (bit 0) and CHILD[2n + 1] (bit 1); a leaf holds -1 - symbol.
const CHILD = new Int32Array(2 * 512);
{
  let nodes = 1;
  for (let symbol = 0; symbol < 256; symbol++) {
    const code = HUFFMAN_CODES[symbol] as number;
    const bits = HUFFMAN_BITS[symbol] as number;
    let node = 0;
    for (let b = bits - 1; b > 0; b--) {
      const slot = 2 * node + ((code >>> b) & 1);
      if (CHILD[slot] === 0) CHILD[slot] = nodes++;
      node = CHILD[slot] as number;
    }
    CHILD[2 * node + (code & 1)] = -1 - symbol;
  }
}

function huffmanDecode(src: Buffer, start: number, end: number): string {
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 8) / 5));
  let length = 0;
  let node = 0;
  // Bits read since the last symbol, and whether they were all ones: the padding at the end
  // must be a prefix of EOS (ones) shorter than a byte.
  let pending = 0;
  let ones = true;
  for (let i = start; i < end; i++) {
    const byte = src[i] as number;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >>> b) & 1;
      pending++;
      if (bit === 0) ones = false;
      const next = CHILD[2 * node + bit] as number;
      if (next < 0) {
        out[length++] = -1 - next;
        node = 0;
        pending = 0;
        ones = true;
      } else if (next === 0) {
        throw new HpackError("invalid Huffman code (EOS or an unknown code)");
      } else {
        node = next;
      }
    }
  }
  if (pending > 7 || !ones) throw new HpackError("invalid Huffman padding");
  return out.toString("latin1", 0, length);
}

/** The decoding side of one connection: keeps the dynamic table the server's encoder fills. */
export class HpackDecoder {
  /** Newest last; dynamic index i (1-based) is entries[length - i]. */
  readonly #entries: [string, string][] = [];
  #size = 0;
  #maxSize: number;

  /** `limit`: the SETTINGS_HEADER_TABLE_SIZE this side announced. */
  constructor(readonly limit = 4096) {
    this.#maxSize = limit;
  }

  /** Decodes a whole header block into `into` (repeated names joined with ", "). */
  decode(block: Buffer, into: Record<string, string>): void {
    let at = 0;
    const end = block.length;
    const integer = (prefixBits: number): number => {
      if (at >= end) throw new HpackError("truncated integer");
      const max = (1 << prefixBits) - 1;
      let value = (block[at++] as number) & max;
      if (value < max) return value;
      let shift = 0;
      for (;;) {
        if (at >= end) throw new HpackError("truncated integer");
        const b = block[at++] as number;
        value += (b & 127) * 2 ** shift;
        shift += 7;
        if ((b & 128) === 0) return value;
        if (shift > 28) throw new HpackError("integer too large");
      }
    };
    const string = (): string => {
      if (at >= end) throw new HpackError("truncated string");
      const huffman = ((block[at] as number) & 128) !== 0;
      const length = integer(7);
      if (at + length > end) throw new HpackError("truncated string");
      const s = huffman ? huffmanDecode(block, at, at + length) : block.toString("latin1", at, at + length);
      at += length;
      return s;
    };
    let fieldSeen = false;
    while (at < end) {
      const first = block[at] as number;
      if (first & 128) {
        const [name, value] = this.#entry(integer(7));
        add(into, name, value);
      } else if (first & 64) {
        const index = integer(6);
        const name = index === 0 ? string() : (this.#entry(index)[0] as string);
        const value = string();
        add(into, name, value);
        this.#insert(name, value);
      } else if (first & 32) {
        if (fieldSeen) throw new HpackError("a table size update after a field");
        const size = integer(5);
        if (size > this.limit) throw new HpackError(`table size ${size} above the limit ${this.limit}`);
        this.#maxSize = size;
        this.#evict(0);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001): both 4-bit prefixes.
        const index = integer(4);
        const name = index === 0 ? string() : (this.#entry(index)[0] as string);
        add(into, name, string());
      }
      fieldSeen = true;
    }
  }

  #entry(index: number): readonly [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as [string, string];
    const e = this.#entries[this.#entries.length - (index - STATIC_TABLE.length)];
    if (index < 1 || !e) throw new HpackError(`header table index ${index} out of range`);
    return e;
  }

  #insert(name: string, value: string): void {
    const size = name.length + value.length + 32;
    this.#evict(size);
    if (size <= this.#maxSize) {
      this.#entries.push([name, value]);
      this.#size += size;
    }
  }

  /** Drops the oldest entries until `room` more bytes fit (all of them when it never will). */
  #evict(room: number): void {
    let drop = 0;
    while (drop < this.#entries.length && this.#size + room > this.#maxSize) {
      const [n, v] = this.#entries[drop] as [string, string];
      this.#size -= n.length + v.length + 32;
      drop++;
    }
    if (drop > 0) this.#entries.splice(0, drop);
  }
}

function add(into: Record<string, string>, name: string, value: string): void {
  const had = into[name];
  into[name] = had === undefined ? value : `${had}, ${value}`;
}
