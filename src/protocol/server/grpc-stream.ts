// gRPC server streams of chosen methods served without connect-es's call machinery, as
// grpc-unary.ts serves unary calls: the request is read and decoded, the call pipeline's hooks
// run, and the same method implementation's messages are written as they come, with the
// status in trailers. Why: a handler's message already encoded (../encoded-answer.ts) is
// written here as its parts behind a 5-byte envelope, where connect-es's path copies it twice
// (toBinary, then its envelope): on the delivery path those copies and the garbage they make
// were about a tenth of the server's CPU per row (bench/delivery --cpu-prof). Other protocols
// (Connect streams, gRPC-Web) and compressed requests take connect-es's path, with identical
// results (test/integration/http-server.test.ts runs its gRPC stream tests on this path).
//
// The rules of connect-es's path hold here too: the handler's signal fires when the client goes
// away, at the deadline, and when the server starts to close (call-guard.ts); a forced
// shutdown ends the call with its reason even if the handler is stuck; a slow client slows the
// handler (its next message is asked for only once the last one was taken by HTTP/2).
import { once } from "node:events";
import type * as http2 from "node:http2";
import {
  create,
  type DescMethodServerStreaming,
  type DescService,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { CallCancel, type CancelSignal } from "../call-cancel.js";
import { EncodedMessage, encodedAnswerKey } from "../encoded-answer.js";
import { encodeFrame, FRAME_HEADER_BYTES } from "../frame.js";
import type { Call } from "../pipeline.js";
import { grpcStatusFields, headerRecord } from "../wire-errors.js";
import { abortError, raceAbort, shutdownSignalKey, watchCall } from "./call-guard.js";
import { leanGrpcDeadline, readLeanGrpc } from "./grpc-request.js";
import {
  type LeanContext,
  type LeanOptions,
  type LeanService,
  leanCall,
  leanRoutes,
  startLean,
} from "./lean-context.js";
import type { HttpRequest, HttpResponse } from "./server.js";
import { endTrailersOnly, endWithGrpcStatus } from "./trailers-only.js";

export interface GrpcStreamOptions extends LeanOptions {
  /** Fires when the server starts to close: handlers' signals fire with its reason. */
  shutdown: AbortSignal;
}

// biome-ignore lint/suspicious/noExplicitAny: implementations are typed by their service
type StreamImplementation = (request: any, context: LeanContext) => AsyncIterable<unknown>;

interface StreamRoute {
  service: DescService;
  method: DescMethodServerStreaming;
  impl: StreamImplementation;
}

/**
 * Returns a handler that serves the chosen methods over HTTP/2 gRPC (uncompressed) and returns
 * true, or returns false for anything else.
 */
export function createGrpcStreamHandler(
  services: LeanService[],
  opts: GrpcStreamOptions,
): (req: HttpRequest, res: HttpResponse) => boolean {
  const routes = leanRoutes<StreamRoute>(services, "server_streaming");
  return (req, res) => {
    if (req.method !== "POST") return false;
    const route = routes.get(req.url ?? "");
    if (route === undefined) return false;
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
  route: StreamRoute,
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
  timeoutMs: number | undefined,
  opts: GrpcStreamOptions,
): Promise<void> {
  const { cancel: gone, deadlineAt, done } = watchCall(res, timeoutMs);
  const handler = handlerCancel(gone, opts.shutdown);
  let call: Call | undefined;
  let messages: AsyncIterator<unknown> | undefined;
  try {
    const { input, wire } = await readLeanGrpc(req, route.method.input, opts.readMaxBytes);
    call = leanCall(route, input, wire, true);
    call.values.set(encodedAnswerKey, true);
    call.values.set(shutdownSignalKey, opts.shutdown);
    const ctx = await startLean(call, route, wire, { gone, deadlineAt, handler: handler.cancel }, opts);
    messages = route.impl(input, ctx)[Symbol.asyncIterator]();
    for (;;) {
      // The client gone or the deadline passed ends the call even while the handler waits.
      const r = await raceAbort(messages.next(), [gone, opts.force]);
      if (r.done) break;
      if (!res.headersSent) {
        res.writeHead(200, { ...headerRecord(ctx.responseHeader), "content-type": "application/grpc+proto" });
      }
      await writeMessage(res, route, r.value, gone, opts.force);
    }
    messages = undefined;
    if (!res.writableEnded && !res.stream.destroyed) {
      const trailers = { ...headerRecord(ctx.responseTrailer), ...grpcStatusFields(undefined) };
      if (res.headersSent) {
        res.addTrailers(trailers);
        res.end();
      } else endTrailersOnly(res, { "content-type": "application/grpc+proto", ...trailers });
    }
    opts.pipeline.end(call);
  } catch (err) {
    const e = gone.aborted ? abortError(gone) : ConnectError.from(err);
    if (call !== undefined) opts.pipeline.end(call, e);
    // A generator busy in an await takes return() only at its next yield: do not wait for it.
    messages?.return?.().catch(() => {});
    if (res.writableEnded || res.stream.destroyed) return;
    if (res.headersSent) {
      res.addTrailers(grpcStatusFields(e));
      res.end();
    } else endWithGrpcStatus(res, e);
  } finally {
    done();
    handler.release();
  }
}

/** A message as one frame: an EncodedMessage's parts as they are, any other encoded here. */
async function writeMessage(
  res: http2.Http2ServerResponse,
  route: StreamRoute,
  message: unknown,
  gone: CancelSignal,
  force: AbortSignal,
): Promise<void> {
  let fits: boolean;
  if (message instanceof EncodedMessage) {
    const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    head[0] = 0;
    head.writeUInt32BE(message.length, 1);
    // Corked: the parts go to HTTP/2 in one writev, not one write each.
    res.stream.cork();
    fits = res.write(head);
    for (const part of message.parts) fits = res.write(part);
    res.stream.uncork();
  } else {
    const shape = create(route.method.output, message as MessageShape<typeof route.method.output>);
    fits = res.write(encodeFrame(toBinary(route.method.output, shape)));
  }
  // Back-pressure: the next message is asked for once HTTP/2 took this one.
  if (!fits && !res.stream.destroyed) await raceAbort(once(res, "drain"), [gone, force]);
}

/** The handler's cancel: fires when the call's does or the server starts to close. */
function handlerCancel(gone: CallCancel, shutdown: AbortSignal): { cancel: CallCancel; release(): void } {
  const cancel = new CallCancel();
  const onGone = () => cancel.abort(gone.reason);
  const onShutdown = () => cancel.abort(shutdown.reason);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener("abort", onShutdown, { once: true });
  gone.addEventListener("abort", onGone);
  return {
    cancel,
    release() {
      gone.removeEventListener("abort", onGone);
      shutdown.removeEventListener("abort", onShutdown);
    },
  };
}
