// Connections to servers: one Connect transport per server address, over one pooled HTTP/2
// connection (connect-node's session manager multiplexes every call and stream on it, pings
// it while idle and reconnects when it drops). Calls carry the consumer's hold epoch in the
// `sluice-client-epoch` header, which servers use to fence older holders.
import * as net from "node:net";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../gen/sluice/v1/canal_service_pb.js";

export interface Upstream {
  canal: Client<typeof CanalService>;
  admin: Client<typeof AdminService>;
}

/**
 * A TCP connection with Nagle's algorithm off: a call is a HEADERS and a DATA frame written
 * one after the other, and Nagle would hold the second back until the first is acknowledged.
 */
export function connectNoDelay(address: string): net.Socket {
  const { hostname, port } = new URL(`http://${address}`);
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  return net.connect({ host, port: Number(port), noDelay: true });
}

export class UpstreamPool {
  readonly #byAddress = new Map<string, Upstream & { sessions: Http2SessionManager }>();

  constructor(private readonly maxMessageBytes: number) {}

  get(address: string): Upstream {
    let u = this.#byAddress.get(address);
    if (!u) {
      const sessions = new Http2SessionManager(
        `http://${address}`,
        { pingIntervalMs: 10_000, pingTimeoutMs: 5_000, idleConnectionTimeoutMs: 60_000 },
        { createConnection: () => connectNoDelay(address) },
      );
      const transport: Transport = createGrpcTransport({
        baseUrl: `http://${address}`,
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
