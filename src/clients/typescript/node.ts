// createSluiceClient for Node: picks the protocol (Connect, gRPC or gRPC-Web) and HTTP version,
// over TLS for https:// URLs.
import { Agent as HttpsAgent } from "node:https";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { createSluiceConnectTransport } from "../../protocol/client/connect-transport.js";
import { createSluiceGrpcTransport } from "../../protocol/client/grpc-transport.js";
import { type TlsConnectOptions, tlsConnectionOptions } from "../../protocol/tls.js";
import { authorizationHeader, withAuthorization } from "./auth.js";
import { SluiceClient } from "./client.js";

/**
 * TLS for an https:// base URL. PEM contents (a string or a Buffer), not file names:
 * `{ ca: readFileSync("ca.crt") }`.
 */
export interface SluiceTlsOptions extends TlsConnectOptions {}

export interface SluiceClientOptions {
  /** The gateway's or server's URL, e.g. "http://127.0.0.1:8080", or "https://..." for TLS. */
  baseUrl: string;
  /**
   * For https:// URLs: the CAs to trust (default: Node's CA store), a client certificate and
   * key for servers that ask for one, the name the server's certificate must carry.
   */
  tls?: SluiceTlsOptions;
  /** Protocol: "connect" (default), "grpc" (HTTP/2 only) or "grpc-web". */
  transport?: "connect" | "grpc" | "grpc-web";
  /** HTTP version: "1.1" (default for connect and grpc-web) or "2" (always for grpc). */
  httpVersion?: "1.1" | "2";
  /** Binary protobuf (default) or JSON on the wire; gRPC is always binary. */
  useBinaryFormat?: boolean;
  /** Connect interceptors (every call then takes connect-es's call pipeline). */
  interceptors?: Interceptor[];
  /**
   * A bearer token sent with every call ("authorization: Bearer <token>"): a token of the
   * gateway's or server's token file, or a JWT. `tokenFromEnv()` reads SLUICE_TOKEN or
   * SLUICE_TOKEN_FILE.
   */
  token?: string | undefined;
  /** canal's user and password, sent with every call as HTTP Basic authentication. */
  basicAuth?: { user: string; password: string } | undefined;
}

// Over HTTP/2 a stream that waits for changes sends nothing for a long time: PING frames find
// a connection that died silently (a host gone, a black-holed route, a frozen gateway behind a
// TCP balancer that keeps its connections), so the stream fails with `unavailable` and the
// client subscribes again (through the balancer, to a live gateway) instead of waiting. A PING
// goes out after 1 s without a byte from the other side and must be answered within 2 s: a
// dead path is noticed within 3 s of its last byte, inside issue 22's goal of the ZooKeeper
// session timeout (3 s at the least in docs/ha.md's settings) plus 1 s; 2 s rides out a busy
// gateway's event loop (a frame at most every second costs nothing next to the batches).
const HTTP2_KEEPALIVE = { pingIntervalMs: 1_000, pingTimeoutMs: 2_000, pingIdleConnection: true };

export function createSluiceClient(opts: SluiceClientOptions): SluiceClient {
  const authorization = authorizationHeader({
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.basicAuth !== undefined ? { basic: opts.basicAuth } : {}),
  });
  const client = (transport: Transport) =>
    new SluiceClient(authorization === undefined ? transport : withAuthorization(transport, authorization));
  const protocol = opts.transport ?? "connect";
  const httpVersion = protocol === "grpc" ? "2" : (opts.httpVersion ?? "1.1");
  if (opts.tls !== undefined && !opts.baseUrl.startsWith("https:")) {
    throw new RangeError(`tls options need an https:// baseUrl, got "${opts.baseUrl}"`);
  }
  const tls = opts.tls !== undefined ? tlsConnectionOptions(opts.tls) : undefined;
  // HTTP/1.1: one keep-alive agent with the TLS options (Node pools connections per agent);
  // HTTP/2: the options of the session's connection.
  const nodeOptions =
    tls === undefined
      ? undefined
      : httpVersion === "2"
        ? tls
        : { agent: new HttpsAgent({ ...tls, keepAlive: true }) };
  const common = {
    baseUrl: opts.baseUrl,
    interceptors: opts.interceptors,
    useBinaryFormat: opts.useBinaryFormat ?? true,
    ...HTTP2_KEEPALIVE,
    ...(nodeOptions !== undefined ? { nodeOptions } : {}),
  };
  switch (protocol) {
    case "connect":
      // Unary calls on node:http / node:http2 directly (src/protocol/client/connect-transport.ts says why), streams by
      // connect-node.
      return client(createSluiceConnectTransport({ ...common, httpVersion }));
    case "grpc-web":
      return client(
        createGrpcWebTransport(
          httpVersion === "2"
            ? { ...common, httpVersion, nodeOptions: tls }
            : { ...common, httpVersion, nodeOptions: nodeOptions as { agent: HttpsAgent } | undefined },
        ),
      );
    case "grpc":
      if (opts.httpVersion === "1.1") throw new RangeError('transport "grpc" needs httpVersion "2"');
      // Unary calls on node:http2 directly (src/protocol/client/grpc-transport.ts says why), streams by connect-node.
      return client(
        createSluiceGrpcTransport({
          baseUrl: opts.baseUrl,
          interceptors: opts.interceptors,
          ...HTTP2_KEEPALIVE,
          ...(tls !== undefined ? { tls } : {}),
        }),
      );
    default:
      throw new RangeError(`transport must be "connect", "grpc" or "grpc-web", got "${protocol}"`);
  }
}
