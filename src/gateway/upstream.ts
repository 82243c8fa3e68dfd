// Connections to servers: one Connect transport per server address, over one pooled HTTP/2
// connection (connect-node's session manager multiplexes every call and stream on it, pings
// it while idle and reconnects when it drops). Calls carry the consumer's hold epoch in the
// `sluice-client-epoch` header, which servers use to fence older holders.
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../gen/sluice/v1/canal_service_pb.js";

export { CLIENT_EPOCH_HEADER } from "../common/http/index.js";

export interface Upstream {
  canal: Client<typeof CanalService>;
  admin: Client<typeof AdminService>;
}

export class UpstreamPool {
  readonly #byAddress = new Map<string, Upstream>();

  constructor(private readonly maxMessageBytes: number) {}

  get(address: string): Upstream {
    let u = this.#byAddress.get(address);
    if (!u) {
      const transport: Transport = createGrpcTransport({
        baseUrl: `http://${address}`,
        readMaxBytes: this.maxMessageBytes,
        writeMaxBytes: this.maxMessageBytes,
        pingIntervalMs: 10_000,
        pingTimeoutMs: 5_000,
        idleConnectionTimeoutMs: 60_000,
      });
      u = { canal: createClient(CanalService, transport), admin: createClient(AdminService, transport) };
      this.#byAddress.set(address, u);
    }
    return u;
  }
}
