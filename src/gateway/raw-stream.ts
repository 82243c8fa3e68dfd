// The fast path of Stream for gRPC clients (HTTP/2, application/grpc[+proto], uncompressed):
// the gateway relays the server's response bytes as they are, rewriting only the first
// message (`subscribed`: the hold's session and epoch), instead of decoding and encoding
// every batch. Holds, routing and failover are those of the typed Stream (canal-proxy.ts);
// errors end the stream with grpc-status trailers. Back-pressure: the upstream HTTP/2 stream
// is paused while the client's is full. Other protocols (Connect, gRPC-Web, JSON) take the
// typed path.
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../common/log.js";
import { checkNames } from "../contracts/names.js";
import { StreamRequestSchema, StreamResponseSchema } from "../gen/sluice/v1/canal_service_pb.js";
import { parseGrpcTimeout } from "../protocol/deadline.js";
import { encodeFrame, FRAME_HEADER_BYTES, FrameReader } from "../protocol/frame.js";
import { type HttpRequest, type HttpResponse, relayError, unavailable } from "../protocol/index.js";
import { Call, type CallPipeline, nodeCallHeaders } from "../protocol/pipeline.js";
import { raceAbort } from "../protocol/server/call-guard.js";
import { decodeRequest, readGrpcRequest } from "../protocol/server/request-body.js";
import { endWithGrpcStatus } from "../protocol/server/trailers-only.js";
import { errorFromGrpcStatus, grpcStatusCode, grpcStatusFields } from "../protocol/wire-errors.js";
import { callError } from "./call-errors.js";
import { takeStreamHold } from "./canal-proxy.js";
import type { ClientHolds } from "./holds.js";
import { relayHeaders } from "./relay.js";
import type { RunnerTable } from "./runners.js";
import { CLEARTEXT, type Dialer } from "./upstream.js";

const SERVICE = "sluice.v1.CanalService";
const PATH = `/${SERVICE}/Stream`;
/** Response header of streams relayed as bytes (for tests and curious operators). */
export const RELAY_HEADER = "sluice-relay";
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
  /** The largest request message (--max-request). */
  maxRequestBytes: number,
  log: Logger,
): (req: HttpRequest, res: HttpResponse) => boolean {
  const handler = (req: HttpRequest, res: HttpResponse): boolean => {
    if (req.method !== "POST" || req.url !== PATH || req.httpVersionMajor !== 2) return false;
    if (!/^application\/grpc(\+proto)?$/i.test(req.headers["content-type"] ?? "")) return false;
    const encoding = req.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    relayStream(req as http2.Http2ServerRequest, res as http2.Http2ServerResponse).catch((err: unknown) =>
      log.warn("raw stream failed", { error: err }),
    );
    return true;
  };
  return handler;

  async function relayStream(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> {
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
      if (res.writableEnded || res.stream.destroyed) return;
      if (!res.headersSent) {
        endWithGrpcStatus(res, err);
        return;
      }
      res.addTrailers(grpcStatusFields(err));
      res.end();
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
    const grpcTimeout = req.headers["grpc-timeout"];
    const timeout = typeof grpcTimeout === "string" ? parseGrpcTimeout(grpcTimeout) : undefined;
    const deadline =
      timeout === undefined
        ? undefined
        : setTimeout(() => finish(new ConnectError("the deadline passed", Code.DeadlineExceeded)), timeout);
    let cleanup = async () => {};
    try {
      const body = await readGrpcRequest(req, maxRequestBytes);
      const sreq = decodeRequest(StreamRequestSchema, body.subarray(FRAME_HEADER_BYTES));
      call = new Call({
        service: SERVICE,
        method: "Stream",
        streaming: true,
        protocol: "grpc",
        codec: "proto",
        httpVersion: "2",
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
      let stopRunner = () => {};
      cleanup = async () => {
        stopRunner();
        stopLoss();
        await taken.end().catch((err) => log.warn("releasing a hold failed", { error: err }));
      };
      const runner = await runners.route(sreq.destination, ended.signal);
      stopRunner = runners.onChange(sreq.destination, (next) =>
        finish(
          unavailable(
            `the running server of destination ${sreq.destination} changed (${runner.address} to ` +
              `${next ? next.address : "none yet, election in progress"}); open the stream again: ` +
              "it resumes after the last acked batch",
            RETRY_MS,
          ),
        ),
      );
      if (ended.signal.aborted) return;
      const headers: http2.OutgoingHttpHeaders = {
        ":method": "POST",
        ":path": PATH,
        "content-type": "application/grpc+proto",
        te: "trailers",
        ...relayHeaders(call, h.epoch),
      };
      if (typeof req.headers["grpc-timeout"] === "string")
        headers["grpc-timeout"] = req.headers["grpc-timeout"];
      const up = sessions.get(runner.address).request(headers);
      const broken = (reason: string) =>
        unavailable(
          `the connection to ${runner.address}, the running server of destination ${sreq.destination}, failed: ${reason}`,
          RETRY_MS,
        );
      ended.signal.addEventListener("abort", () => up.close(http2.constants.NGHTTP2_CANCEL), { once: true });
      up.end(body);
      await new Promise<void>((resolve) => {
        // Until the first message is rewritten: its bytes so far.
        let head: FrameReader | undefined = new FrameReader();
        let status: http2.IncomingHttpHeaders | undefined;
        const statusOf = (hs: http2.IncomingHttpHeaders) => {
          if (grpcStatusCode(hs) !== undefined) status = hs;
        };
        up.on("response", (hs) => {
          statusOf(hs);
          if (!status && !res.headersSent)
            res.writeHead(200, { "content-type": "application/grpc+proto", [RELAY_HEADER]: "bytes" });
        });
        up.on("trailers", statusOf);
        up.on("data", (chunk: Buffer) => {
          if (finished) return;
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
          if (!res.write(chunk)) {
            up.pause();
            res.once("drain", () => up.resume());
          }
        });
        up.once("close", () => {
          if (ended.signal.aborted) {
            // finish() already ran (failover, hold lost, deadline) or the client went away.
          } else if (status) {
            const error = errorFromGrpcStatus(status);
            finish(error === undefined ? undefined : relayError(error));
          } else {
            finish(broken(`the stream was reset (code ${up.rstCode})`));
          }
          resolve();
        });
        up.on("error", () => {});
      });
    } catch (err) {
      finish(callError(err));
    } finally {
      clearTimeout(deadline);
      await cleanup();
      if (call !== undefined) pipeline.end(call, result);
    }
  }
}
