// The Connect protocol with unary calls made directly on node:http (HTTP/1.1) or node:http2,
// streams by connect-node. Why: the same as grpc-transport.ts (connect-es's call pipeline leaves
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
import type * as https from "node:https";
import type * as tls from "node:tls";
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
  requestHeader,
  trailerDemux,
  validateResponseWithCompression,
} from "@connectrpc/connect/protocol-connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { errorFromConnectUnary, webHeaders } from "../wire-errors.js";
import { parseBinary, parseJson } from "./call-errors.js";
import { type Exchange, exchangeUnary, h1Exchange, h2Exchange, type RawResponse } from "./exchange.js";

export interface ConnectTransportOptions {
  baseUrl: string;
  httpVersion: "1.1" | "2";
  /**
   * For https:// URLs: HTTP/1.1, an https.Agent with the TLS options (`{ agent }`); HTTP/2,
   * the TLS options of the session's connection.
   */
  nodeOptions?: { agent: https.Agent } | tls.ConnectionOptions;
  useBinaryFormat: boolean;
  interceptors?: Interceptor[];
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  pingIdleConnection?: boolean;
}

type UnaryMethod = Parameters<Transport["unary"]>[0];
type Header = Parameters<Transport["unary"]>[3];
type Input = Parameters<Transport["unary"]>[4];

export function createSluiceConnectTransport(opts: ConnectTransportOptions): Transport {
  const sessionManager =
    opts.httpVersion === "2"
      ? new Http2SessionManager(
          opts.baseUrl,
          {
            pingIntervalMs: opts.pingIntervalMs,
            pingTimeoutMs: opts.pingTimeoutMs,
            pingIdleConnection: opts.pingIdleConnection,
          },
          opts.nodeOptions as tls.ConnectionOptions | undefined,
        )
      : undefined;
  const agent =
    opts.nodeOptions !== undefined && "agent" in opts.nodeOptions ? opts.nodeOptions.agent : undefined;
  const base =
    sessionManager !== undefined
      ? createConnectTransport({ ...opts, nodeOptions: undefined, httpVersion: "2", sessionManager })
      : createConnectTransport({ ...opts, nodeOptions: agent ? { agent } : undefined, httpVersion: "1.1" });
  if ((opts.interceptors?.length ?? 0) > 0) return base;
  const url = new URL(opts.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, "");
  const exchange = sessionManager !== undefined ? h2Exchange(sessionManager) : h1Exchange(url, agent);
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

  return exchangeUnary(exchange, path, headers, body, signal, timeoutMs, (raw) =>
    response(method, binary, raw),
  );
}

/** The message, or the error a Connect unary response carries (connect-es's own rules). */
function response<I extends DescMessage, O extends DescMessage>(
  method: UnaryMethod & { input: I; output: O },
  binary: boolean,
  raw: RawResponse,
): UnaryResponse<I, O> {
  if (raw.error !== undefined) throw raw.error; // the stream was reset or failed after its headers
  const all = webHeaders(raw.headers);
  const { isUnaryError } = validateResponseWithCompression("unary", [], binary, raw.status, all);
  const [header, trailer] = trailerDemux(all);
  if (isUnaryError) throw errorFromConnectUnary(raw.status, appendHeaders(header, trailer), raw.body);
  const message = binary
    ? parseBinary(method.output, raw.body)
    : parseJson(method.output, raw.body.toString("utf8"));
  return { stream: false, service: method.parent, method, header, message, trailer } as UnaryResponse<I, O>;
}
