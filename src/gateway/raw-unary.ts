// The fast path of Get, Ack and Rollback for gRPC clients (HTTP/2, application/grpc[+proto],
// uncompressed): the gateway decodes the small request to check the session (holds.ts), then
// relays the request bytes to the runner and the response (headers, message, trailers) back as
// they are, without connect-es's client machinery in between. Retries are those of the typed
// path (relay.ts): only when the server could not be reached, or answered unavailable before
// doing anything. Other protocols take the typed path (canal-proxy.ts).
import type * as http2 from "node:http2";
import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CallCancel } from "../common/call-cancel.js";
import { decodeGrpcMessage, encodeGrpcMessage } from "../common/http/grpc-message.js";
import { readGrpcRequest } from "../common/http/grpc-request.js";
import {
  CLIENT_EPOCH_HEADER,
  type HttpRequest,
  type HttpResponse,
  RETRY_AFTER_MS,
  unavailable,
} from "../common/http/index.js";
import { parseGrpcTimeout } from "../common/http/timeout.js";
import type { Logger } from "../common/log.js";
import {
  AckRequestSchema,
  GetRequestSchema,
  RollbackRequestSchema,
} from "../gen/sluice/v1/canal_service_pb.js";
import { checkNames } from "./canal-proxy.js";
import { type H2Answer, type H2Connection, H2RequestError } from "./h2/connection.js";
import type { H2Pool } from "./h2/pool.js";
import type { ClientHolds } from "./holds.js";
import type { GatewayMetrics } from "./metrics.js";
import { RELAY_HEADER, TRACE_HEADERS } from "./raw-stream.js";
import { NOT_TAKEN_EFFECT } from "./relay.js";
import type { RunnerTable } from "./runners.js";

const METHODS = new Map<string, DescMessage>([
  ["/sluice.v1.CanalService/Get", GetRequestSchema],
  ["/sluice.v1.CanalService/Ack", AckRequestSchema],
  ["/sluice.v1.CanalService/Rollback", RollbackRequestSchema],
]);
const MAX_ATTEMPTS = 5;

export function createRawUnaryHandler(
  runners: RunnerTable,
  holds: ClientHolds,
  /** The gateway's own HTTP/2 connections to servers (h2/connection.ts: why not node:http2's). */
  connections: H2Pool,
  /** The largest request and answer message to relay (the gateway's message limit). */
  maxMessageBytes: number,
  log: Logger,
  metrics?: GatewayMetrics,
): (req: HttpRequest, res: HttpResponse) => boolean {
  return (req, res) => {
    const schema = METHODS.get(req.url ?? "");
    if (!schema || req.method !== "POST" || req.httpVersionMajor !== 2) return false;
    if (!/^application\/grpc(\+proto)?$/i.test(req.headers["content-type"] ?? "")) return false;
    const encoding = req.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const started = performance.now();
    void relayUnary(schema, req as http2.Http2ServerRequest, res as http2.Http2ServerResponse).then(
      (code) => metrics?.unary((req.url ?? "").slice(1), code, performance.now() - started),
      (err) => log.warn("raw call failed", { error: err }),
    );
    return true;
  };

  async function relayUnary(
    schema: DescMessage,
    req: http2.Http2ServerRequest,
    res: http2.Http2ServerResponse,
  ): Promise<number> {
    // Not an AbortController: one per call would fill the old generation (call-cancel.ts).
    const gone = new CallCancel();
    // After a whole answer, "close" is the normal end: no error (and its stack trace) to build.
    res.once("close", () => {
      if (!res.writableFinished) gone.abort(new ConnectError("the client went away", Code.Canceled));
    });
    const grpcTimeout = req.headers["grpc-timeout"];
    const timeoutMs = typeof grpcTimeout === "string" ? parseGrpcTimeout(grpcTimeout) : undefined;
    const deadline =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => gone.abort(new ConnectError("the deadline passed", Code.DeadlineExceeded)),
            timeoutMs,
          );
    try {
      const body = await readGrpcRequest(req, maxMessageBytes);
      const msg = fromBinary(schema, body.subarray(5)) as unknown as {
        destination: string;
        clientId: string;
        session: string;
      };
      checkNames(msg.destination, msg.clientId);
      const node = await holds.validate(msg.destination, msg.clientId, msg.session);
      let stale: bigint | undefined;
      for (let attempt = 1; ; attempt++) {
        const runner = await runners.route(msg.destination, gone, stale);
        let connection: H2Connection;
        try {
          connection = await connections.connected(runner.address);
        } catch (err) {
          // Not reached: nothing was sent; the next runner may answer.
          if (attempt < MAX_ATTEMPTS && !gone.aborted) {
            stale = runner.epoch;
            continue;
          }
          throw unavailable(
            `${runner.address}, the running server of destination ${msg.destination}, cannot be reached: ${(err as Error).message}`,
            500,
          );
        }
        const fields: [string, string][] = [
          [":method", "POST"],
          [":scheme", "http"],
          [":authority", runner.address],
          [":path", req.url],
          ["content-type", "application/grpc+proto"],
          ["te", "trailers"],
          [CLIENT_EPOCH_HEADER, String(node.epoch)],
        ];
        if (typeof grpcTimeout === "string") fields.push(["grpc-timeout", grpcTimeout]);
        for (const name of TRACE_HEADERS) {
          const v = req.headers[name];
          if (typeof v === "string") fields.push([name, v]);
        }
        let answer: H2Answer;
        try {
          answer = await connection.request(fields, body, gone, maxMessageBytes + 5);
        } catch (err) {
          if (gone.aborted) throw gone.reason;
          if (err instanceof H2RequestError && err.tooLarge) {
            throw new ConnectError(
              `answer: larger than the gateway's message limit (${maxMessageBytes} bytes); ask for smaller batches`,
              Code.ResourceExhausted,
            );
          }
          // The server did not act on it (GOAWAY, refused, connection gone before it was sent):
          // safe to send again.
          if (err instanceof H2RequestError && err.notProcessed && attempt < MAX_ATTEMPTS) {
            stale = runner.epoch;
            continue;
          }
          throw unavailable(
            `the connection to ${runner.address}, the running server of destination ${msg.destination}, failed: ${(err as Error).message}`,
            500,
          );
        }
        if (answer.headers["grpc-status"] === undefined && answer.trailers["grpc-status"] === undefined) {
          throw unavailable(
            `${runner.address}, the running server of destination ${msg.destination}, answered without a gRPC status (HTTP ${answer.headers[":status"]})`,
            500,
          );
        }
        const status = answer.headers["grpc-status"] ?? answer.trailers["grpc-status"];
        const message = String(answer.headers["grpc-message"] ?? answer.trailers["grpc-message"] ?? "");
        if (
          status === String(Code.Unavailable) &&
          NOT_TAKEN_EFFECT.test(decodeGrpcMessage(message)) &&
          attempt < MAX_ATTEMPTS &&
          !gone.aborted
        ) {
          stale = runner.epoch;
          continue;
        }
        if (res.writableEnded || res.stream.destroyed) return Code.Canceled;
        res.writeHead(200, { ...pass(answer.headers), [RELAY_HEADER]: "bytes" });
        for (const chunk of answer.body) res.write(chunk);
        const trailers = pass(answer.trailers);
        if (Object.keys(trailers).length > 0) res.addTrailers(trailers);
        res.end();
        return Number(status);
      }
    } catch (err) {
      const e = gone.aborted ? ConnectError.from(gone.reason) : ConnectError.from(err);
      if (res.writableEnded || res.stream.destroyed || res.headersSent) return e.code;
      const trailers: Record<string, string> = {
        "content-type": "application/grpc+proto",
        "grpc-status": String(e.code),
        "grpc-message": encodeGrpcMessage(e.rawMessage),
      };
      const retry = e.metadata.get(RETRY_AFTER_MS);
      if (retry) trailers[RETRY_AFTER_MS] = retry;
      res.writeHead(200, trailers);
      res.end();
      return e.code;
    } finally {
      clearTimeout(deadline);
    }
  }
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
