// One TCP port for everything Connect: HTTP/1.1 and HTTP/2, in cleartext (h2c, prior knowledge)
// or over TLS, and on them the Connect (JSON and binary), gRPC and gRPC-Web protocols. Used by
// `sluice server` and `sluice gateway`. See docs/http.md.
//
// Node's http2.createServer does not answer HTTP/1.1 in cleartext (its allowHTTP1 fallback needs
// TLS and ALPN), so a plain net.Server accepts the connections and looks at their first bytes:
// the HTTP/2 client preface hands the socket to an http2 server, anything else to an http
// (HTTP/1.1) server. Neither of those listens itself. connect-node's adapter serves both.
// With TLS a tls.Server accepts them instead, offering "h2" and "http/1.1" by ALPN; the
// decrypted first bytes are sniffed as in cleartext (a client that offers no ALPN is served
// too).
import { setMaxListeners } from "node:events";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { Code, ConnectError, type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { capTimeoutHeaders, MAX_TIMER_MS } from "../deadline.js";
import { boundStatusDetails, reencodeGrpcMessage } from "../grpc-message.js";
import { CallPipeline } from "../pipeline.js";
import { type ClientAuth, clientRefusal, type TlsListenOptions, tlsServerOptions } from "../tls.js";
import { connectAdapter } from "./adapter.js";
import { callGuard } from "./call-guard.js";
import { createGrpcStreamHandler } from "./grpc-stream.js";
import { createGrpcUnaryHandler } from "./grpc-unary.js";
import type { LeanService } from "./lean-context.js";
import { callTransportKey, pipelineInterceptor } from "./pipeline-interceptor.js";
import { sniffProtocol } from "./preface.js";

/** What the server logs through: sluice's Logger fits (the protocol does not import it). */
export interface ServerLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

const silentLogger: ServerLogger = { debug() {}, info() {}, warn() {} };

export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface ConnectServerOptions {
  /** Address to listen on, e.g. "0.0.0.0", "127.0.0.1", "::". */
  host: string;
  /** Port to listen on; 0 picks a free one (see ConnectServer.port). */
  port: number;
  /** Registers the services: `(router) => { router.service(CanalService, impl); }`. */
  routes: (router: ConnectRouter) => void;
  /**
   * Plain HTTP endpoints (health, status page...), asked for every request whose path is not an
   * RPC. Return true when the request was handled (a response was or will be sent); false gives
   * 404. Served over HTTP/1.1 and HTTP/2 alike.
   */
  extraHandlers?: (req: HttpRequest, res: HttpResponse) => boolean;
  /**
   * Asked first for every request, before Connect: return true when it handled the request
   * itself (e.g. the gateway's byte-relaying path of gRPC and Connect streams). It runs outside
   * the call guard: it must end its calls on shutdown itself, and run `pipeline` on each call
   * itself.
   */
  preempt?: (req: HttpRequest, res: HttpResponse) => boolean;
  /**
   * Unary methods whose gRPC calls (HTTP/2, uncompressed) and Connect JSON calls (POST,
   * uncompressed) are served without connect-es's call machinery (grpc-unary.ts,
   * connect-json-unary.ts): the same implementations, much less CPU per call, the same
   * pipeline; a handler may answer a Connect JSON call with its JSON bytes (../json-answer.ts).
   */
  leanUnary?: LeanService[];
  /**
   * Server-streaming methods served over gRPC (HTTP/2, uncompressed) without connect-es's call
   * machinery (grpc-stream.ts): the same implementations and pipeline; a handler may yield a
   * message already encoded (../encoded-answer.ts), written without a copy.
   */
  leanStream?: LeanService[];
  /** The hooks every call runs (../pipeline.ts): on connect-es's path and the lean one. */
  pipeline?: CallPipeline;
  logger?: ServerLogger;
  /**
   * Longest deadline a client may ask for, in milliseconds: a longer `connect-timeout-ms` or
   * `grpc-timeout` is lowered to this (not refused). Calls without a deadline keep none.
   * Default and upper bound: 2^31-1 ms (Node's longest timer).
   */
  maxTimeoutMs?: number;
  /**
   * How long close() lets calls run before it ends them with unavailable and drops the
   * connections that are left. Default 10000.
   */
  shutdownTimeoutMs?: number;
  /**
   * Compress responses when the client accepts gzip or brotli (default true). Compressed
   * requests are read either way.
   */
  compressResponses?: boolean;
  /** Largest request message accepted, in bytes (resource_exhausted above). Default 4 MiB. */
  readMaxBytes?: number;
  /**
   * A connection that sends nothing for this long after connecting (or, with TLS, that has not
   * finished its handshake) is dropped. Default 10000.
   */
  firstBytesTimeoutMs?: number;
  /** Serve over TLS only (../tls.ts); absent: cleartext. */
  tls?: TlsListenOptions | undefined;
}

export interface ConnectServer {
  /** The port listened on (the one picked when port 0 was asked for). */
  readonly port: number;
  /** "host:port" ("[::1]:port" for IPv6), as registered in ZooKeeper. */
  readonly address: string;
  /** "http://host:port" ("https://host:port" with TLS), for clients. */
  readonly url: string;
  /**
   * Graceful stop: stop accepting connections, close idle ones, let unary calls finish, fire the
   * signal of streaming handlers (they should end their stream; see docs/http.md); after
   * shutdownTimeoutMs end what still runs with unavailable and drop the connections. Resolves
   * when every connection is closed. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
const DEFAULT_READ_MAX_BYTES = 4 * 1024 * 1024;
const DEFAULT_FIRST_BYTES_TIMEOUT_MS = 10_000;
/** After calls were ended at the shutdown timeout: time to send their errors before dropping. */
const FORCED_END_FLUSH_MS = 250;
/** A plain (non-RPC) response waits for the request body, up to this size and time. */
const BODY_DRAIN_LIMIT = 1024 * 1024;
const BODY_DRAIN_MS = 2_000;

/**
 * Runs `respond` once the request body is read (at most BODY_DRAIN_LIMIT bytes or
 * BODY_DRAIN_MS): an HTTP/2 response that ends before the request body was read ends the stream
 * with RST_STREAM, which curl reports as an error.
 */
function afterBody(req: HttpRequest, respond: () => void): void {
  if (req.complete || req.readableEnded) {
    respond();
    return;
  }
  let read = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    req.off("data", onData);
    respond();
  };
  const onData = (chunk: Buffer) => {
    read += chunk.length;
    if (read > BODY_DRAIN_LIMIT) finish();
  };
  const timer = setTimeout(finish, BODY_DRAIN_MS);
  req.on("data", onData);
  req.once("end", finish);
  req.once("error", finish);
}

/** How much of an upload HTTP/1.1 reads and drops after its response, and for how long. */
const UPLOAD_LINGER_BYTES = 256 * 1024 * 1024;
const UPLOAD_LINGER_MS = 30_000;

/**
 * HTTP/1.1: a response can end before its request was read to the end (a message refused as
 * larger than the limit, an error found before the body was needed). Left so, the client's
 * upload stalls against a paused socket until the keep-alive timeout resets the connection,
 * and a client that reads the answer only after sending (connect-es does) reports ECONNRESET
 * instead of the answer. So once the response is out, the rest of the upload is read and
 * dropped, as nginx's lingering close does: at most UPLOAD_LINGER_BYTES within
 * UPLOAD_LINGER_MS, then the connection is closed. `closing`: the server is shutting down, so
 * the connection goes at once.
 *
 * HTTP/2 needs nothing here: flow control stops the upload, and the clients tried (connect-es,
 * grpc-js, curl) end the stream once they have the whole answer. RST_STREAM NO_ERROR after the
 * answer (RFC 9113 section 8.1) was tried and dropped: connect-es's client fails such a call
 * with "Premature close" although it has the answer.
 */
function endUploadAfterResponse(req: HttpRequest, res: HttpResponse, closing: () => boolean): void {
  if (req.httpVersionMajor !== 1) return;
  // Taken now: Node detaches the socket from an exchange once its response is out.
  const socket = req.socket;
  res.once("finish", () => {
    if (req.complete || socket.destroyed) return;
    // Node drops the body of a request nobody read (IncomingMessage._dump, as it does itself for
    // those); one a handler stopped reading, or destroyed (connect-es's body iterator does when it
    // stops early), otherwise keeps the socket paused until the keep-alive timeout resets it.
    const dump = (req as { _dump?: () => void })._dump;
    if (closing() || typeof dump !== "function") {
      socket.destroy();
      return;
    }
    let read = 0;
    const timer = setTimeout(() => socket.destroy(), UPLOAD_LINGER_MS);
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (req.complete) stop();
      else if (read > UPLOAD_LINGER_BYTES) socket.destroy();
    };
    const stop = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", stop);
    };
    socket.on("data", onData);
    socket.once("close", stop);
    dump.call(req);
    socket.resume();
  });
}

function plain(res: HttpResponse, status: number, text: string): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text);
}

/**
 * Re-encodes the grpc-message trailer of a gRPC response as the gRPC spec says, and bounds the
 * status details (see grpc-message.ts).
 */
function fixGrpcMessage(res: HttpResponse): void {
  const addTrailers = res.addTrailers.bind(res) as (headers: Record<string, unknown>) => void;
  res.addTrailers = (headers: Record<string, unknown>) => {
    const message = headers["grpc-message"];
    if (typeof message === "string") headers["grpc-message"] = reencodeGrpcMessage(message);
    boundStatusDetails(headers);
    addTrailers(headers);
  };
}

export async function startConnectServer(options: ConnectServerOptions): Promise<ConnectServer> {
  const log = options.logger ?? silentLogger;
  const maxTimeoutMs = Math.min(options.maxTimeoutMs ?? MAX_TIMER_MS, MAX_TIMER_MS);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const firstBytesTimeoutMs = options.firstBytesTimeoutMs ?? DEFAULT_FIRST_BYTES_TIMEOUT_MS;
  const shutdown = new AbortController();
  const force = new AbortController();
  // Every open call listens to these two; Node warns of a leak past 10 listeners on a signal,
  // which eleven long-polling consumers reach.
  setMaxListeners(0, shutdown.signal, force.signal);
  let closing = false;
  const pipeline = options.pipeline ?? new CallPipeline();

  const connectHandler = connectAdapter({
    routes: options.routes,
    // The pipeline outermost: its hooks end each call with the error the client gets.
    interceptors: [
      pipelineInterceptor(pipeline),
      callGuard({ shutdown: shutdown.signal, force: force.signal }),
    ],
    readMaxBytes: options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
    compressResponses: options.compressResponses ?? true,
    contextValues(req) {
      const values = createContextValues();
      values.set(callTransportKey, {
        socket: req.socket,
        httpVersion: req.httpVersionMajor === 2 ? "2" : "1.1",
      });
      return values;
    },
    fallback,
    onError: (method, err) => log.warn("a call's answer could not be written", { method, error: err }),
  });

  const leanStream = options.leanStream?.length
    ? createGrpcStreamHandler(options.leanStream, {
        readMaxBytes: options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
        compressResponses: options.compressResponses ?? true,
        force: force.signal,
        shutdown: shutdown.signal,
        pipeline,
      })
    : undefined;
  const leanUnary = options.leanUnary?.length
    ? createGrpcUnaryHandler(options.leanUnary, {
        readMaxBytes: options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
        compressResponses: options.compressResponses ?? true,
        force: force.signal,
        pipeline,
      })
    : undefined;

  function fallback(req: HttpRequest, res: HttpResponse): void {
    try {
      if (options.extraHandlers?.(req, res)) return;
    } catch (err) {
      log.warn("http handler failed", { path: req.url, error: err });
      if (res.headersSent) res.end();
      else afterBody(req, () => plain(res, 500, "internal error\n"));
      return;
    }
    afterBody(req, () => plain(res, 404, "not found\n"));
  }

  function onRequest(req: HttpRequest, res: HttpResponse): void {
    capTimeoutHeaders(req.headers, maxTimeoutMs);
    if (/^application\/grpc(?:$|[+;])/i.test(req.headers["content-type"] ?? "")) {
      fixGrpcMessage(res);
    }
    try {
      // Every HTTP/1.1 request, whoever answers it (the gateway's relays answer binary Connect
      // calls themselves): the rest of a refused upload is read and dropped, within bounds.
      endUploadAfterResponse(req, res, () => closing);
      if (leanUnary?.(req, res)) return;
      if (leanStream?.(req, res)) return;
      if (options.preempt?.(req, res)) return;
      connectHandler(req, res);
    } catch (err) {
      // connect-node throws synchronously on requests it cannot read, e.g. HTTP/1.0 without Host.
      log.debug("bad request", { path: req.url, error: err });
      if (!res.headersSent) {
        const message = ConnectError.from(err).rawMessage;
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: "invalid_argument", message }));
      } else {
        res.end();
      }
    }
  }

  // HTTP/1.1. It does not listen: sockets come from the sniffer.
  const h1Active = new Map<net.Socket, number>();
  const h1 = http.createServer((req, res) => {
    const socket = req.socket;
    h1Active.set(socket, (h1Active.get(socket) ?? 0) + 1);
    if (closing) res.setHeader("connection", "close");
    res.once("close", () => {
      const active = h1Active.get(socket);
      if (active === undefined) return; // the connection is gone
      const left = active - 1;
      h1Active.set(socket, left);
      // While closing, a keep-alive connection ends with its last response.
      if (closing && left === 0 && !socket.destroyed) socket.end();
    });
    onRequest(req, res);
  });
  // Node starts the headersTimeout/requestTimeout checks of an http.Server when it listens; this
  // one never does, so start them by hand (slow or silent clients get 408 and are dropped). Bad
  // requests get Node's default answers (400, 431...), there is no clientError listener.
  h1.emit("listening");

  // HTTP/2 with prior knowledge. It does not listen either.
  const h2 = http2.createServer({}, onRequest);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  h2.on("sessionError", (err: Error) => log.debug("http/2 session error", { error: err }));

  // The listener: hands each connection to the HTTP/2 or the HTTP/1.1 server, by ALPN or by
  // its first bytes.
  const sockets = new Set<net.Socket>();
  const sniffing = new Set<net.Socket>();
  const toH2 = (socket: net.Socket) => {
    // As an http2.Server's own sockets: the connection ends when the client's side does.
    socket.allowHalfOpen = false;
    h2.emit("connection", socket);
  };
  const toH1 = (socket: net.Socket) => {
    h1Active.set(socket, 0);
    h1.emit("connection", socket);
  };
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", (err: NodeJS.ErrnoException) =>
      log.debug("connection error", { error: err, code: err.code }),
    );
    socket.once("close", () => {
      sockets.delete(socket);
      sniffing.delete(socket);
      h1Active.delete(socket);
    });
  };
  const accept = (socket: net.Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sniffing.add(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), firstBytesTimeoutMs);
    socket.once("close", () => clearTimeout(timer));
    const stopSniffing = () => {
      clearTimeout(timer);
      sniffing.delete(socket);
      socket.off("data", onData);
      socket.off("end", onEnd);
    };
    const onEnd = () => {
      stopSniffing();
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      const verdict = sniffProtocol(head);
      if (verdict === "more") return;
      stopSniffing();
      socket.pause();
      socket.unshift(head);
      if (verdict === "h2") {
        // Node's http2 server drops a TLS connection that negotiated no ALPN protocol; one
        // that sent the preface without ALPN spoke HTTP/2 with prior knowledge.
        if (socket instanceof tls.TLSSocket && socket.alpnProtocol !== "h2") {
          (socket as { alpnProtocol: string | false }).alpnProtocol = "h2";
        }
        // The http2 session reads what is buffered in the socket (the preface) first.
        toH2(socket);
      } else {
        toH1(socket);
        // The http parser takes the socket's native stream over; the bytes put back are in the
        // JavaScript buffer and reach the parser through a "data" event once resumed.
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.once("end", onEnd);
  };
  // Over TLS too the first bytes decide (ALPN lets the client choose; its choice shows in
  // them), so that a connection that sends nothing after its handshake is dropped in time.
  const listener = options.tls
    ? tlsListener(options.tls, firstBytesTimeoutMs, log, track, accept)
    : net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        track(socket);
        accept(socket);
      });

  try {
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen({ host: options.host, port: options.port }, () => {
        listener.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    h1.close();
    throw err;
  }
  listener.on("error", (err) => log.warn("listener error", { error: err }));
  const bound = listener.address() as net.AddressInfo;
  const hostPart =
    bound.family === "IPv6" || bound.address.includes(":") ? `[${bound.address}]` : bound.address;
  const address = `${hostPart}:${bound.port}`;
  log.info("listening", {
    address,
    protocols: options.tls
      ? `connect,grpc,grpc-web over http/1.1 and h2, TLS (client certificates: ${options.tls.clientAuth})`
      : "connect,grpc,grpc-web over http/1.1 and h2c",
  });

  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    closed ??= (async () => {
      closing = true;
      log.info("closing", { address, connections: sockets.size, shutdownTimeoutMs });
      const allClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const socket of sniffing) socket.destroy();
      for (const [socket, active] of h1Active) if (active === 0) socket.destroy();
      for (const session of sessions) session.close();
      shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), shutdownTimeoutMs);
      });
      if ((await Promise.race([allClosed, timedOut])) === "timeout") {
        log.warn("shutdown timeout: ending calls still running", { connections: sockets.size });
        force.abort(new ConnectError("server shut down before the call finished", Code.Unavailable));
        await new Promise((resolve) => setTimeout(resolve, FORCED_END_FLUSH_MS));
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        await allClosed;
      }
      clearTimeout(timer);
      h1.close();
      log.info("closed", { address });
    })();
    return closed;
  }

  const scheme = options.tls ? "https" : "http";
  return { port: bound.port, address, url: `${scheme}://${address}`, close };
}

/**
 * A TLS listener offering h2 and http/1.1. Every TCP connection is tracked from its start (so
 * that close() can drop one stuck in its handshake), and again as the TLS socket once its
 * handshake succeeded and its client certificate passes `clientAuth`; `secured` gets those.
 */
function tlsListener(
  options: TlsListenOptions,
  handshakeTimeoutMs: number,
  log: ServerLogger,
  track: (socket: net.Socket) => void,
  secured: (socket: tls.TLSSocket) => void,
): tls.Server {
  const clientAuth: ClientAuth = options.clientAuth;
  const server = tls.createServer(
    {
      ...tlsServerOptions(options, ["h2", "http/1.1"]),
      allowHalfOpen: true,
      handshakeTimeout: handshakeTimeoutMs,
    },
    (socket) => {
      const refusal = clientRefusal(socket, clientAuth);
      if (refusal !== undefined) {
        log.debug("connection refused", { peer: socket.remoteAddress, reason: refusal });
        socket.destroy();
        return;
      }
      track(socket);
      secured(socket);
    },
  );
  server.on("connection", (socket: net.Socket) => {
    socket.setNoDelay(true);
    track(socket);
  });
  // Handshakes that fail (a client that does not trust this certificate, one without the client
  // certificate required, a port scanner) are the client's problem: logged at debug.
  server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) =>
    log.debug("TLS handshake failed", { peer: socket.remoteAddress, error: err.message }),
  );
  return server;
}
