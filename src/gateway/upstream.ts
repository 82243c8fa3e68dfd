// Connections to servers: one Connect transport per server address, over one pooled HTTP/2
// connection (connect-node's session manager multiplexes every call and stream on it, pings
// it while idle and reconnects when it drops). Calls carry the consumer's hold epoch in the
// `sluice-client-epoch` header, which servers use to fence older holders. Every connection to
// a server, on every relay path, is made by one Dialer: h2c, or TLS with the servers' CA.
import * as net from "node:net";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../gen/sluice/v1/canal_service_pb.js";
import { connectTls, type TlsConnectOptions } from "../protocol/tls.js";

/** How the gateway reaches a server at "ip:port" (as ZooKeeper names it). */
export interface Dialer {
  /** "http" (h2c) or "https" (TLS, h2 by ALPN). */
  readonly scheme: "http" | "https";
  connect(address: string): net.Socket;
}

/** h2c, as servers without TLS speak. */
export const CLEARTEXT: Dialer = { scheme: "http", connect: connectNoDelay };

/**
 * TLS, the server's certificate checked against `tls.ca` and against the address's IP (an IP
 * SAN) or `tls.serverName`; the gateway's own certificate shown when `tls.cert` is given.
 */
export function tlsDialer(tls: TlsConnectOptions): Dialer {
  return {
    scheme: "https",
    connect(address) {
      const { host, port } = splitAddress(address);
      return connectTls(host, port, tls, ["h2"]);
    },
  };
}

function splitAddress(address: string): { host: string; port: number } {
  const { hostname, port } = new URL(`http://${address}`);
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  return { host, port: Number(port) };
}

export interface Upstream {
  canal: Client<typeof CanalService>;
  admin: Client<typeof AdminService>;
}

/**
 * A TCP connection with Nagle's algorithm off: a call is a HEADERS and a DATA frame written
 * one after the other, and Nagle would hold the second back until the first is acknowledged.
 */
export function connectNoDelay(address: string): net.Socket {
  const { host, port } = splitAddress(address);
  return net.connect({ host, port, noDelay: true });
}

export class UpstreamPool {
  readonly #byAddress = new Map<string, Upstream & { sessions: Http2SessionManager }>();

  constructor(
    private readonly maxMessageBytes: number,
    private readonly dialer: Dialer = CLEARTEXT,
  ) {}

  get(address: string): Upstream {
    let u = this.#byAddress.get(address);
    if (!u) {
      const url = `${this.dialer.scheme}://${address}`;
      const sessions = new Http2SessionManager(
        url,
        { pingIntervalMs: 10_000, pingTimeoutMs: 5_000, idleConnectionTimeoutMs: 60_000 },
        { createConnection: () => this.dialer.connect(address) },
      );
      const transport: Transport = createGrpcTransport({
        baseUrl: url,
        sessionManager: sessions,
        readMaxBytes: this.maxMessageBytes,
        writeMaxBytes: this.maxMessageBytes,
      });
      u = {
        canal: createClient(CanalService, transport),
        admin: createClient(AdminService, transport),
        sessions,
      };
      this.#byAddress.set(address, u);
    }
    return u;
  }

  /** Drops every connection (the gateway stops). */
  close(): void {
    for (const u of this.#byAddress.values()) u.sessions.abort();
    this.#byAddress.clear();
  }
}
