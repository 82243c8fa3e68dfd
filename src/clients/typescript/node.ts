// createSluiceClient for Node: picks the protocol (Connect, gRPC or gRPC-Web) and HTTP version.
import type { Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { createSluiceConnectTransport } from "../../protocol/client/connect-transport.js";
import { createSluiceGrpcTransport } from "../../protocol/client/grpc-transport.js";
import { SluiceClient } from "./client.js";

export interface SluiceClientOptions {
  /** The gateway's or server's URL, e.g. "http://127.0.0.1:8080". */
  baseUrl: string;
  /** Protocol: "connect" (default), "grpc" (HTTP/2 only) or "grpc-web". */
  transport?: "connect" | "grpc" | "grpc-web";
  /** HTTP version: "1.1" (default for connect and grpc-web) or "2" (always for grpc). */
  httpVersion?: "1.1" | "2";
  /** Binary protobuf (default) or JSON on the wire; gRPC is always binary. */
  useBinaryFormat?: boolean;
  /** Connect interceptors, e.g. to add an authorization header. */
  interceptors?: Interceptor[];
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
  const protocol = opts.transport ?? "connect";
  const common = {
    baseUrl: opts.baseUrl,
    interceptors: opts.interceptors,
    useBinaryFormat: opts.useBinaryFormat ?? true,
    ...HTTP2_KEEPALIVE,
  };
  switch (protocol) {
    case "connect":
      // Unary calls on node:http / node:http2 directly (src/protocol/client/connect-transport.ts says why), streams by
      // connect-node.
      return new SluiceClient(
        createSluiceConnectTransport({ ...common, httpVersion: opts.httpVersion ?? "1.1" }),
      );
    case "grpc-web":
      return new SluiceClient(createGrpcWebTransport({ ...common, httpVersion: opts.httpVersion ?? "1.1" }));
    case "grpc":
      if (opts.httpVersion === "1.1") throw new RangeError('transport "grpc" needs httpVersion "2"');
      // Unary calls on node:http2 directly (src/protocol/client/grpc-transport.ts says why), streams by connect-node.
      return new SluiceClient(
        createSluiceGrpcTransport({
          baseUrl: opts.baseUrl,
          interceptors: opts.interceptors,
          ...HTTP2_KEEPALIVE,
        }),
      );
    default:
      throw new RangeError(`transport must be "connect", "grpc" or "grpc-web", got "${protocol}"`);
  }
}
