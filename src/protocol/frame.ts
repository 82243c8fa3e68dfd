// The message envelope of gRPC, gRPC-Web and Connect streams (and of every gRPC request and
// answer): 1 byte of flags, the message's length as 4 bytes big-endian, then the message.
// Flags: 0x01 the message is compressed; 0x02 Connect's end-of-stream message (JSON: the
// error and trailers); 0x80 gRPC-Web's trailers (HTTP/1 header lines). Every frame sluice
// writes or reads is made and taken apart here.

/** Bytes before the message: flags and length. */
export const FRAME_HEADER_BYTES = 5;
export const FLAG_COMPRESSED = 0x01;
/** Connect streams: the last frame, a JSON end-of-stream message. */
export const FLAG_END_STREAM = 0x02;
/** gRPC-Web: the last frame, the trailers as HTTP/1 header lines. */
export const FLAG_TRAILER = 0x80;

/** One frame: `message` with its 5-byte header. */
export function encodeFrame(message: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
  frame[0] = flags;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * The message of a body that is exactly one uncompressed frame (a gRPC unary request or
 * answer, a server stream's request), or undefined when it is anything else.
 */
export function singleMessage(body: Buffer): Buffer | undefined {
  if (body.length < FRAME_HEADER_BYTES || body[0] !== 0) return undefined;
  if (body.readUInt32BE(1) !== body.length - FRAME_HEADER_BYTES) return undefined;
  return body.subarray(FRAME_HEADER_BYTES);
}

/** A frame read from a byte stream. */
export interface Frame {
  flags: number;
  message: Buffer;
}

/**
 * Reads frames from a stream's chunks as they come: `push` a chunk, then take whole frames
 * with `next()` until it returns undefined. Keeps only the bytes of the frame not yet whole.
 */
export class FrameReader {
  #buffered: Buffer = Buffer.alloc(0);

  /** Bytes read that are not yet part of a whole frame. */
  get pending(): number {
    return this.#buffered.length;
  }

  push(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
  }

  /** The next whole frame, or undefined until more bytes come. */
  next(): Frame | undefined {
    const b = this.#buffered;
    if (b.length < FRAME_HEADER_BYTES) return undefined;
    const end = FRAME_HEADER_BYTES + b.readUInt32BE(1);
    if (b.length < end) return undefined;
    this.#buffered = b.subarray(end);
    return { flags: b[0] as number, message: b.subarray(FRAME_HEADER_BYTES, end) };
  }

  /** What follows the frames taken so far (taking it empties the reader). */
  rest(): Buffer {
    const b = this.#buffered;
    this.#buffered = Buffer.alloc(0);
    return b;
  }
}

/**
 * Frames from a stream whose frames may be far larger than its chunks (a batch of megabytes
 * comes in HTTP/2 DATA frames of 16 KB), as WholeFrames cuts them: a frame inside one chunk is
 * a view of it, a frame cut across chunks a copy made as its pieces come. (FrameReader joins
 * what it holds with every chunk; connect-es's envelope reader sums the held chunks' lengths at
 * every chunk and then copies them into a new, zeroed, array.)
 */
export class ChunkedFrameReader {
  readonly #whole = new WholeFrames();

  /** Bytes read that are not yet part of a whole frame. */
  get pending(): number {
    return this.#whole.pending;
  }

  /** The frames the chunk completes, in order. */
  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    for (const bytes of this.#whole.push(chunk)) {
      for (let at = 0; at < bytes.length; ) {
        const end = at + FRAME_HEADER_BYTES + bytes.readUInt32BE(at + 1);
        out.push({ flags: bytes[at] as number, message: bytes.subarray(at + FRAME_HEADER_BYTES, end) });
        at = end;
      }
    }
    return out;
  }
}

/** Every whole frame of `body`, in order; throws when it ends inside a frame. */
export function splitFrames(body: Buffer): Frame[] {
  const reader = new FrameReader();
  reader.push(body);
  const out: Frame[] = [];
  for (let f = reader.next(); f !== undefined; f = reader.next()) out.push(f);
  if (reader.pending > 0) throw new Error(`a frame is cut short: ${reader.pending} bytes left over`);
  return out;
}

/**
 * Passes a stream's chunks on in whole frames: `push` a chunk, get back bytes that end at frame
 * ends. A run of frames inside one chunk goes on as a view of it; a frame cut across chunks is
 * copied, as its pieces come, into one buffer of its size (its header says it), which goes on
 * once full. So a relay can end a stream with a frame of its own (Connect's end-of-stream
 * message) or with trailers at any moment without cutting a message in two.
 *
 * Why copy: holding the chunks of a large message until it is whole (a batch is megabytes, a
 * chunk 16 KiB) kept hundreds of them alive across many turns of the event loop, so they were
 * promoted and collected by full GCs: 1.2 µs per row relayed, most of the gateway's CPU. A copy
 * costs a memcpy; the chunks die young.
 */
export class WholeFrames {
  /**
   * @param maxMessageBytes the largest message passed on: a larger one throws FrameTooLarge.
   * @param presizedBytes the most set aside for a frame before its bytes come.
   * @param allocate gives the buffers frames cut across chunks are copied into.
   */
  constructor(
    private readonly maxMessageBytes = Number.POSITIVE_INFINITY,
    private readonly presizedBytes = PRESIZED_FRAME_BYTES,
    private readonly allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size),
  ) {}

  /** The frame being completed: `#filled` bytes of its `#size` so far, in `#partial`. */
  #partial: Buffer | undefined;
  #filled = 0;
  #size = 0;
  /** The first bytes of a frame whose header is not yet whole (fewer than a header's). */
  #head: Buffer | undefined;

  /** Bytes pushed that are not yet part of a whole frame. */
  get pending(): number {
    return this.#partial !== undefined ? this.#filled : (this.#head?.length ?? 0);
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let at = 0;
    if (this.#head !== undefined) {
      const head = this.#head;
      const need = FRAME_HEADER_BYTES - head.length;
      if (chunk.length < need) {
        this.#head = Buffer.concat([head, chunk]);
        return out;
      }
      this.#head = undefined;
      this.#begin(Buffer.concat([head, chunk.subarray(0, need)]), 0, FRAME_HEADER_BYTES);
      at = need;
    }
    if (this.#partial !== undefined) {
      at += this.#fill(chunk, at);
      if (this.#filled < this.#size) return out;
      out.push(this.#partial.length === this.#size ? this.#partial : this.#partial.subarray(0, this.#size));
      this.#partial = undefined;
    }
    // The whole frames that follow, as one view of the chunk.
    let end = at;
    while (chunk.length - end >= FRAME_HEADER_BYTES) {
      const next = end + this.#frameSize(chunk, end);
      if (next > chunk.length) break;
      end = next;
    }
    if (end > at) out.push(at === 0 && end === chunk.length ? chunk : chunk.subarray(at, end));
    if (end === chunk.length) return out;
    if (chunk.length - end < FRAME_HEADER_BYTES) this.#head = Buffer.from(chunk.subarray(end));
    else this.#begin(chunk, end, chunk.length - end);
    return out;
  }

  /** A frame cut short: its first `n` bytes are at `at` of `b` (its header whole). */
  #begin(b: Buffer, at: number, n: number): void {
    this.#size = this.#frameSize(b, at);
    // Set aside what the header announces, up to a bound: a frame claiming gigabytes grows as
    // its bytes really come.
    this.#partial = this.allocate(Math.min(this.#size, Math.max(n, this.presizedBytes)));
    this.#filled = b.copy(this.#partial, 0, at, at + n);
  }

  /** Copies what `chunk` has of the frame being completed from `at`; how many bytes it took. */
  #fill(chunk: Buffer, at: number): number {
    const n = Math.min(this.#size - this.#filled, chunk.length - at);
    let partial = this.#partial as Buffer;
    if (this.#filled + n > partial.length) {
      const grown = this.allocate(Math.min(this.#size, Math.max(this.#filled + n, partial.length * 2)));
      partial.copy(grown, 0, 0, this.#filled);
      partial = grown;
      this.#partial = grown;
    }
    chunk.copy(partial, this.#filled, at, at + n);
    this.#filled += n;
    return n;
  }

  /** The size, header included, of the frame whose header is at `at` of `b`. */
  #frameSize(b: Buffer, at: number): number {
    const length = b.readUInt32BE(at + 1);
    if (length > this.maxMessageBytes) throw new FrameTooLarge(length, this.maxMessageBytes);
    return FRAME_HEADER_BYTES + length;
  }
}

/** The most WholeFrames sets aside for a frame before its bytes come. */
const PRESIZED_FRAME_BYTES = 64 << 20;

/** A frame's message is larger than the reader takes. */
export class FrameTooLarge extends Error {
  override name = "FrameTooLarge";
  constructor(
    readonly length: number,
    readonly maxBytes: number,
  ) {
    super(`a message of ${length} bytes, larger than the limit of ${maxBytes}`);
  }
}
