// Buffers the relay assembles large messages in (a stream's frame cut across chunks, a unary
// answer that came in several DATA frames), used again once what they held has been written.
//
// Why: a batch is megabytes, and a buffer that size fresh from the system (glibc maps it on
// its own) has every page faulted in on its first write and unmapped when V8 collects it.
// Relaying 500k rows (300 MB of batches) that was 104k page faults and 0.6 s of kernel time,
// 40% of the gateway's CPU (bench/delivery, process.resourceUsage()).
//
// A buffer is given back only when the write that took it reported success: the callback of
// a Node.js write runs once the socket write of those bytes has completed (HTTP/1.1 and
// HTTP/2 alike), so nothing reads them any more. A write that failed, or never called back,
// leaves its buffer to the garbage collector: reusing memory something may still read would
// send one consumer another batch's bytes, so every doubt keeps a buffer out of the pool.

/** The most bytes of free buffers a gateway keeps for the next frames. */
export const KEPT_FRAME_BYTES = 32 << 20;

/** Frames under this size are left to Node's allocator (its pool, or malloc's heap). */
const MIN_POOLED_BYTES = 128 * 1024;

export class FrameBuffers {
  /** Buffers free to take, with the bytes they hold. */
  #free: ArrayBuffer[] = [];
  #freeBytes = 0;
  /** Buffers taken and not yet given back: only these may be. */
  readonly #lent = new WeakSet<ArrayBuffer>();

  /** @param keepBytes the most bytes kept free for later frames. */
  constructor(readonly keepBytes: number) {}

  /** Bytes kept free now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A buffer of `size` bytes (a view of a larger one when a free one fits). */
  readonly take = (size: number): Buffer => {
    if (size < MIN_POOLED_BYTES) return Buffer.allocUnsafe(size);
    let found = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const room = (this.#free[i] as ArrayBuffer).byteLength;
      // Not more than twice the size: a small frame does not pin a batch-sized buffer.
      if (room < size || room > 2 * size) continue;
      if (found < 0 || room < (this.#free[found] as ArrayBuffer).byteLength) found = i;
    }
    let memory: ArrayBuffer;
    if (found >= 0) {
      memory = this.#free[found] as ArrayBuffer;
      this.#free.splice(found, 1);
      this.#freeBytes -= memory.byteLength;
    } else {
      // Not zero-filled (new ArrayBuffer would be): every byte lent is written before it is read.
      memory = Buffer.allocUnsafeSlow(roundUp(size)).buffer as ArrayBuffer;
    }
    this.#lent.add(memory);
    return Buffer.from(memory, 0, size);
  };

  /**
   * The bytes of `view` will not be read again: its buffer may be taken again, if it is one
   * this pool lent. Anything else (a view of a chunk as it came) is ignored.
   */
  give(view: Uint8Array): void {
    const memory = view.buffer;
    if (!(memory instanceof ArrayBuffer) || !this.#lent.has(memory)) return;
    this.#lent.delete(memory);
    if (this.#freeBytes + memory.byteLength > this.keepBytes) return;
    this.#free.push(memory);
    this.#freeBytes += memory.byteLength;
  }
}

/** Room for `size` rounded up to an eighth of its power of two: batches vary a little in size. */
function roundUp(size: number): number {
  const step = 2 ** Math.floor(Math.log2(size)) / 8;
  return Math.ceil(size / step) * step;
}
