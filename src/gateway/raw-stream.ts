// The fast path of Stream: the gateway relays the server's response bytes as they are,
// rewriting only the first message (`subscribed`: the hold's session and epoch), instead of
// decoding and encoding every batch. Two wire forms take it (protocol/server/stream-wire.ts):
// gRPC (HTTP/2, application/grpc[+proto], uncompressed) and the Connect protocol's binary
// streams (HTTP/1.1 or 2, application/connect+proto, uncompressed): both carry messages in the
// envelope the server's gRPC answer has, so its frames go on as they are; only how the answer
// ends differs (gRPC status trailers, or Connect's end-of-stream message). Holds, routing and
// failover are those of the typed Stream (canal-proxy.ts). Back-pressure: the upstream HTTP/2
// stream is paused while the client's is full. Other protocols (gRPC-Web, Connect JSON,
// compressed requests) take the typed path.
import * as http2 from "node:http2";
import type { Writable } from "node:stream";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../common/log.js";
import { checkNames } from "../contracts/names.js";
import { wasNotApplied } from "../contracts/not-applied.js";
import { StreamRequestSchema, StreamResponseSchema } from "../gen/sluice/v1/canal_service_pb.js";
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameReader,
  FrameTooLarge,
  WholeFrames,
} from "../protocol/frame.js";
import { type HttpRequest, type HttpResponse, relayError, unavailable } from "../protocol/index.js";
import { Call, type CallPipeline, nodeCallHeaders } from "../protocol/pipeline.js";
import { raceAbort } from "../protocol/server/call-guard.js";
import { decodeRequest, readGrpcRequest } from "../protocol/server/request-body.js";
import { type StreamWire, streamWireOf } from "../protocol/server/stream-wire.js";
import { errorFromGrpcStatus, grpcStatusCode } from "../protocol/wire-errors.js";
import { callError } from "./call-errors.js";
import { takeStreamHold } from "./canal-proxy.js";
import type { FrameBuffers } from "./frame-buffers.js";
import type { ClientHolds, Hold } from "./holds.js";
import { RetryBudget, relayHeaders, runnerChanged } from "./relay.js";
import type { Runner, RunnerTable } from "./runners.js";
import { CLEARTEXT, type Dialer } from "./upstream.js";

const SERVICE = "sluice.v1.CanalService";
const PATH = `/${SERVICE}/Stream`;
/** Response header of streams relayed as bytes (for tests and curious operators). */
export const RELAY_HEADER = "sluice-relay";
const RELAYED = { [RELAY_HEADER]: "bytes" };
const RETRY_MS = 500;

/** One HTTP/2 session per server address, made again when it closes. */
export class RawSessions {
  readonly #byAddress = new Map<string, http2.ClientHttp2Session>();

  constructor(private readonly dialer: Dialer = CLEARTEXT) {}

  close(): void {
    for (const s of this.#byAddress.values()) s.destroy();
    this.#byAddress.clear();
  }

  /** The session, once connected; rejects when the server cannot be reached (nothing was sent). */
  connected(address: string): Promise<http2.ClientHttp2Session> {
    const s = this.get(address);
    if (!s.connecting) return Promise.resolve(s);
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      s.once("error", onError);
      s.once("connect", () => {
        s.off("error", onError);
        resolve(s);
      });
    });
  }

  get(address: string): http2.ClientHttp2Session {
    let s = this.#byAddress.get(address);
    if (!s || s.closed || s.destroyed) {
      const session = http2.connect(`${this.dialer.scheme}://${address}`, {
        createConnection: () => this.dialer.connect(address),
      });
      session.on("error", () => {});
      session.once("close", () => {
        if (this.#byAddress.get(address) === session) this.#byAddress.delete(address);
      });
      session.setTimeout(60_000, () => session.close());
      this.#byAddress.set(address, session);
      s = session;
    }
    return s;
  }
}

export function createRawStreamHandler(
  runners: RunnerTable,
  holds: ClientHolds,
  /** The hooks every call runs, once its request is decoded. */
  pipeline: CallPipeline,
  /** Fires when the gateway starts to close: open streams end with unavailable. */
  shutdown: AbortSignal,
  sessions: RawSessions,
  /** The largest request and answer messages relayed (--max-request, --max-message). */
  maxBytes: { request: number; answer: number },
  /** Where frames that came in pieces are assembled, given back once written. */
  buffers: FrameBuffers,
  log: Logger,
): (req: HttpRequest, res: HttpResponse) => boolean {
  const handler = (req: HttpRequest, res: HttpResponse): boolean => {
    if (req.method !== "POST" || req.url !== PATH) return false;
    const wire = streamWireOf(req);
    if (wire === undefined) return false;
    relayStream(wire, req, res).catch((err: unknown) => log.warn("raw stream failed", { error: err }));
    return true;
  };
  return handler;

  async function relayStream(wire: StreamWire, req: HttpRequest, res: HttpResponse): Promise<void> {
    // The answer as a stream of bytes (HTTP/1.1 and HTTP/2 responses write alike).
    const out = res as Writable;
    const ended = new AbortController();
    let finished = false;
    /** How the stream ended, for its hooks: its error, or 0. */
    let result: ConnectError | 0 = 0;
    let call: Call | undefined;
    const finish = (err?: ConnectError) => {
      if (finished) return;
      finished = true;
      result = err ?? 0;
      ended.abort(err);
      wire.end(res, err, RELAYED);
    };
    /**
     * Relays the stream from `runner`. Resolves with undefined once the stream is over (ended
     * by finish()), or with an error when the opening did not take effect (the runner could not
     * be reached, answered NotApplied before any message, was reset before answering, or lost
     * the destination before answering): the caller opens it again.
     */
    const relayFrom = async (
      runner: Runner,
      headers: http2.OutgoingHttpHeaders,
      body: Buffer,
      h: Hold,
    ): Promise<ConnectError | undefined> => {
      const dest = h.destination;
      let session: http2.ClientHttp2Session;
      try {
        session = await sessions.connected(runner.address);
      } catch (err) {
        return unavailable(
          `${runner.address}, the running server of destination ${dest}, cannot be reached: ${(err as Error).message}`,
          RETRY_MS,
        );
      }
      if (ended.signal.aborted) return undefined;
      const up = session.request(headers);
      /** The first message came: the stream is the client's from now on. */
      let opened = false;
      let status: http2.IncomingHttpHeaders | undefined;
      let movedTo: Runner | null | undefined;
      let stopMoved = () => {};
      const cancel = () => up.close(http2.constants.NGHTTP2_CANCEL);
      const broken = (reason: string) =>
        unavailable(
          `the connection to ${runner.address}, the running server of destination ${dest}, failed: ${reason}`,
          0, // reopened at once, the stream waits in the gateway for a runner that serves
        );
      const over = new Promise<ConnectError | undefined>((resolve) => {
        // Until the first message is rewritten: its bytes so far.
        let head: FrameReader | undefined = new FrameReader();
        // Only whole messages go on, so that the answer can end between two at any moment.
        const whole = new WholeFrames(maxBytes.answer, undefined, buffers.take);
        const statusOf = (hs: http2.IncomingHttpHeaders) => {
          if (grpcStatusCode(hs) !== undefined) status = hs;
        };
        up.on("error", () => {});
        // The server may send its response headers before it refuses the stream (NotApplied in
        // the trailers): the client's headers go out with the first message.
        up.on("response", statusOf);
        up.on("trailers", statusOf);
        up.on("data", (chunk: Buffer) => {
          if (finished) return;
          if (!opened) {
            opened = true;
            if (!res.headersSent) res.writeHead(200, { "content-type": wire.contentType, ...RELAYED });
          }
          if (head !== undefined) {
            head.push(chunk);
            const frame = head.next();
            if (frame === undefined) return;
            const first = fromBinary(StreamResponseSchema, frame.message);
            if (first.message.case === "subscribed") {
              first.message.value.session = h.token;
              first.message.value.epoch = h.epoch;
            }
            const bytes = toBinary(StreamResponseSchema, create(StreamResponseSchema, first));
            chunk = Buffer.concat([encodeFrame(bytes, frame.flags), head.rest()]);
            head = undefined;
          }
          let full = false;
          let frames: Buffer[];
          try {
            frames = whole.push(chunk);
          } catch (err) {
            if (!(err instanceof FrameTooLarge)) throw err;
            finish(
              new ConnectError(
                `the server sent a message of ${err.length} bytes, larger than the gateway's message limit (${err.maxBytes} bytes); ask for smaller batches`,
                Code.ResourceExhausted,
              ),
            );
            return;
          }
          for (const bytes of frames) {
            full = !out.write(bytes, (err?: Error | null) => {
              if (!err) buffers.give(bytes);
            });
          }
          if (full) {
            up.pause();
            res.once("drain", () => up.resume());
          }
        });
        up.once("close", () => {
          stopMoved();
          ended.signal.removeEventListener("abort", cancel);
          const error = status ? errorFromGrpcStatus(status) : undefined;
          if (ended.signal.aborted) {
            // finish() already ran (failover, hold lost, deadline) or the client went away.
            resolve(undefined);
          } else if (!opened && movedTo !== undefined) {
            resolve(runnerChanged(dest, runner, movedTo, "the stream"));
          } else if (!opened && (status === undefined || wasNotApplied(error))) {
            resolve(error ? relayError(error) : broken(`the stream was reset (code ${up.rstCode})`));
          } else {
            if (status) finish(error === undefined ? undefined : relayError(error));
            else finish(broken(`the stream was reset (code ${up.rstCode})`));
            resolve(undefined);
          }
        });
      });
      ended.signal.addEventListener("abort", cancel, { once: true });
      stopMoved = runners.onMoved(dest, runner, (next) => {
        if (opened) {
          finish(runnerChanged(dest, runner, next, "the stream"));
        } else {
          movedTo = next;
          cancel();
        }
      });
      up.end(body);
      return over;
    };

    const onShutdown = () => finish(new ConnectError("server is shutting down", Code.Unavailable));
    if (shutdown.aborted) {
      onShutdown();
      return;
    }
    shutdown.addEventListener("abort", onShutdown, { once: true });
    ended.signal.addEventListener("abort", () => shutdown.removeEventListener("abort", onShutdown), {
      once: true,
    });
    res.once("close", () => {
      if (!finished) {
        finished = true;
        result = new ConnectError("the client went away", Code.Canceled);
        ended.abort(result);
      }
    });
    const timeout = wire.timeoutMs;
    const deadline =
      timeout === undefined
        ? undefined
        : setTimeout(() => finish(new ConnectError("the deadline passed", Code.DeadlineExceeded)), timeout);
    let cleanup = async () => {};
    try {
      const body = await readGrpcRequest(req, maxBytes.request);
      const sreq = decodeRequest(StreamRequestSchema, body.subarray(FRAME_HEADER_BYTES));
      call = new Call({
        service: SERVICE,
        method: "Stream",
        streaming: true,
        protocol: wire.protocol,
        codec: "proto",
        httpVersion: req.httpVersionMajor === 2 ? "2" : "1.1",
        headers: nodeCallHeaders(req.headers),
        socket: req.socket,
        message: sreq,
      });
      const waiting = pipeline.start(call);
      if (waiting !== undefined) await raceAbort(waiting, [ended.signal]);
      checkNames(sreq.destination, sreq.clientId);
      await runners.route(sreq.destination, ended.signal);
      const taken = await takeStreamHold(holds, sreq, call.peer.address, ended.signal);
      const h = taken.hold;
      const stopLoss = holds.watchLoss(sreq.destination, sreq.clientId, h.epoch, (reason) =>
        finish(
          unavailable(`the stream of client ${sreq.clientId} ended: ${reason}; open it again`, RETRY_MS),
        ),
      );
      cleanup = async () => {
        stopLoss();
        await taken.end().catch((err) => log.warn("releasing a hold failed", { error: err }));
      };
      const headers: http2.OutgoingHttpHeaders = {
        ":method": "POST",
        ":path": PATH,
        "content-type": "application/grpc+proto",
        te: "trailers",
        ...relayHeaders(call, h.epoch),
      };
      if (wire.grpcTimeout !== undefined) headers["grpc-timeout"] = wire.grpcTimeout;
      // Opened again while it did not take effect (as typed streams are: relay.ts openStream):
      // during a failover the stream waits here for the new runner, within --hold.
      const budget = new RetryBudget(runners.holdMs);
      let retry: { epoch: bigint; pauseMs: number } | undefined;
      for (;;) {
        const runner = await runners.route(sreq.destination, ended.signal, retry);
        if (ended.signal.aborted) return;
        const failed = await relayFrom(runner, headers, body, h);
        if (failed === undefined || ended.signal.aborted) return;
        const pauseMs = budget.next(runner.epoch);
        if (pauseMs === undefined) {
          finish(failed);
          return;
        }
        retry = { epoch: runner.epoch, pauseMs };
      }
    } catch (err) {
      finish(callError(err));
    } finally {
      clearTimeout(deadline);
      await cleanup();
      if (call !== undefined) pipeline.end(call, result);
    }
  }
}
