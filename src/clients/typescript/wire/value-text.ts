// The text of column values. Under Node a value is read through the entry's bytes as a Buffer
// (Buffer's utf8Slice, one call, no copy of the bytes), a short ASCII one in JavaScript (a call
// costs more for it; proto-reader.ts shortAscii): TextDecoder needed a subarray view per
// value, and the short values (ids, numbers) built in JavaScript a character at a time made an
// intermediate string per character; the two were most of the client's garbage (bench/delivery's
// TypeScript consumer spent about 30% of its CPU in the garbage collector; this halved the
// reader's time per row on the codec's batches). Buffer reads UTF-8 as TextDecoder does, a
// leading U+FEFF kept, except that it turns an invalid sequence into U+FFFD where protobuf-es
// refuses the message: a value with U+FFFD in it is read again by utf8(), which refuses it too
// (or gives the same text, when the U+FFFD was sent). Where there is no Buffer (a browser),
// every value goes to utf8().
import { isAscii, shortAscii, utf8 } from "./proto-reader.js";

const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
/** Buffer's own UTF-8 reader, without toString's argument handling (a fifth of a value's time). */
type Utf8Slice = (this: Buffer, start: number, end: number) => string;
const utf8Slice: Utf8Slice | undefined = (NodeBuffer?.prototype as { utf8Slice?: Utf8Slice } | undefined)
  ?.utf8Slice;

export class ValueText {
  #buf: Uint8Array = new Uint8Array(0);
  /** The entry's bytes as a Node Buffer (the same memory). */
  #nodeBuf: Buffer | undefined;

  /** The entry whose values come next. */
  entry(buf: Uint8Array): void {
    this.#buf = buf;
    this.#nodeBuf = NodeBuffer?.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** The text of the entry's bytes [start, end), as protobuf-es reads a string field. */
  value(start: number, end: number): string {
    if (start === end) return "";
    if (this.#nodeBuf === undefined) return utf8(this.#buf, start, end);
    if (end - start <= 8 && isAscii(this.#buf, start, end)) return shortAscii(this.#buf, start, end);
    const text =
      utf8Slice !== undefined
        ? utf8Slice.call(this.#nodeBuf, start, end)
        : this.#nodeBuf.toString("utf8", start, end);
    return text.includes("\ufffd") ? utf8(this.#buf, start, end) : text;
  }
}
