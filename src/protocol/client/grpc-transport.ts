// gRPC over HTTP/2 with unary calls made directly on node:http2, streams by connect-es's call
// and connect-node's HTTP/2 client with a reader of their own.
//
// Why: connect-es's published build turns its async generators into ES2017 helpers that make
// a new generator function on every call, and V8 (Node 20) gives every new generator function
// an initial map in the old generation that points back to the function. Through that map,
// everything the call allocated stays reachable from the old generation until the next full
// GC: a connect-es unary call promoted about 30 KB (sampling heap profiler), every scavenge
// copied 2.5-2.9 MB and paused 9-22 ms, and a client doing nothing but sequential calls
// against an idle server had a p99 of 9 ms (p50 0.7 ms). The same call written with plain
// callbacks promotes almost nothing. Streams stay on connect-es's call (runStreamingCall: the
// deadline, the abort, interceptors) and connect-node's HTTP/2 client (its errors), but their
// messages are cut from the bytes here (ChunkedFrameReader): connect-es's envelope reader, at
// every chunk of a response, summed the lengths of the chunks it held and, once a message was
// whole, copied them into a new zeroed array: a batch of megabytes comes in hundreds of chunks,
// and that was about 5% of the TypeScript client's CPU per row (bench/delivery, ts-grpc).
//
// Same wire, same errors: the request and response headers, trailers and error mapping are
// connect-es's own (requestHeader, validateResponse, findTrailerError from
// @connectrpc/connect/protocol-grpc), on the same HTTP/2 connection as the streams (one
// Http2SessionManager, with its keep-alive pings). Interceptors need connect-es's call
// pipeline: with interceptors the unary calls use it too.
import type * as tls from "node:tls";
import { create, type DescMessage, isMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type Interceptor,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  createMethodUrl,
  runStreamingCall,
  type UniversalClientFn,
  type UniversalClientResponse,
} from "@connectrpc/connect/protocol";
import { requestHeader, validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc";
import { createGrpcTransport, createNodeHttpClient, Http2SessionManager } from "@connectrpc/connect-node";
import { ChunkedFrameReader, encodeFrame, FLAG_COMPRESSED, FrameReader } from "../frame.js";
import { errorFromGrpcStatus, webHeaders } from "../wire-errors.js";
import { parseBinary } from "./call-errors.js";
import { type Exchange, exchangeUnary, h2Exchange } from "./exchange.js";

export interface GrpcTransportOptions {
  baseUrl: string;
  /** For https:// URLs: the TLS options of the session's connection. */
  tls?: tls.ConnectionOptions;
  interceptors?: Interceptor[];
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  pingIdleConnection?: boolean;
}

export function createSluiceGrpcTransport(opts: GrpcTransportOptions): Transport {
  const sessionManager = new Http2SessionManager(
    opts.baseUrl,
    {
      pingIntervalMs: opts.pingIntervalMs,
      pingTimeoutMs: opts.pingTimeoutMs,
      pingIdleConnection: opts.pingIdleConnection,
    },
    opts.tls,
  );
  const base = createGrpcTransport({ ...opts, sessionManager });
  const httpClient = createNodeHttpClient({ httpVersion: "2", sessionProvider: () => sessionManager });
  const interceptors = opts.interceptors ?? [];
  const stream: Transport["stream"] = (method, signal, timeoutMs, header, input, contextValues) =>
    streamCall(
      httpClient,
      opts.baseUrl,
      interceptors,
      method,
      signal,
      timeoutMs,
      header,
      input,
      contextValues,
    );
  if (interceptors.length > 0) return { unary: base.unary, stream };
  const prefix = new URL(opts.baseUrl).pathname.replace(/\/+$/, "");
  const exchange = h2Exchange(sessionManager);
  return {
    unary(method, signal, timeoutMs, header, input) {
      const path = `${prefix}/${method.parent.typeName}/${method.name}`;
      return unaryCall(exchange, path, method, signal, timeoutMs, header, input);
    },
    stream,
  };
}

type StreamMethod = Parameters<Transport["stream"]>[0];

/**
 * A streaming call as connect-es's gRPC transport makes it (runStreamingCall, the same headers
 * without compression, the same checks of the response's headers and trailers), its messages
 * read by streamMessages.
 */
function streamCall<I extends DescMessage, O extends DescMessage>(
  httpClient: UniversalClientFn,
  baseUrl: string,
  interceptors: Interceptor[],
  method: StreamMethod & { input: I; output: O },
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: Parameters<Transport["stream"]>[3],
  input: AsyncIterable<unknown>,
  contextValues: Parameters<Transport["stream"]>[5],
): Promise<StreamResponse<I, O>> {
  const deadline = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
  return runStreamingCall<I, O>({
    interceptors,
    signal,
    timeoutMs: deadline,
    req: {
      stream: true,
      service: method.parent,
      method,
      requestMethod: "POST",
      url: createMethodUrl(baseUrl, method),
      header: requestHeader(true, deadline, header),
      contextValues: contextValues ?? createContextValues(),
      message: input as AsyncIterable<MessageShape<I>>,
    },
    next: async (req) => {
      const res = await httpClient({
        url: req.url,
        method: "POST",
        header: req.header,
        signal: req.signal,
        body: requestFrames(method.input, req.message),
      });
      const { foundStatus, headerError } = validateResponse(res.status, res.header);
      if (headerError !== undefined) throw headerError;
      return {
        ...req,
        header: res.header,
        trailer: res.trailer,
        message: streamMessages(method.output, res, foundStatus),
      };
    },
  });
}

/** Each request message as a frame. */
async function* requestFrames<I extends DescMessage>(
  schema: I,
  messages: AsyncIterable<MessageShape<I>>,
): AsyncIterable<Uint8Array> {
  for await (const m of messages) {
    yield encodeFrame(toBinary(schema, isMessage(m, schema) ? m : create(schema, m as never)));
  }
}

/**
 * The response's messages: whole frames from its chunks, each parsed; then, unless the status
 * came with the headers, the trailers' status (an error ends the iteration with it).
 */
async function* streamMessages<O extends DescMessage>(
  schema: O,
  res: UniversalClientResponse,
  foundStatus: boolean,
): AsyncIterable<MessageShape<O>> {
  const frames = new ChunkedFrameReader();
  for await (const chunk of res.body) {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (const frame of frames.push(bytes)) {
      if ((frame.flags & FLAG_COMPRESSED) !== 0) {
        // No grpc-accept-encoding was sent, so the server may not compress.
        throw new ConnectError(
          "protocol error: received a compressed message that was not asked for",
          Code.Internal,
        );
      }
      yield parseBinary(schema, frame.message);
    }
  }
  if (frames.pending > 0) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (!foundStatus) validateTrailer(res.trailer, res.header);
}

type UnaryMethod = Parameters<Transport["unary"]>[0];

function unaryCall<I extends DescMessage, O extends DescMessage>(
  exchange: Exchange,
  path: string,
  method: UnaryMethod & { input: I; output: O },
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: Parameters<Transport["unary"]>[3],
  input: Parameters<Transport["unary"]>[4],
): Promise<UnaryResponse<I, O>> {
  let body: Buffer;
  const requestHeaders: Record<string, string> = {};
  try {
    const message = isMessage(input, method.input) ? input : create(method.input, input as never);
    body = encodeFrame(toBinary(method.input, message));
    const deadline = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
    requestHeader(true, deadline, header).forEach((value, key) => {
      requestHeaders[key] = value;
    });
  } catch (err) {
    return Promise.reject(ConnectError.from(err, Code.Internal));
  }

  return exchangeUnary(exchange, path, requestHeaders, body, signal, timeoutMs, (raw) => {
    const header = webHeaders(raw.headers);
    const { foundStatus, headerError } = validateResponse(raw.status, header);
    if (headerError !== undefined) throw headerError;
    const trailer = raw.trailers !== undefined ? webHeaders(raw.trailers) : foundStatus ? header : undefined;
    if (trailer === undefined) {
      throw raw.error ?? new ConnectError("protocol error: missing status", Code.Internal);
    }
    const trailerError = errorFromGrpcStatus(trailer);
    if (trailerError !== undefined) throw trailerError;
    const message = parseSingleMessage(method.output, raw.body, trailer);
    return { stream: false, service: method.parent, method, header, message, trailer } as UnaryResponse<I, O>;
  });
}

/** The one message of a unary response (gRPC envelopes: flags byte, 4-byte length, message). */
function parseSingleMessage<O extends DescMessage>(schema: O, data: Buffer, trailer: Headers) {
  if (data.length === 0) {
    // A trailers-only response without an error status.
    throw new ConnectError(
      "protocol error: missing output message for unary method",
      trailer.has("grpc-status") ? Code.Unimplemented : Code.Unknown,
    );
  }
  const reader = new FrameReader();
  reader.push(data);
  const frame = reader.next();
  if (frame === undefined) throw new ConnectError("protocol error: incomplete envelope", Code.Internal);
  if (reader.pending > 0) {
    throw new ConnectError(
      "protocol error: received extra output message for unary method",
      Code.Unimplemented,
    );
  }
  if ((frame.flags & FLAG_COMPRESSED) !== 0) {
    // No grpc-accept-encoding was sent, so the server may not compress.
    throw new ConnectError(
      "protocol error: received a compressed message that was not asked for",
      Code.Internal,
    );
  }
  return parseBinary(schema, frame.message);
}
