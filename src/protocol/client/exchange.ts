// One HTTP request and its whole response, on node:http (HTTP/1.1) or node:http2, for the
// TypeScript client's unary calls (connect-transport.ts, grpc-transport.ts): the deadline, the caller's
// abort and Node's errors handled once, the protocol's reading of the answer left to the caller.
import * as http from "node:http";
import { constants as h2 } from "node:http2";
import * as https from "node:https";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Http2SessionManager } from "@connectrpc/connect-node";
import { nodeError, resetError } from "./call-errors.js";

/** What came back: status, headers and trailers (as Node gives them) and the whole body. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  trailers: http.IncomingHttpHeaders | undefined;
  body: Buffer;
  /** An HTTP/2 reset or stream error that came after the response headers. */
  error: ConnectError | undefined;
}
/** Sends one request; calls back once with the response or the error. Returns a canceller. */
export type Exchange = (
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  done: (err: ConnectError | undefined, res?: RawResponse) => void,
) => (reason: ConnectError) => void;

/**
 * Sends the request and resolves with what `read` makes of the response. The caller's abort
 * ends it `canceled`, `timeoutMs` (> 0) `deadline_exceeded`, both cancelling the request.
 */
export function exchangeUnary<T>(
  exchange: Exchange,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  read: (raw: RawResponse) => T,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (err: ConnectError | undefined, res?: T) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (err !== undefined) reject(err);
      else resolve(res as T);
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
        settle(undefined, read(raw));
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

/**
 * HTTP/1.1 on Node's global agent (keep-alive), as connect-node does without nodeOptions, or on
 * `agent` (an https.Agent with TLS options).
 */
export function h1Exchange(base: URL, agent?: http.Agent): Exchange {
  const lib = base.protocol === "https:" ? https : http;
  return (path, headers, body, done) => {
    const req = lib.request({
      ...(agent !== undefined ? { agent } : {}),
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
        finish(undefined, {
          status: res.statusCode ?? 0,
          headers: res.headers,
          trailers: res.trailers,
          body: Buffer.concat(chunks),
          error: undefined,
        }),
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
export function h2Exchange(sessionManager: Http2SessionManager): Exchange {
  return (path, headers, body, done) => {
    let stream: ClientStream | undefined;
    let cancelled: ConnectError | undefined;
    let status = 0;
    let responseHeaders: http.IncomingHttpHeaders | undefined;
    let trailers: http.IncomingHttpHeaders | undefined;
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
        s.on("trailers", (t) => {
          trailers = t;
        });
        s.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          sessionManager.notifyResponseByteRead(s);
        });
        s.on("error", (e) => {
          streamError = e;
        });
        s.on("close", () => {
          const error =
            resetError(s.rstCode) ?? (streamError !== undefined ? nodeError(streamError) : undefined);
          if (responseHeaders === undefined)
            done(error ?? new ConnectError("http/2 stream closed without a response", Code.Unavailable));
          else
            done(undefined, {
              status,
              headers: responseHeaders,
              trailers,
              body: Buffer.concat(chunks),
              error,
            });
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
