// A small HTTP/2 client connection (RFC 9113) for the gateway's unary relay: one request with
// a whole body, one answer collected whole. Written here instead of using node:http2's client
// because of its garbage, measured: node:http2 keeps about 6 KB of every request (stream
// objects, async resources, event emitters) alive past one or two scavenges, so under load
// every scavenge promotes megabytes and pauses 6-10 ms, which by itself is more than the
// gateway's latency budget (docs/benchmarks.md, "The floor under any node:http2 gateway").
// Here a call costs a promise, a small record and its buffers. It stays only while that pays:
// `node dist/bench/gateway/floor.js` (a relay on node:http2 against the same relay on this
// client, 10,000 sequential calls per round) measured again on 2026-12-07, two rounds on the
// shared 2-vCPU machine: CPU per call 0.195 / 0.213 ms against 0.284 / 0.332 ms, added p99
// 3.0 / 0.56 ms against 4.9 / 4.1 ms, added p50 0.19 / 0.20 ms against 0.27 / 0.29 ms.
//
// What it does: the preface and SETTINGS exchange, HEADERS/CONTINUATION with HPACK
// (hpack.ts), DATA with flow control both ways, RST_STREAM, PING (answered, and sent while
// idle to notice a dead peer), GOAWAY (streams the server never processed fail as such, so
// callers may retry them), SETTINGS_MAX_CONCURRENT_STREAMS (requests wait their turn).
// What it leaves out: server push (disabled in SETTINGS), priorities, request bodies that
// stream, TLS (the gateway reaches servers over h2c).
import type { Socket } from "node:net";
import type { CancelSignal } from "../call-cancel.js";
import { AnswerBody } from "./answer-body.js";
import { encodeHeaderBlock, HpackDecoder } from "./hpack.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

const NO_ERROR = 0x0;
const PROTOCOL_ERROR = 0x1;
const FLOW_CONTROL_ERROR = 0x3;
const FRAME_SIZE_ERROR = 0x6;
const REFUSED_STREAM = 0x7;
const CANCEL = 0x8;

/** The frame size this side accepts (the protocol's default; not raised in SETTINGS). */
const MAX_FRAME = 16_384;
/** Receive windows: large, since every answer is read whole as soon as it arrives. */
const STREAM_WINDOW = 1 << 24;
const CONNECTION_WINDOW = 1 << 30;
const MAX_STREAM_ID = 2 ** 31 - 1;

export interface H2Answer {
  /** Response headers, pseudo-headers included (`:status`). */
  headers: Record<string, string>;
  body: Buffer[];
  trailers: Record<string, string>;
}

/**
 * A request that failed: `notProcessed` when the server is known not to have acted on it (so
 * it may be sent again), `tooLarge` when the answer passed the caller's limit.
 */
export class H2RequestError extends Error {
  override name = "H2RequestError";
  constructor(
    message: string,
    readonly notProcessed: boolean,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

export interface H2ConnectionOptions {
  /** Ping after this long without a frame from the server, while calls are open. */
  pingIdleMs?: number;
  /** Close the connection when no frame arrives this long after a ping. */
  pingTimeoutMs?: number;
  /** Close the connection after this long without a call. */
  idleCloseMs?: number;
  /** Give up when the server has not sent its SETTINGS this long after the connection began. */
  handshakeTimeoutMs?: number;
  /** Gives the buffers an answer that came in several DATA frames is copied into. */
  allocate?: (size: number) => Buffer;
}

interface Stream {
  readonly id: number;
  readonly answer: H2Answer;
  /** The answer's body as it comes; into `answer.body` when it ends. */
  readonly body: AnswerBody;
  readonly maxAnswerBytes: number;
  answerBytes: number;
  gotHeaders: boolean;
  /** Bytes of the body still to send (flow control held them back), or null once sent. */
  unsent: Buffer | null;
  sendWindow: number;
  recvUnacked: number;
  resolve(answer: H2Answer): void;
  reject(err: Error): void;
  signal: CancelSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Waiting {
  fields: readonly (readonly [string, string])[];
  body: Buffer;
  maxAnswerBytes: number;
  signal: CancelSignal | undefined;
  resolve(answer: H2Answer): void;
  reject(err: Error): void;
}

export class H2Connection {
  readonly #socket: Socket;
  readonly #allocate: ((size: number) => Buffer) | undefined;
  readonly #decoder = new HpackDecoder();
  readonly #streams = new Map<number, Stream>();
  readonly #waiting: Waiting[] = [];
  /** Streams whose body waits for window. */
  readonly #blocked: Stream[] = [];
  readonly #onClose: (() => void)[] = [];
  #nextId = 1;
  #peerInitialWindow = 65_535;
  #peerMaxFrame = 16_384;
  #peerMaxStreams = Number.POSITIVE_INFINITY;
  #sendWindow = 65_535;
  #recvUnacked = 0;
  /** Bytes read but not yet a whole frame. */
  #pending: Buffer | null = null;
  /** A header block spread over HEADERS + CONTINUATION frames: its stream, flags, fragments. */
  #block: { id: number; flags: number; parts: Buffer[] } | null = null;
  #settled = false;
  #goneAway = false;
  #closed = false;
  #closeReason = "";
  #lastReadAt = performance.now();
  #lastCallAt = performance.now();
  #pingSentAt = 0;
  readonly #timer: NodeJS.Timeout;
  readonly #ready: Promise<void>;
  readonly #onReady: () => void;

  constructor(socket: Socket, options: H2ConnectionOptions = {}) {
    const pingIdleMs = options.pingIdleMs ?? 10_000;
    const pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
    const idleCloseMs = options.idleCloseMs ?? 60_000;
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5_000;
    const began = performance.now();
    this.#socket = socket;
    this.#allocate = options.allocate;
    let ready!: () => void;
    let fail!: (err: Error) => void;
    this.#ready = new Promise<void>((resolve, reject) => {
      ready = resolve;
      fail = reject;
    });
    this.#ready.catch(() => {});
    this.#onReady = ready;
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", (err) => this.#destroy(`the connection failed: ${err.message}`));
    socket.on("close", () => {
      this.#destroy("the server closed the connection");
      fail(new Error(this.#closeReason));
    });
    const settings = Buffer.alloc(9 + 12);
    writeFrameHeader(settings, 0, 12, SETTINGS, 0, 0);
    settings.writeUInt16BE(0x2, 9); // ENABLE_PUSH
    settings.writeUInt32BE(0, 11);
    settings.writeUInt16BE(0x4, 15); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(STREAM_WINDOW, 17);
    const update = Buffer.alloc(13);
    writeFrameHeader(update, 0, 4, WINDOW_UPDATE, 0, 0);
    update.writeUInt32BE(CONNECTION_WINDOW - 65_535, 9);
    socket.write(Buffer.concat([PREFACE, settings, update]));
    this.#timer = setInterval(
      () => {
        const now = performance.now();
        if (!this.#settled && now - began > handshakeTimeoutMs) {
          this.#destroy(`the server did not start HTTP/2 (no SETTINGS) within ${handshakeTimeoutMs} ms`);
        } else if (this.#pingSentAt > 0 && now - this.#pingSentAt > pingTimeoutMs) {
          this.#destroy(`the server did not answer a ping within ${pingTimeoutMs} ms`);
        } else if (
          this.#streams.size === 0 &&
          this.#waiting.length === 0 &&
          now - this.#lastCallAt > idleCloseMs
        ) {
          this.close();
        } else if (this.#pingSentAt === 0 && this.#streams.size > 0 && now - this.#lastReadAt > pingIdleMs) {
          this.#pingSentAt = now;
          const ping = Buffer.alloc(17);
          writeFrameHeader(ping, 0, 8, PING, 0, 0);
          this.#socket.write(ping);
        }
      },
      Math.max(100, Math.min(pingIdleMs, pingTimeoutMs, handshakeTimeoutMs) / 2),
    );
    this.#timer.unref();
  }

  /** Resolves once the server's SETTINGS arrived (it speaks HTTP/2); rejects if it never will. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** False once the connection closed or the server announced it will (GOAWAY). */
  get usable(): boolean {
    return !this.#closed && !this.#goneAway && this.#nextId <= MAX_STREAM_ID;
  }

  /** Runs once when the connection is closed. */
  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.push(fn);
  }

  /**
   * One request: `fields` are the request's header fields, pseudo-headers first; `body` is sent
   * whole. Resolves with the whole answer once the server ended its stream; rejects with
   * H2RequestError, or with the signal's reason when it aborts (the stream is cancelled).
   */
  request(
    fields: readonly (readonly [string, string])[],
    body: Buffer,
    signal?: CancelSignal,
    maxAnswerBytes = Number.POSITIVE_INFINITY,
  ): Promise<H2Answer> {
    return new Promise<H2Answer>((resolve, reject) => {
      if (!this.usable) {
        reject(new H2RequestError(this.#closeReason || "the connection is closing", true));
        return;
      }
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      this.#lastCallAt = performance.now();
      const w: Waiting = { fields, body, maxAnswerBytes, signal, resolve, reject };
      if (this.#streams.size >= this.#peerMaxStreams) this.#waiting.push(w);
      else this.#start(w);
    });
  }

  /** Closes after the open calls end (GOAWAY to the server; waiting calls fail as not processed). */
  close(): void {
    if (this.#closed) return;
    if (!this.#goneAway) {
      this.#goneAway = true;
      this.#closeReason = "the connection was closed by the gateway";
      const f = Buffer.alloc(17);
      writeFrameHeader(f, 0, 8, GOAWAY, 0, 0);
      f.writeUInt32BE(0, 9);
      f.writeUInt32BE(NO_ERROR, 13);
      this.#socket.write(f);
    }
    for (const w of this.#waiting.splice(0)) w.reject(new H2RequestError(this.#closeReason, true));
    if (this.#streams.size === 0) this.#destroy(this.#closeReason);
  }

  /** Closes at once; open calls fail. */
  destroy(reason = "the connection was closed by the gateway"): void {
    this.#destroy(reason);
  }

  #start(w: Waiting): void {
    if (w.signal?.aborted) {
      w.reject(w.signal.reason as Error);
      return;
    }
    const id = this.#nextId;
    this.#nextId += 2;
    const stream: Stream = {
      id,
      answer: { headers: {}, body: [], trailers: {} },
      body: new AnswerBody(this.#allocate),
      maxAnswerBytes: w.maxAnswerBytes,
      answerBytes: 0,
      gotHeaders: false,
      unsent: null,
      sendWindow: this.#peerInitialWindow,
      recvUnacked: 0,
      resolve: w.resolve,
      reject: w.reject,
      signal: w.signal,
      onAbort: undefined,
    };
    this.#streams.set(id, stream);
    if (w.signal) {
      const signal = w.signal;
      stream.onAbort = () => this.#cancel(stream, signal.reason);
      signal.addEventListener("abort", stream.onAbort, { once: true });
    }
    const block = encodeHeaderBlock(w.fields);
    const empty = w.body.length === 0;
    // HEADERS (+ CONTINUATION when the block is larger than a frame), then as much of the body
    // as the windows allow, in one write.
    const parts: Buffer[] = [];
    for (let at = 0, first = true; first || at < block.length; first = false) {
      const n = Math.min(this.#peerMaxFrame, block.length - at);
      const last = at + n >= block.length;
      const h = Buffer.allocUnsafe(9);
      const flags = (last ? END_HEADERS : 0) | (first && empty ? END_STREAM : 0);
      writeFrameHeader(h, 0, n, first ? HEADERS : CONTINUATION, flags, id);
      parts.push(h, block.subarray(at, at + n));
      at += n;
    }
    if (!empty) {
      stream.unsent = w.body;
      this.#sendBody(stream, parts);
    }
    this.#socket.write(Buffer.concat(parts));
  }

  /** Appends DATA frames for what the windows allow of the stream's unsent body. */
  #sendBody(stream: Stream, parts: Buffer[]): void {
    let body = stream.unsent;
    while (body !== null) {
      // A window can be below zero after the server lowers its initial window size.
      const n = Math.min(body.length, this.#sendWindow, stream.sendWindow, this.#peerMaxFrame);
      if (n <= 0) break;
      const last = n === body.length;
      const h = Buffer.allocUnsafe(9);
      writeFrameHeader(h, 0, n, DATA, last ? END_STREAM : 0, stream.id);
      parts.push(h, body.subarray(0, n));
      this.#sendWindow -= n;
      stream.sendWindow -= n;
      body = last ? null : body.subarray(n);
    }
    stream.unsent = body;
    if (body !== null && !this.#blocked.includes(stream)) this.#blocked.push(stream);
  }

  #flushBlocked(): void {
    if (this.#blocked.length === 0) return;
    const parts: Buffer[] = [];
    for (const s of this.#blocked.splice(0)) {
      if (this.#streams.get(s.id) === s && s.unsent !== null) this.#sendBody(s, parts);
    }
    if (parts.length > 0) this.#socket.write(Buffer.concat(parts));
  }

  #cancel(stream: Stream, reason: unknown): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#end(stream);
    this.#rst(stream.id, CANCEL);
    stream.reject(reason instanceof Error ? reason : new Error(String(reason)));
  }

  #rst(id: number, code: number): void {
    if (this.#closed) return;
    const f = Buffer.allocUnsafe(13);
    writeFrameHeader(f, 0, 4, RST_STREAM, 0, id);
    f.writeUInt32BE(code, 9);
    this.#socket.write(f);
  }

  /** Forgets a stream and lets a waiting request start. */
  #end(stream: Stream): void {
    this.#streams.delete(stream.id);
    if (stream.onAbort) stream.signal?.removeEventListener("abort", stream.onAbort);
    this.#lastCallAt = performance.now();
    const next = this.#waiting.shift();
    if (next) this.#start(next);
    else if (this.#goneAway && this.#streams.size === 0) this.#destroy(this.#closeReason);
  }

  #finish(stream: Stream): void {
    if (this.#streams.get(stream.id) !== stream) return;
    // The server answered before the whole request was sent: the rest is not wanted.
    if (stream.unsent !== null) this.#rst(stream.id, NO_ERROR);
    this.#end(stream);
    stream.answer.body = stream.body.parts();
    stream.resolve(stream.answer);
  }

  #fail(stream: Stream, err: H2RequestError): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#end(stream);
    stream.reject(err);
  }

  #read(chunk: Buffer): void {
    this.#lastReadAt = performance.now();
    this.#pingSentAt = 0;
    let buf = chunk;
    let at = 0;
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      if (pending.length < 9) {
        buf = Buffer.concat([pending, chunk]);
      } else {
        // Complete the pending frame with the start of the chunk, and read the rest of the
        // chunk where it is: copying the whole chunk behind the partial frame copied every
        // byte of a large answer once more.
        const missing = 9 + pending.readUIntBE(0, 3) - pending.length;
        if (chunk.length < missing) {
          this.#pending = Buffer.concat([pending, chunk]);
          return;
        }
        const frame = Buffer.concat([pending, chunk.subarray(0, missing)]);
        this.#frame(
          frame[3] as number,
          frame[4] as number,
          frame.readUInt32BE(5) & 0x7fffffff,
          frame.subarray(9),
        );
        at = missing;
      }
    }
    while (!this.#closed && buf.length - at >= 9) {
      const length = buf.readUIntBE(at, 3);
      if (length > MAX_FRAME) {
        this.#connectionError(FRAME_SIZE_ERROR, `a frame of ${length} bytes, above ${MAX_FRAME}`);
        return;
      }
      if (buf.length - at < 9 + length) break;
      const type = buf[at + 3] as number;
      const flags = buf[at + 4] as number;
      const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
      const payload = buf.subarray(at + 9, at + 9 + length);
      at += 9 + length;
      this.#frame(type, flags, id, payload);
    }
    if (at < buf.length && !this.#closed) {
      buf = buf.subarray(at);
      // Keep a copy of a partial frame only (not the whole chunk it came in).
      this.#pending = Buffer.from(buf);
    }
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.#block !== null && type !== CONTINUATION) {
      this.#connectionError(PROTOCOL_ERROR, "a header block was interrupted");
      return;
    }
    switch (type) {
      case DATA:
        this.#data(flags, id, payload);
        return;
      case HEADERS: {
        let p = flags & PADDED ? unpad(payload) : payload;
        if (p === BAD_PADDING) {
          this.#connectionError(PROTOCOL_ERROR, "bad padding");
          return;
        }
        if (flags & PRIORITY) p = p.subarray(5);
        if (flags & END_HEADERS) {
          this.#headers(id, flags, p);
          return;
        }
        this.#block = { id, flags, parts: [Buffer.from(p)] };
        return;
      }
      case CONTINUATION: {
        const block = this.#block;
        if (block === null || block.id !== id) {
          this.#connectionError(PROTOCOL_ERROR, "an unexpected CONTINUATION frame");
          return;
        }
        block.parts.push(Buffer.from(payload));
        if (flags & END_HEADERS) {
          this.#block = null;
          this.#headers(id, block.flags, Buffer.concat(block.parts));
        }
        return;
      }
      case RST_STREAM: {
        const stream = this.#streams.get(id);
        if (!stream || payload.length !== 4) return;
        const code = payload.readUInt32BE(0);
        this.#fail(
          stream,
          new H2RequestError(`the server reset the call (HTTP/2 error ${code})`, code === REFUSED_STREAM),
        );
        return;
      }
      case SETTINGS:
        this.#settings(flags, payload);
        return;
      case PING: {
        if (flags & ACK || payload.length !== 8) return;
        const f = Buffer.allocUnsafe(17);
        writeFrameHeader(f, 0, 8, PING, ACK, 0);
        payload.copy(f, 9);
        this.#socket.write(f);
        return;
      }
      case GOAWAY:
        this.#goAway(payload);
        return;
      case WINDOW_UPDATE: {
        if (payload.length !== 4) return;
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) {
          this.#sendWindow += increment;
          if (this.#sendWindow > MAX_STREAM_ID) {
            this.#connectionError(FLOW_CONTROL_ERROR, "the send window overflowed");
            return;
          }
        } else {
          const stream = this.#streams.get(id);
          if (stream) stream.sendWindow += increment;
        }
        this.#flushBlocked();
        return;
      }
      case PUSH_PROMISE:
        this.#connectionError(PROTOCOL_ERROR, "a push promise, though push is disabled");
        return;
      default:
        // PRIORITY and unknown frame types: nothing to do.
        return;
    }
  }

  #data(flags: number, id: number, payload: Buffer): void {
    // Flow control counts the whole frame, padding included, even for streams already gone.
    this.#recvUnacked += payload.length;
    if (this.#recvUnacked >= CONNECTION_WINDOW / 2) {
      this.#windowUpdate(0, this.#recvUnacked);
      this.#recvUnacked = 0;
    }
    const stream = this.#streams.get(id);
    if (!stream) return;
    const body = flags & PADDED ? unpad(payload) : payload;
    if (body === BAD_PADDING) {
      this.#connectionError(PROTOCOL_ERROR, "bad padding");
      return;
    }
    if (!stream.gotHeaders) {
      this.#rst(id, PROTOCOL_ERROR);
      this.#fail(stream, new H2RequestError("the server sent data before headers", false));
      return;
    }
    stream.answerBytes += body.length;
    if (stream.answerBytes > stream.maxAnswerBytes) {
      this.#rst(id, CANCEL);
      this.#fail(
        stream,
        new H2RequestError(`the answer is larger than ${stream.maxAnswerBytes} bytes`, false, true),
      );
      return;
    }
    stream.body.add(body);
    stream.recvUnacked += payload.length;
    if (flags & END_STREAM) {
      this.#finish(stream);
      return;
    }
    if (stream.recvUnacked >= STREAM_WINDOW / 2) {
      this.#windowUpdate(id, stream.recvUnacked);
      stream.recvUnacked = 0;
    }
  }

  #headers(id: number, flags: number, block: Buffer): void {
    const stream = this.#streams.get(id);
    // Every block is decoded, even for a stream already given up, to keep the table in step.
    const fields: Record<string, string> = {};
    try {
      this.#decoder.decode(block, fields);
    } catch (err) {
      this.#connectionError(PROTOCOL_ERROR, `bad header block: ${(err as Error).message}`);
      return;
    }
    if (!stream) return;
    if (!stream.gotHeaders) {
      const status = fields[":status"];
      // 1xx answers are informational; the real one follows.
      if (status !== undefined && status.length === 3 && status[0] === "1") return;
      stream.gotHeaders = true;
      Object.assign(stream.answer.headers, fields);
      stream.body.expect(fields["content-length"], stream.maxAnswerBytes);
    } else {
      Object.assign(stream.answer.trailers, fields);
    }
    if (flags & END_STREAM) this.#finish(stream);
  }

  #settings(flags: number, payload: Buffer): void {
    if (flags & ACK) return;
    if (payload.length % 6 !== 0) {
      this.#connectionError(FRAME_SIZE_ERROR, "bad SETTINGS length");
      return;
    }
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (key === 0x3) {
        this.#peerMaxStreams = value;
      } else if (key === 0x4) {
        if (value > MAX_STREAM_ID) {
          this.#connectionError(FLOW_CONTROL_ERROR, "bad initial window");
          return;
        }
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const s of this.#streams.values()) s.sendWindow += delta;
      } else if (key === 0x5) {
        this.#peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE only bounds an encoder's dynamic table; ours uses none.
    }
    const ack = Buffer.allocUnsafe(9);
    writeFrameHeader(ack, 0, 0, SETTINGS, ACK, 0);
    this.#socket.write(ack);
    if (!this.#settled) {
      this.#settled = true;
      this.#onReady();
    }
    this.#flushBlocked();
    while (this.#waiting.length > 0 && this.#streams.size < this.#peerMaxStreams) {
      this.#start(this.#waiting.shift() as Waiting);
    }
  }

  #goAway(payload: Buffer): void {
    if (payload.length < 8) {
      this.#connectionError(FRAME_SIZE_ERROR, "bad GOAWAY length");
      return;
    }
    const last = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    const debug = payload.subarray(8).toString("utf8");
    this.#goneAway = true;
    this.#closeReason = `the server is closing the connection (HTTP/2 GOAWAY, error ${code}${debug ? `: ${debug}` : ""})`;
    for (const w of this.#waiting.splice(0)) w.reject(new H2RequestError(this.#closeReason, true));
    for (const s of [...this.#streams.values()]) {
      if (s.id > last) this.#fail(s, new H2RequestError(this.#closeReason, true));
    }
    if (this.#streams.size === 0) this.#destroy(this.#closeReason);
  }

  #windowUpdate(id: number, increment: number): void {
    const f = Buffer.allocUnsafe(13);
    writeFrameHeader(f, 0, 4, WINDOW_UPDATE, 0, id);
    f.writeUInt32BE(increment, 9);
    this.#socket.write(f);
  }

  #connectionError(code: number, message: string): void {
    if (this.#closed) return;
    const f = Buffer.alloc(17);
    writeFrameHeader(f, 0, 8, GOAWAY, 0, 0);
    f.writeUInt32BE(0, 9);
    f.writeUInt32BE(code, 13);
    this.#socket.write(f);
    this.#destroy(`HTTP/2 protocol error with the server: ${message}`);
  }

  #destroy(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#closeReason || !this.#goneAway) this.#closeReason = reason;
    clearInterval(this.#timer);
    this.#socket.destroy();
    this.#pending = null;
    this.#block = null;
    for (const w of this.#waiting.splice(0)) w.reject(new H2RequestError(reason, true));
    for (const s of [...this.#streams.values()]) {
      // A unary gRPC request not sent in full cannot have been acted on; others might have been.
      this.#fail(s, new H2RequestError(reason, s.unsent !== null));
    }
    for (const fn of this.#onClose.splice(0)) fn();
  }
}

const BAD_PADDING = Buffer.alloc(0);

/** The payload without its padding (PADDED flag), or BAD_PADDING when malformed. */
function unpad(p: Buffer): Buffer {
  if (p.length < 1) return BAD_PADDING;
  const pad = p[0] as number;
  if (pad >= p.length) return BAD_PADDING;
  return p.subarray(1, p.length - pad);
}

function writeFrameHeader(
  b: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  id: number,
): void {
  b.writeUIntBE(length, at, 3);
  b[at + 3] = type;
  b[at + 4] = flags;
  b.writeUInt32BE(id, at + 5);
}
