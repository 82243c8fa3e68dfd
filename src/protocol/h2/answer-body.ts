// An answer's body as its DATA frames bring it. One frame's payload is kept as it is (a view of
// the socket's chunk); from the second on, the pieces are copied into one buffer, of the size
// the answer's content-length gives when it has one, else grown by doubling.
//
// Why copy: a batch's answer is megabytes in 16 KiB frames. Keeping every payload until the
// answer ends held hundreds of views (and the 64 KiB socket chunks behind them) across many
// turns of the event loop: they were promoted and left to full GCs, which took about half of
// the gateway's CPU on JSON Get. Copied, the chunks die young; the copy is a memcpy.

const MIN_GROWN = 1 << 16;
/** The most set aside on a content-length's word; a larger body grows as it comes. */
const MAX_PRESIZED = 1 << 26;

export class AnswerBody {
  /** @param allocate gives the buffer the pieces are copied into. */
  constructor(private readonly allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)) {}

  /** The only piece so far, uncopied. */
  #first: Buffer | undefined;
  /** Once a second piece came: the bytes so far, in `#buffer[0, #length)`. */
  #buffer: Buffer | undefined;
  #length = 0;
  /** The body's size from its content-length, when it gave one. */
  #expected: number | undefined;

  /**
   * The size the answer's headers announce (content-length); `limit` caps what is set aside for
   * it, so that a header cannot make this allocate more than the caller accepts.
   */
  expect(contentLength: string | undefined, limit: number): void {
    if (contentLength === undefined || !/^\d{1,15}$/.test(contentLength)) return;
    this.#expected = Math.min(Number(contentLength), limit, MAX_PRESIZED);
  }

  add(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.#buffer === undefined) {
      const first = this.#first;
      if (first === undefined) {
        this.#first = piece;
        return;
      }
      this.#first = undefined;
      this.#buffer = this.allocate(this.#sizeFor(first.length + piece.length));
      this.#length = first.copy(this.#buffer, 0);
    }
    const need = this.#length + piece.length;
    if (need > this.#buffer.length) {
      const grown = this.allocate(Math.max(need, this.#buffer.length * 2));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    this.#length += piece.copy(this.#buffer, this.#length);
  }

  /** The body: no piece, its only piece, or one buffer. */
  parts(): Buffer[] {
    if (this.#buffer !== undefined) return [this.#buffer.subarray(0, this.#length)];
    return this.#first === undefined ? [] : [this.#first];
  }

  #sizeFor(need: number): number {
    const expected = this.#expected;
    if (expected !== undefined && expected >= need) return expected;
    return Math.max(need, MIN_GROWN);
  }
}
