// connect-es's services on Node's requests: what connect-node's connectNodeAdapter does (route
// by path, hand the request to connect-es's handler, write its answer), plus one correction.
// connect-es answers a request message it cannot parse (malformed protobuf, garbage in a
// gRPC frame) with `internal`, as if the server were broken, and a gRPC or gRPC-Web body of
// no message or of two with `unimplemented`, as if the method did not exist; both are the
// caller's mistake, so such an answer becomes `invalid_argument` with the same message (as
// the lean gRPC path and the gateway's relays answer them: request-body.ts). connect-es reads
// a unary request before any interceptor runs, so "internal or unimplemented, and the call
// pipeline never started" is exactly a request that could not be read. (Streams read their
// request message in the pipeline's interceptor, which makes the same correction:
// pipeline-interceptor.ts.)
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createConnectRouter,
  type Interceptor,
} from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { FLAG_TRAILER, FrameReader } from "../frame.js";
import { callKey } from "../pipeline.js";
import {
  connectUnaryError,
  errorFromConnectUnary,
  errorFromGrpcStatus,
  fromGrpcWebTrailer,
  grpcWebTrailerFrame,
} from "../wire-errors.js";
import type { HttpRequest, HttpResponse } from "./server.js";

export interface AdapterOptions {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  readMaxBytes: number;
  /** False: responses are never compressed (compressed requests are still read). */
  compressResponses: boolean;
  contextValues: (req: HttpRequest) => ContextValues;
  /** Requests whose path is not an RPC. */
  fallback: (req: HttpRequest, res: HttpResponse) => void;
  onError: (method: string, err: unknown) => void;
}

export function connectAdapter(options: AdapterOptions): (req: HttpRequest, res: HttpResponse) => void {
  const router = createConnectRouter({
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    // connect-es compresses a message of at least this many bytes when the client accepts it.
    ...(options.compressResponses ? {} : { compressMinBytes: Number.POSITIVE_INFINITY }),
  });
  options.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = paths.get((req.url ?? "").split("?", 2)[0] ?? "");
    if (handler === undefined) {
      options.fallback(req, res);
      return;
    }
    const values = options.contextValues(req);
    const uReq = universalRequestFromNodeRequest(req, res, undefined, values);
    handler(uReq)
      .then(async (uRes) => {
        const fixed = values.get(callKey) === undefined ? await unreadableAsInvalid(uRes) : uRes;
        await universalResponseToNodeResponse(fixed, res);
      })
      .catch((err: unknown) => {
        if (ConnectError.from(err).code === Code.Aborted) return;
        options.onError(`${handler.service.typeName}/${handler.method.name}`, err);
      });
  };
}

/**
 * An `internal` or `unimplemented` answer of a call whose pipeline never started (a request
 * that could not be read), as `invalid_argument` with the same message, in its protocol's
 * form: Connect (HTTP 500 and a JSON error), gRPC (the trailers' status), gRPC-Web (the last
 * frame's status). Any other answer as it is.
 */
async function unreadableAsInvalid(uRes: UniversalServerResponse): Promise<UniversalServerResponse> {
  const type = uRes.header?.get("content-type") ?? "";
  if (type.startsWith("application/json") && uRes.status === 500) {
    const body = await readAll(uRes.body);
    const err = errorFromConnectUnary(uRes.status, uRes.header ?? new Headers(), body);
    if (!unreadable(err)) return { ...uRes, body: once(body) };
    const answer = connectUnaryError(invalid(err));
    return { ...uRes, status: answer.status, header: new Headers(answer.headers), body: once(answer.body) };
  }
  if (type.startsWith("application/grpc-web")) {
    const body = await readAll(uRes.body);
    const reader = new FrameReader();
    reader.push(body);
    const frames = [];
    for (let f = reader.next(); f !== undefined; f = reader.next()) frames.push(f);
    const last = frames.at(-1);
    if (frames.length !== 1 || last === undefined || (last.flags & FLAG_TRAILER) === 0) {
      return { ...uRes, body: once(body) };
    }
    const { trailers, error } = fromGrpcWebTrailer(last.message);
    if (error === undefined || !unreadable(error)) return { ...uRes, body: once(body) };
    for (const name of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) trailers.delete(name);
    return { ...uRes, body: once(grpcWebTrailerFrame(invalid(error), trailers)) };
  }
  if (type.startsWith("application/grpc") && uRes.trailer !== undefined) {
    const error = errorFromGrpcStatus(uRes.trailer);
    if (unreadable(error)) uRes.trailer.set("grpc-status", String(Code.InvalidArgument));
  }
  return uRes;
}

/** What connect-es answers a request it could not read with (see the top of this file). */
function unreadable(err: ConnectError | undefined): boolean {
  return err?.code === Code.Internal || err?.code === Code.Unimplemented;
}

function invalid(err: ConnectError): ConnectError {
  return new ConnectError(err.rawMessage, Code.InvalidArgument);
}

async function readAll(body: UniversalServerResponse["body"]): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

function once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      yield bytes;
    },
  };
}
