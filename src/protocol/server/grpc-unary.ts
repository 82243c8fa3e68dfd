// gRPC unary calls of chosen methods served without connect-es's call machinery: the request
// is read, decoded, handed to the same method implementation with a HandlerContext, and the
// answer written as headers, one message and
// trailers (Connect JSON calls of the same methods take a path of the same kind:
// connect-json-unary.ts). Why: on connect-es 2.2 every call runs through a chain of async
// generators and abort controllers that cost about 1 ms of CPU per empty Get here and that V8 promotes to the
// old generation (they outlive the scavenges that should free them), which makes 5-10 ms
// scavenge pauses: the p99 of every Get, Ack and Rollback, the calls a consumer makes per
// batch. Other protocols (binary Connect, gRPC-Web, gRPC with JSON), compressed requests and
// every other method take connect-es's path, with identical results
// (test/integration/http-server.test.ts).
// The call pipeline's hooks run here as on connect-es's path, once the request is decoded.
import type * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { encodeFrame } from "../frame.js";
import type { Call } from "../pipeline.js";
import { grpcStatusFields, headerRecord } from "../wire-errors.js";
import { abortError, watchCall } from "./call-guard.js";
import { CONNECT_JSON, takeConnectJson } from "./connect-json-unary.js";
import { leanGrpcDeadline, readLeanGrpc } from "./grpc-request.js";
import {
  type LeanOptions,
  type LeanService,
  leanCall,
  leanRoutes,
  type Route,
  runLean,
} from "./lean-context.js";
import type { HttpRequest, HttpResponse } from "./server.js";
import { endWithGrpcStatus } from "./trailers-only.js";

/**
 * Returns a handler that serves the chosen methods over HTTP/2 gRPC (uncompressed) and
 * returns true, or returns false for anything else. `force` ends calls still running with its
 * reason (the server's shutdown timeout passed).
 */
export function createGrpcUnaryHandler(
  services: LeanService[],
  opts: LeanOptions,
): (req: HttpRequest, res: HttpResponse) => boolean {
  const routes = leanRoutes<Route>(services, "unary");
  return (req, res) => {
    if (req.method !== "POST") return false;
    const route = routes.get(req.url ?? "");
    if (route === undefined) return false;
    const type = req.headers["content-type"] ?? "";
    if (CONNECT_JSON.test(type)) return takeConnectJson(route, req, res, opts);
    const deadline = leanGrpcDeadline(req);
    if (deadline === undefined) return false;
    void serve(
      route,
      req as http2.Http2ServerRequest,
      res as http2.Http2ServerResponse,
      deadline.timeoutMs,
      opts,
    );
    return true;
  };
}

async function serve(
  route: Route,
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
  timeoutMs: number | undefined,
  opts: LeanOptions,
): Promise<void> {
  // One cancel for the call: the client going away, the deadline; ctx.signal is made from it
  // only if the handler reads it (connect-es's createHandlerContext links three abort
  // controllers for this, at ~50 µs a call).
  const { cancel: gone, deadlineAt, done } = watchCall(res, timeoutMs);
  let call: Call | undefined;
  try {
    const { input, wire } = await readLeanGrpc(req, route.method.input, opts.readMaxBytes);
    call = leanCall(route, input, wire);
    const { ctx, output } = await runLean(call, route, input, wire, { gone, deadlineAt }, opts);
    const message = toBinary(route.method.output, create(route.method.output, output as never));
    if (res.writableEnded || res.stream.destroyed) return;
    res.writeHead(200, { ...headerRecord(ctx.responseHeader), "content-type": "application/grpc+proto" });
    res.write(encodeFrame(message));
    res.addTrailers({ ...headerRecord(ctx.responseTrailer), ...grpcStatusFields(undefined) });
    res.end();
    if (call !== undefined) opts.pipeline.end(call);
  } catch (err) {
    const e = gone.aborted ? abortError(gone) : ConnectError.from(err);
    if (call !== undefined) opts.pipeline.end(call, e);
    if (res.writableEnded || res.stream.destroyed || res.headersSent) return;
    // Trailers-only answer, as connect-es writes it: status, message, details and the error's
    // metadata (retry-after-ms...).
    endWithGrpcStatus(res, e);
  } finally {
    done();
  }
}
