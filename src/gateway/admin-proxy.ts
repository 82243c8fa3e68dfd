// AdminService on the gateway: each destination's status comes from its running server;
// the gateway adds who holds each clientId (from ZooKeeper) and lists the destinations that
// have no runner right now.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "../common/log.js";
import { ZkError } from "../common/zk/client.js";
import type { ZkPaths } from "../common/zk/paths.js";
import { checkDestination } from "../contracts/names.js";
import type { AdminService, DestinationStatus } from "../gen/sluice/v1/admin_service_pb.js";
import { mayView, VISIBLE_DESTINATIONS } from "../security/authorize.js";
import type { ClientHolds } from "./holds.js";
import type { Relay } from "./relay.js";
import type { GatewayZk } from "./zk-session.js";

export function createAdminProxy(
  relay: Relay,
  holds: ClientHolds,
  zk: GatewayZk,
  paths: ZkPaths,
  log: Logger,
): ServiceImpl<typeof AdminService> {
  async function withHolders(status: DestinationStatus): Promise<DestinationStatus> {
    for (const c of status.clients) {
      // Read afresh: the calls' cache may trail a hold taken a moment ago by a moment.
      const node = await holds.readNow(holds.path(status.name, c.clientId)).catch((err: unknown) => {
        log.warn("cannot read the holder of a client", { clientId: c.clientId, error: err });
        return undefined;
      });
      if (node) {
        c.holder = node.gateway ? `${node.address} via ${node.gateway}` : node.address;
        c.holderSince = BigInt(node.since);
      }
    }
    return status;
  }

  async function one(name: string, ctx: HandlerContext): Promise<DestinationStatus> {
    const res = await relay.unary(name, undefined, ctx, "runner", (u, opts) =>
      u.admin.getDestination({ destination: name }, opts),
    );
    if (!res.destination) throw new Error(`the runner of ${name} returned no status`);
    return withHolders(res.destination);
  }

  return {
    async listDestinations(_req, ctx) {
      let names: string[] = [];
      try {
        names = await zk.client.children(paths.destinations());
      } catch (err) {
        if (!(err instanceof ZkError && err.code === "NONODE")) throw err;
      }
      // Only the destinations the caller may administer (the authorization hook says which).
      const visible = ctx.values.get(VISIBLE_DESTINATIONS);
      const out: DestinationStatus[] = [];
      for (const name of names.filter((n) => mayView(visible, n)).sort()) {
        try {
          // No waiting for an election here: a destination without a runner is listed as such.
          await relay.runners.route(name, AbortSignal.abort());
          out.push(await one(name, ctx));
        } catch (err) {
          // No runner right now (or it fails): list the destination with its standbys only.
          log.warn("no status from the runner", { destination: name, error: (err as Error).message });
          const standbys = await zk.client.children(paths.destinationCluster(name)).catch(() => []);
          out.push({
            $typeName: "sluice.v1.DestinationStatus",
            name,
            running: undefined,
            standbys: standbys.sort(),
            head: undefined,
            clients: [],
            eventsSkipped: 0n,
          });
        }
      }
      return { destinations: out };
    },

    async getDestination(req, ctx) {
      checkDestination(req.destination);
      return { destination: await one(req.destination, ctx) };
    },

    async releaseDestination(req, ctx) {
      checkDestination(req.destination);
      return relay.unary(req.destination, undefined, ctx, "handover", (u, opts) =>
        u.admin.releaseDestination(req, opts),
      );
    },

    async setCursor(req, ctx) {
      checkDestination(req.destination);
      return relay.unary(req.destination, undefined, ctx, "durable", (u, opts) =>
        u.admin.setCursor(req, opts),
      );
    },

    async skipEvent(req, ctx) {
      checkDestination(req.destination);
      return relay.unary(req.destination, undefined, ctx, "durable", (u, opts) =>
        u.admin.skipEvent(req, opts),
      );
    },
  };
}
