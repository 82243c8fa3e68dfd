// The fast path of Get, Ack and Rollback (the calls a consumer makes per batch) without
// connect-es's machinery in between: the gateway decodes the small request to check the
// session (holds.ts) and run the call pipeline, then relays the request to the runner over its
// own HTTP/2 connections. Three kinds of callers take it:
// - gRPC (HTTP/2, application/grpc[+proto], uncompressed): the request and the response
//   (headers, message, trailers) are relayed as they are;
// - Connect JSON (HTTP/1.1 or 2, application/json, uncompressed, POST): the caller's JSON goes
//   to the server as a Connect JSON call, and the server's JSON answer comes back unparsed (the
//   server writes a Get's entries from the JSON form it keeps of each: no per-row work here);
// - Connect binary (HTTP/1.1 or 2, application/proto, uncompressed, POST): the message is put
//   into / taken out of a gRPC envelope.
// A Connect caller's error is Connect's JSON error with the same code, message, details and
// retry-after-ms as on the typed path.
// Retries are those of the typed path (relay.ts): only when the server could not be reached,
// or answered unavailable before doing anything. gRPC-Web, compressed and GET calls take the
// typed path (canal-proxy.ts).
import type * as http2 from "node:http2";
import { type DescMessage, fromJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../common/log.js";
import { checkNames } from "../contracts/names.js";
import { wasNotApplied } from "../contracts/not-applied.js";
import {
  AckRequestSchema,
  AckResponseSchema,
  GetRequestSchema,
  GetResponseSchema,
  RollbackRequestSchema,
  RollbackResponseSchema,
} from "../gen/sluice/v1/canal_service_pb.js";
import { CallCancel } from "../protocol/call-cancel.js";
import { formatGrpcTimeout, parseGrpcTimeout } from "../protocol/deadline.js";
import { encodeFrame, FRAME_HEADER_BYTES, singleMessage } from "../protocol/frame.js";
import { type H2Answer, type H2Connection, H2RequestError } from "../protocol/h2/connection.js";
import type { H2Pool } from "../protocol/h2/pool.js";
import {
  type HttpRequest,
  type HttpResponse,
  RETRY_AFTER_MS,
  relayError,
  unavailable,
} from "../protocol/index.js";
import {
  Call,
  type CallCodec,
  type CallPipeline,
  type CallProtocol,
  nodeCallHeaders,
} from "../protocol/pipeline.js";
import { raceAbort, watchCall } from "../protocol/server/call-guard.js";
import { endWithParts } from "../protocol/server/end-with-parts.js";
import { decodeRequest, readGrpcRequest, readRequestBody } from "../protocol/server/request-body.js";
import { answerEnded } from "../protocol/server/stream-wire.js";
import { endTrailersOnly, endWithGrpcStatus } from "../protocol/server/trailers-only.js";
import { connectUnaryError, errorFromConnectUnary, errorFromGrpcStatus } from "../protocol/wire-errors.js";
import { callError } from "./call-errors.js";
import type { FrameBuffers } from "./frame-buffers.js";
import type { ClientHolds } from "./holds.js";
import { RELAY_HEADER } from "./raw-stream.js";
import { RetryBudget, relayHeaders, runnerChanged } from "./relay.js";
import type { Runner, RunnerTable } from "./runners.js";

/** The methods relayed this way: their names, request and response messages. */
interface Method {
  name: string;
  input: DescMessage;
  output: DescMessage;
}
const SERVICE = "sluice.v1.CanalService";
const METHODS = new Map<string, Method>(
  [
    { name: "Get", input: GetRequestSchema, output: GetResponseSchema },
    { name: "Ack", input: AckRequestSchema, output: AckResponseSchema },
    { name: "Rollback", input: RollbackRequestSchema, output: RollbackResponseSchema },
  ].map((m) => [`/${SERVICE}/${m.name}`, m]),
);
// connect-es reads JSON with unknown fields ignored, and writes it with its defaults.
const JSON_READ = { ignoreUnknownFields: true };

export function createRawUnaryHandler(
  runners: RunnerTable,
  holds: ClientHolds,
  /** The hooks every call runs, once its request is decoded. */
  pipeline: CallPipeline,
  /** The gateway's own HTTP/2 connections to servers (h2/connection.ts: why not node:http2's). */
  connections: H2Pool,
  /** The largest request and answer messages relayed (--max-request, --max-message). */
  maxBytes: { request: number; answer: number },
  /** What answers are assembled in (H2Pool's allocate): given back once written. */
  buffers: FrameBuffers,
  log: Logger,
): (req: HttpRequest, res: HttpResponse) => boolean {
  /**
   * Once the answer's bytes were written, their buffers may be lent again: a callback of
   * end(), when it reports no error and the response did finish (every byte handed to the
   * socket), for end() also calls back on a response closed under it.
   */
  const giveBack =
    (res: { readonly writableFinished: boolean }, body: readonly Uint8Array[]) => (err?: unknown) => {
      if (err || !res.writableFinished) return;
      for (const part of body) buffers.give(part);
    };
  return (req, res) => {
    const method = METHODS.get(req.url ?? "");
    if (!method || req.method !== "POST") return false;
    const type = req.headers["content-type"] ?? "";
    let call: Promise<void>;
    if (/^application\/grpc(\+proto)?$/i.test(type)) {
      if (req.httpVersionMajor !== 2) return false;
      const encoding = req.headers["grpc-encoding"];
      if (encoding !== undefined && encoding !== "identity") return false;
      call = relayGrpc(method, req as http2.Http2ServerRequest, res as http2.Http2ServerResponse);
    } else if (/^application\/(proto|json(; ?charset=utf-?8)?)$/i.test(type)) {
      const encoding = req.headers["content-encoding"];
      if (encoding !== undefined && encoding !== "identity") return false;
      const timeout = req.headers["connect-timeout-ms"];
      if (timeout !== undefined && !/^\d{1,10}$/.test(timeout as string)) return false; // typed path: its error
      const json = !/^application\/proto$/i.test(type);
      call = relayConnect(method, json, req, res, timeout as string | undefined);
    } else {
      return false;
    }
    call.catch((err: unknown) => log.warn("raw call failed", { error: err }));
    return true;
  };

  /** The call as the pipeline's hooks see it. */
  function callOf(
    req: HttpRequest,
    method: Method,
    msg: Addressed,
    protocol: CallProtocol,
    codec: CallCodec,
  ) {
    return new Call({
      service: SERVICE,
      method: method.name,
      streaming: false,
      protocol,
      codec,
      httpVersion: req.httpVersionMajor === 2 ? "2" : "1.1",
      headers: nodeCallHeaders(req.headers),
      socket: req.socket,
      message: msg,
    });
  }

  /** A gRPC call: request and answer relayed as they are. */
  async function relayGrpc(
    method: Method,
    req: http2.Http2ServerRequest,
    res: http2.Http2ServerResponse,
  ): Promise<void> {
    const grpcTimeout = req.headers["grpc-timeout"];
    const timeoutMs = typeof grpcTimeout === "string" ? parseGrpcTimeout(grpcTimeout) : undefined;
    const { cancel: gone, done } = watchCall(res, timeoutMs);
    let call: Call | undefined;
    try {
      const body = await readGrpcRequest(req, maxBytes.request);
      const msg = decodeRequest(method.input, body.subarray(FRAME_HEADER_BYTES)) as unknown as Addressed;
      call = callOf(req, method, msg, "grpc", "proto");
      const fields: [string, string][] = [
        ["content-type", "application/grpc+proto"],
        ["te", "trailers"],
      ];
      if (typeof grpcTimeout === "string") fields.push(["grpc-timeout", grpcTimeout]);
      const answer = await forward(call, req, msg, { json: false, body, fields }, gone);
      if (res.writableEnded || res.stream.destroyed) {
        pipeline.end(call, Code.Canceled);
        return;
      }
      if (answer.headers["grpc-status"] !== undefined) {
        // The server's answer is trailers-only (an error): so is ours.
        endTrailersOnly(res, { ...pass(answer.headers), [RELAY_HEADER]: "bytes" });
      } else {
        res.writeHead(200, { ...pass(answer.headers), [RELAY_HEADER]: "bytes" });
        for (const chunk of answer.body) res.write(chunk);
        const trailers = pass(answer.trailers);
        if (Object.keys(trailers).length > 0) res.addTrailers(trailers);
        res.end(giveBack(res, answer.body));
      }
      pipeline.end(call, answerError(answer));
    } catch (err) {
      const e = gone.aborted ? ConnectError.from(gone.reason) : callError(err);
      if (call !== undefined) pipeline.end(call, e);
      if (res.writableEnded || res.stream.destroyed || res.headersSent) return;
      endWithGrpcStatus(res, e);
    } finally {
      done();
    }
  }

  /**
   * A Connect unary call, binary or JSON: the message goes to the server in a gRPC envelope;
   * the answer's message (in the caller's format), or its error as Connect's JSON error, comes
   * back. The same answers as the typed path (test/gateway/gateway.test.ts compares them).
   */
  async function relayConnect(
    method: Method,
    json: boolean,
    req: HttpRequest,
    res: HttpResponse,
    timeout: string | undefined,
  ): Promise<void> {
    const { cancel: gone, done } = watchCall(res, timeout === undefined ? undefined : Number(timeout));
    let call: Call | undefined;
    try {
      const bytes = await readRequestBody(req, maxBytes.request);
      let msg: Addressed;
      if (json) {
        try {
          msg = fromJsonString(method.input, bytes.toString("utf8"), JSON_READ) as unknown as Addressed;
        } catch (err) {
          throw ConnectError.from(err, Code.InvalidArgument);
        }
      } else {
        msg = decodeRequest(method.input, bytes) as unknown as Addressed;
      }
      call = callOf(req, method, msg, "connect", json ? "json" : "proto");
      // JSON goes to the server as the caller wrote it, over Connect; binary in a gRPC envelope.
      const upstream: Upstream = json
        ? {
            json: true,
            body: bytes,
            fields: [
              ["content-type", "application/json"],
              ["connect-protocol-version", "1"],
              ...(timeout === undefined ? [] : [["connect-timeout-ms", timeout] as [string, string]]),
            ],
          }
        : {
            json: false,
            body: encodeFrame(bytes),
            fields: [
              ["content-type", "application/grpc+proto"],
              ["te", "trailers"],
              ...(timeout === undefined
                ? []
                : [["grpc-timeout", formatGrpcTimeout(Number(timeout))] as [string, string]]),
            ],
          };
      const answer = await forward(call, req, msg, upstream, gone);
      const error = json ? connectAnswerError(answer) : answerError(answer);
      if (error !== undefined) throw relayError(error);
      if (json) {
        // The server's JSON, relayed unparsed, in the pieces it came in (no copy).
        if (answerEnded(res)) {
          pipeline.end(call, Code.Canceled);
          return;
        }
        let length = 0;
        for (const chunk of answer.body) length += chunk.length;
        res.writeHead(200, {
          ...pass(answer.headers),
          "content-type": "application/json",
          "content-length": String(length),
          [RELAY_HEADER]: "bytes",
        });
        endWithParts(res, answer.body, giveBack(res, answer.body));
        pipeline.end(call);
        return;
      }
      const out = singleMessage(
        answer.body.length === 1 ? (answer.body[0] as Buffer) : Buffer.concat(answer.body),
      );
      if (out === undefined) {
        throw new ConnectError("the server's answer is not one uncompressed message", Code.Internal);
      }
      if (answerEnded(res)) {
        pipeline.end(call, Code.Canceled);
        return;
      }
      res.writeHead(200, {
        "content-type": "application/proto",
        "content-length": String(out.length),
        [RELAY_HEADER]: "bytes",
      });
      res.end(out, giveBack(res, [out]));
      pipeline.end(call);
    } catch (err) {
      const e = gone.aborted ? ConnectError.from(gone.reason) : callError(err);
      if (call !== undefined) pipeline.end(call, e);
      if (answerEnded(res) || res.headersSent) return;
      const answer = connectUnaryError(e);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } finally {
      done();
    }
  }

  /**
   * Runs the call's hooks, then sends one request to the destination's runner after the session
   * check, trying the next runner while the call surely did not take effect. Resolves with the
   * answer (one that carries a gRPC status, for gRPC); rejects with what the caller should see.
   */
  async function forward(
    call: Call,
    req: HttpRequest,
    msg: Addressed,
    upstream: Upstream,
    gone: CallCancel,
  ): Promise<H2Answer> {
    const waiting = pipeline.start(call);
    if (waiting !== undefined) await raceAbort(waiting, [gone]);
    checkNames(msg.destination, msg.clientId);
    const node = await holds.validate(msg.destination, msg.clientId, msg.session);
    const headers = relayHeaders(call, node.epoch);
    // Tried again while it surely did not take effect, as the typed path does (relay.ts).
    const budget = new RetryBudget(runners.holdMs);
    let retry: { epoch: bigint; pauseMs: number } | undefined;
    const again = (epoch: bigint): boolean => {
      const pauseMs = gone.aborted ? undefined : budget.next(epoch);
      if (pauseMs === undefined) return false;
      retry = { epoch, pauseMs };
      return true;
    };
    // Get and Rollback act only on the runner's memory; Ack (and Get with autoAck) may write
    // the cursor: see relay.ts, CallEffects.
    const effects = call.method === "Ack" || msg.autoAck === true ? "durable" : "runner";
    for (;;) {
      const runner = await runners.route(msg.destination, gone, retry);
      let connection: H2Connection;
      try {
        connection = await connections.connected(runner.address);
      } catch (err) {
        // Not reached: nothing was sent; the runner (or the next one) may answer in a moment.
        if (again(runner.epoch)) continue;
        throw unavailable(
          `${runner.address}, the running server of destination ${msg.destination}, cannot be reached: ${(err as Error).message}`,
          500,
        );
      }
      const fields: [string, string][] = [
        [":method", "POST"],
        [":scheme", "http"],
        [":authority", runner.address],
        [":path", req.url ?? ""],
        ...upstream.fields,
      ];
      for (const name in headers) fields.push([name, headers[name] as string]);
      let answer: H2Answer;
      // Cut at once when the destination's runner changes before it answers (relay.ts says why).
      const cut = new CallCancel();
      const onGone = () => cut.abort(gone.reason);
      gone.addEventListener("abort", onGone);
      let movedTo: Runner | null | undefined;
      const stopMoved = runners.onMoved(msg.destination, runner, (next) => {
        movedTo = next;
        cut.abort(runnerChanged(msg.destination, runner, next, "the call"));
      });
      try {
        answer = await connection.request(fields, upstream.body, cut, maxBytes.answer + FRAME_HEADER_BYTES);
      } catch (err) {
        if (gone.aborted) throw gone.reason;
        if (movedTo !== undefined) {
          if (effects === "runner" && again(runner.epoch)) continue;
          throw runnerChanged(msg.destination, runner, movedTo, "the call");
        }
        if (err instanceof H2RequestError && err.tooLarge) {
          throw new ConnectError(
            `answer: larger than the gateway's message limit (${maxBytes.answer} bytes); ask for smaller batches`,
            Code.ResourceExhausted,
          );
        }
        // The server did not act on it (GOAWAY, refused, connection gone before it was sent):
        // safe to send again.
        if (err instanceof H2RequestError && err.notProcessed && again(runner.epoch)) continue;
        throw unavailable(
          `the connection to ${runner.address}, the running server of destination ${msg.destination}, failed: ${(err as Error).message}`,
          500,
        );
      } finally {
        stopMoved();
        gone.removeEventListener("abort", onGone);
      }
      if (upstream.json) {
        const error = connectAnswerError(answer);
        if (error !== undefined && wasNotApplied(error) && again(runner.epoch)) continue;
        return answer;
      }
      const status = grpcStatus(answer);
      if (status === undefined) {
        throw unavailable(
          `${runner.address}, the running server of destination ${msg.destination}, answered without a gRPC status (HTTP ${answer.headers[":status"]})`,
          500,
        );
      }
      if (status !== "0" && wasNotApplied(answerError(answer)) && again(runner.epoch)) continue;
      return answer;
    }
  }
}

/** The fields of Get, Ack and Rollback requests that the session check reads. */
interface Addressed {
  destination: string;
  clientId: string;
  session: string;
  /** Get's: the server acks what it returns. */
  autoAck?: boolean;
}

/** What is sent to the server: the message's format, its headers (type, deadline) and body. */
interface Upstream {
  /** Connect JSON (`application/json`), else gRPC. */
  json: boolean;
  fields: [string, string][];
  body: Buffer;
}

/**
 * The error of a Connect unary answer other than 200 (undefined when ok), with what the typed
 * path keeps of a server's error: code, message, details and retry-after-ms.
 */
export function connectAnswerError(answer: H2Answer): ConnectError | undefined {
  const status = Number(answer.headers[":status"]);
  if (status === 200) return undefined;
  const body = answer.body.length === 1 ? (answer.body[0] as Buffer) : Buffer.concat(answer.body);
  const e = errorFromConnectUnary(status, new Headers(pass(answer.headers)), body);
  const metadata = new Headers();
  const retry = e.metadata.get(RETRY_AFTER_MS);
  if (retry !== null) metadata.set(RETRY_AFTER_MS, retry);
  const kept = new ConnectError(e.rawMessage, e.code, metadata);
  kept.details = e.details;
  return kept;
}

/** The error of an answer whose gRPC status is not 0 (undefined when ok). */
function answerError(answer: H2Answer): ConnectError | undefined {
  const status = grpcStatus(answer);
  if (status === "0") return undefined;
  const fields = answer.headers["grpc-status"] !== undefined ? answer.headers : answer.trailers;
  return errorFromGrpcStatus(fields) ?? new ConnectError("the answer has no gRPC status", Code.Internal);
}

/** An answer's gRPC status: in its headers (trailers-only) or its trailers. */
function grpcStatus(answer: H2Answer): string | undefined {
  return answer.headers["grpc-status"] ?? answer.trailers["grpc-status"];
}

/** Response headers fit to send on: no pseudo-headers, no connection-level ones. */
function pass(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in h) {
    if (k.startsWith(":") || k === "content-length" || k === "date") continue;
    out[k] = h[k] as string;
  }
  return out;
}
