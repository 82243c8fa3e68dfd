// Connect JSON unary calls (POST, application/json, uncompressed, HTTP/1.1 or 2) of the lean
// path's methods (grpc-unary.ts), served without connect-es's call machinery, as its gRPC calls
// are: the JSON read with connect-es's rules, the pipeline's hooks run, the same implementation
// called with a HandlerContext, the answer written as connect-es writes it (200,
// application/json, the message in proto3 JSON; an error as Connect's JSON error with its
// metadata as headers). Besides connect-es's per-call cost (grpc-unary.ts), the reason is the
// answer: a handler may return a JsonAnswer (../json-answer.ts) whose bytes go out as they are,
// which is how the server sends a Get's entries in the JSON form it made once for every JSON
// client (src/server/encode/json-responses.ts). GET calls, compressed requests, answers the
// client would have compressed and malformed deadlines take connect-es's path.
import { create, type DescMessage, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { JsonAnswer, jsonAnswerKey } from "../json-answer.js";
import type { Call } from "../pipeline.js";
import { connectUnaryError, headerRecord, webHeaders } from "../wire-errors.js";
import { abortError, watchCall } from "./call-guard.js";
import { endWithParts } from "./end-with-parts.js";
import { type LeanOptions, type LeanWire, leanCall, type Route, runLean } from "./lean-context.js";
import { readRequestBody } from "./request-body.js";
import type { HttpRequest, HttpResponse } from "./server.js";
import { answerEnded } from "./stream-wire.js";

/** The content types of Connect JSON unary calls (connect-es's). */
export const CONNECT_JSON = /^application\/json(?:; ?charset=utf-?8)?$/i;

// connect-es reads JSON with unknown fields ignored and writes it with protobuf-es's defaults.
const JSON_READ = { ignoreUnknownFields: true };
const decoder = new TextDecoder();

/** Serves the call and returns true, or returns false to leave it to connect-es. */
export function takeConnectJson(
  route: Route,
  req: HttpRequest,
  res: HttpResponse,
  opts: LeanOptions,
): boolean {
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") return false;
  const timeout = req.headers["connect-timeout-ms"];
  if (timeout !== undefined && !/^\d{1,10}$/.test(timeout as string)) return false; // connect-es's error
  if (opts.compressResponses && req.headers["accept-encoding"] !== undefined) return false;
  void serve(route, req, res, timeout === undefined ? undefined : Number(timeout), opts);
  return true;
}

async function serve(
  route: Route,
  req: HttpRequest,
  res: HttpResponse,
  timeoutMs: number | undefined,
  opts: LeanOptions,
): Promise<void> {
  const { cancel: gone, deadlineAt, done } = watchCall(res, timeoutMs);
  let call: Call | undefined;
  try {
    const body = await readRequestBody(req, opts.readMaxBytes);
    const input = parse(route.method.input, body);
    const authority = req.headers[":authority"] ?? req.headers.host ?? "";
    const wire: LeanWire = {
      protocol: "connect",
      codec: "json",
      httpVersion: req.httpVersionMajor === 2 ? "2" : "1.1",
      headers: webHeaders(req.headers),
      socket: req.socket,
      url: `http://${authority}${req.url}`,
    };
    call = leanCall(route, input, wire);
    call.values.set(jsonAnswerKey, true);
    const { ctx, output } = await runLean(call, route, input, wire, { gone, deadlineAt }, opts);
    const answer =
      output instanceof JsonAnswer
        ? output
        : new JsonAnswer([
            Buffer.from(
              toJsonString(route.method.output, create(route.method.output, output as never)),
              "utf8",
            ),
          ]);
    if (answerEnded(res)) {
      opts.pipeline.end(call, Code.Canceled);
      return;
    }
    res.writeHead(200, {
      ...headerRecord(ctx.responseHeader),
      ...trailerHeaders(ctx.responseTrailer),
      "content-type": "application/json",
      "content-length": String(answer.length),
    });
    endWithParts(res, answer.parts);
    opts.pipeline.end(call);
  } catch (err) {
    const e = gone.aborted ? abortError(gone) : ConnectError.from(err);
    if (call !== undefined) opts.pipeline.end(call, e);
    if (answerEnded(res) || res.headersSent) return;
    const answer = connectUnaryError(e);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  } finally {
    done();
  }
}

/** The request message, read as connect-es reads it: a body that is not one is invalid_argument. */
function parse(schema: DescMessage, body: Buffer): unknown {
  try {
    return fromJsonString(schema, decoder.decode(body), JSON_READ);
  } catch (err) {
    throw ConnectError.from(err, Code.InvalidArgument);
  }
}

/** Trailers of a Connect unary answer: headers named `trailer-...`, as connect-es sends them. */
function trailerHeaders(trailers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  trailers.forEach((v, k) => {
    out[`trailer-${k}`] = v;
  });
  return out;
}
