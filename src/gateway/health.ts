// grpc.health.v1 on the gateway: the gateway SERVES while it is connected to ZooKeeper (it
// can route and hold) and is not shutting down. Service names: "" (the gateway as a whole),
// sluice.v1.CanalService and sluice.v1.AdminService; others are NOT_FOUND (Check) or
// SERVICE_UNKNOWN (Watch), as the gRPC health protocol says.
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../gen/sluice/v1/canal_service_pb.js";
import { shutdownSignalKey } from "../protocol/index.js";

export const HEALTH_SERVICES = ["", CanalService.typeName, AdminService.typeName];
const WATCH_POLL_MS = 250;

export function createHealthService(serving: () => boolean): ServiceImpl<typeof Health> {
  const status = (service: string): Status | undefined => {
    if (!HEALTH_SERVICES.includes(service)) return undefined;
    return serving() ? Status.SERVING : Status.NOT_SERVING;
  };
  return {
    async check(req) {
      const s = status(req.service);
      if (s === undefined)
        throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
      return { status: s };
    },
    async list() {
      const statuses: Record<string, { status: Status }> = {};
      for (const name of HEALTH_SERVICES) statuses[name] = { status: status(name) as Status };
      return { statuses };
    },
    async *watch(req, ctx) {
      let last: Status | undefined;
      const shutdown = ctx.values.get(shutdownSignalKey);
      while (!ctx.signal.aborted) {
        const s = shutdown.aborted ? Status.NOT_SERVING : (status(req.service) ?? Status.SERVICE_UNKNOWN);
        if (s !== last) {
          last = s;
          yield { status: s };
        }
        await new Promise((r) => setTimeout(r, WATCH_POLL_MS));
      }
    },
  };
}
