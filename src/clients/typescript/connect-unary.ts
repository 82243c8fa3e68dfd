// The Connect protocol with unary calls made directly on node:http (HTTP/1.1) or node:http2,
// streams by connect-node. Why: the same as grpc-unary.ts (connect-es's call pipeline leaves
// about 30 KB per unary call to the old generation under Node 20, and the client's own GC
// pauses then set its p99).
//
// Same wire, same errors: connect-es's requestHeader, validateResponseWithCompression,
// trailerDemux and errorFromJsonBytes, connect-node's error mapping, and for HTTP/2 one
// Http2SessionManager shared with the streams. Differences from connect-node's unary calls:
// no Accept-Encoding is sent, so responses come uncompressed (sluice's responses are protobuf
// or JSON of row text: gzip costs the server more CPU per batch than loopback or a LAN saves;
// use connect-node's transport with interceptors for compression), and no HTTP GET.
// Interceptors need connect-es's call pipeline: with interceptors every call uses it.
import * as http from "node:http";
import { constants as h2 } from "node:http2";
import * as https from "node:https";
import { create, type DescMessage, isMessage, toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  appendHeaders,
  Code,
  ConnectError,
  type Interceptor,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  errorFromJsonBytes,
  requestHeader,
  trailerDemux,
  validateResponseWithCompression,
} from "@connectrpc/connect/protocol-connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { nodeError, parseBinary, parseJson, resetError, webHeaders } from "./node-call-errors.js";

export interface ConnectTransportOptions {
  baseUrl: string;
  httpVersion: "1.1" | "2";
  useBinaryFormat: boolean;
  interceptors?: Interceptor[];
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  pingIdleConnection?: boolean;
}

type UnaryMethod = Parameters<Transport["unary"]>[0];
type Header = Parameters<Transport["unary"]>[3];
type Input = Parameters<Transport["unary"]>[4];
/** What came back: status, headers (as node gives them) and the whole body. */
interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}
/** Sends one request; calls back once with the response or the error. Returns a canceller. */
type Exchange = (
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  done: (err: ConnectError | undefined, res?: RawResponse) => void,
) => (reason: ConnectError) => void;

export function createSluiceConnectTransport(opts: ConnectTransportOptions): Transport {
  const sessionManager =
    opts.httpVersion === "2"
      ? new Http2SessionManager(opts.baseUrl, {
          pingIntervalMs: opts.pingIntervalMs,
          pingTimeoutMs: opts.pingTimeoutMs,
          pingIdleConnection: opts.pingIdleConnection,
        })
      : undefined;
  const base =
    sessionManager !== undefined
      ? createConnectTransport({ ...opts, httpVersion: "2", sessionManager })
      : createConnectTransport({ ...opts, httpVersion: "1.1" });
  if ((opts.interceptors?.length ?? 0) > 0) return base;
  const url = new URL(opts.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, "");
  const exchange = sessionManager !== undefined ? h2Exchange(sessionManager) : h1Exchange(url);
  return {
    unary(method, signal, timeoutMs, header, input) {
      const path = `${prefix}/${method.parent.typeName}/${method.name}`;
      return unaryCall(exchange, opts.useBinaryFormat, path, method, signal, timeoutMs, header, input);
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      return base.stream(method, signal, timeoutMs, header, input, contextValues);
    },
  };
}

function unaryCall<I extends DescMessage, O extends DescMessage>(
  exchange: Exchange,
  binary: boolean,
  path: string,
  method: UnaryMethod & { input: I; output: O },
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: Header,
  input: Input,
): Promise<UnaryResponse<I, O>> {
  if (signal?.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
  let body: Buffer;
  const headers: Record<string, string> = {};
  try {
    const message = isMessage(input, method.input) ? input : create(method.input, input as never);
    body = binary
      ? Buffer.from(toBinary(method.input, message))
      : Buffer.from(toJsonString(method.input, message), "utf8");
    const deadline = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
    requestHeader("unary", binary, deadline, header, true).forEach((value, key) => {
      headers[key] = value;
    });
    headers["content-length"] = String(body.length);
  } catch (err) {
    return Promise.reject(ConnectError.from(err, Code.Internal));
  }

  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (err: ConnectError | undefined, res?: UnaryResponse<I, O>) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (err !== undefined) reject(err);
      else resolve(res as UnaryResponse<I, O>);
    };
    // Ended from this side (abort, deadline): the exchange is cancelled. An exchange that ended
    // by itself is not touched again (its HTTP/1.1 socket may be back in the agent's pool).
    const stop = (err: ConnectError) => {
      if (settled) return;
      cancel(err);
      settle(err);
    };
    const onAbort = () => stop(ConnectError.from(signal?.reason, Code.Canceled));
    const cancel = exchange(path, headers, body, (err, raw) => {
      if (err !== undefined || raw === undefined) {
        settle(err ?? new ConnectError("no response", Code.Internal));
        return;
      }
      try {
        settle(undefined, response(method, binary, raw));
      } catch (e) {
        settle(ConnectError.from(e, Code.Internal));
      }
    });
    if (settled) return;
    signal?.addEventListener("abort", onAbort);
    if (timeoutMs !== undefined && timeoutMs > 0) {
      timer = setTimeout(
        () => stop(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
        timeoutMs,
      );
    }
  });
}

/** The message, or the error a Connect unary response carries (connect-es's own rules). */
function response<I extends DescMessage, O extends DescMessage>(
  method: UnaryMethod & { input: I; output: O },
  binary: boolean,
  raw: RawResponse,
): UnaryResponse<I, O> {
  const all = webHeaders(raw.headers);
  const { isUnaryError, unaryError } = validateResponseWithCompression("unary", [], binary, raw.status, all);
  const [header, trailer] = trailerDemux(all);
  if (isUnaryError)
    throw errorFromJsonBytes(raw.body, appendHeaders(header, trailer), unaryError as ConnectError);
  const message = binary
    ? parseBinary(method.output, raw.body)
    : parseJson(method.output, raw.body.toString("utf8"));
  return { stream: false, service: method.parent, method, header, message, trailer } as UnaryResponse<I, O>;
}

/** HTTP/1.1 on Node's global agent (keep-alive), as connect-node does without nodeOptions. */
function h1Exchange(base: URL): Exchange {
  const lib = base.protocol === "https:" ? https : http;
  return (path, headers, body, done) => {
    const req = lib.request({
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      method: "POST",
      path,
      headers,
    });
    let finished = false;
    const finish = (err: ConnectError | undefined, res?: RawResponse) => {
      if (finished) return;
      finished = true;
      done(err, res);
    };
    req.on("error", (e) => finish(nodeError(e)));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e) => finish(nodeError(e)));
      res.on("aborted", () => finish(new ConnectError("the response was cut off", Code.Aborted)));
      res.on("end", () =>
        finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.end(body);
    return (reason) => {
      finished = true;
      req.destroy(reason);
    };
  };
}

type ClientStream = Awaited<ReturnType<Http2SessionManager["request"]>>;

/** HTTP/2 on the shared session (the streams' connection, with its keep-alive pings). */
function h2Exchange(sessionManager: Http2SessionManager): Exchange {
  return (path, headers, body, done) => {
    let stream: ClientStream | undefined;
    let cancelled: ConnectError | undefined;
    let status = 0;
    let responseHeaders: http.IncomingHttpHeaders | undefined;
    let streamError: unknown;
    const chunks: Buffer[] = [];
    sessionManager.request("POST", path, headers, {}).then(
      (s) => {
        if (cancelled !== undefined) {
          s.close(cancelled.code === Code.Canceled ? h2.NGHTTP2_CANCEL : h2.NGHTTP2_INTERNAL_ERROR);
          return;
        }
        stream = s;
        s.on("response", (h) => {
          status = Number(h[":status"]);
          responseHeaders = h;
        });
        s.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          sessionManager.notifyResponseByteRead(s);
        });
        s.on("error", (e) => {
          streamError = e;
        });
        s.on("close", () => {
          const err =
            resetError(s.rstCode) ?? (streamError !== undefined ? nodeError(streamError) : undefined);
          if (err !== undefined) done(err);
          else if (responseHeaders === undefined)
            done(new ConnectError("http/2 stream closed without a response", Code.Unavailable));
          else done(undefined, { status, headers: responseHeaders, body: Buffer.concat(chunks) });
        });
        s.end(body);
      },
      (err: unknown) => done(nodeError(err)),
    );
    return (reason) => {
      cancelled = reason;
      if (stream !== undefined && !stream.closed) {
        stream.close(reason.code === Code.Canceled ? h2.NGHTTP2_CANCEL : h2.NGHTTP2_INTERNAL_ERROR);
      }
    };
  };
}
