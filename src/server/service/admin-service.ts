// AdminService on a server: what it runs, where each destination's reader is, and each
// client's cursor, outstanding batches and lag.
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { AdminService, ClientStatus, DestinationStatus } from "../../gen/sluice/v1/admin_service_pb.js";
import type { Destination } from "../destination/destination.js";
import type { DestinationRegistry } from "../destination/registry.js";
import { toPosition } from "./canal-service.js";

export interface ServerIdentity {
  /** ip:port other parts use to reach this server. */
  address: string;
  /** When this server started serving, ms since the epoch. */
  since: number;
  /** Standalone servers cannot hand a destination over. */
  standalone: boolean;
}

export function createAdminService(
  registry: DestinationRegistry,
  self: ServerIdentity,
): ServiceImpl<typeof AdminService> {
  return {
    async listDestinations() {
      return { destinations: registry.all.map((d) => status(d, self)) };
    },
    async getDestination(req) {
      return { destination: status(registry.require(req.destination), self) };
    },
    async releaseDestination(req) {
      registry.require(req.destination);
      if (self.standalone) {
        throw new ConnectError(
          `destination ${req.destination}: a standalone server (no --zk) has no other server to hand it to`,
          Code.FailedPrecondition,
        );
      }
      throw new ConnectError(
        "releasing destinations needs ZooKeeper election, which this build lacks",
        Code.Unimplemented,
      );
    },
  };
}

function status(d: Destination, self: ServerIdentity): DestinationStatus {
  const head = d.pipeline?.boundary;
  const headTime = head?.timestamp ?? 0;
  const clients: ClientStatus[] = d.clients.map((c) => ({
    $typeName: "sluice.v1.ClientStatus",
    clientId: c.clientId,
    filter: c.filterText,
    cursor: toPosition(c.cursor),
    holder: "",
    holderSince: 0n,
    outstandingBatches: c.outstanding.length,
    lagMs:
      c.cursor && headTime && c.cursor.resume.timestamp
        ? BigInt(Math.max(0, headTime - c.cursor.resume.timestamp))
        : -1n,
  }));
  return {
    $typeName: "sluice.v1.DestinationStatus",
    name: d.name,
    running: {
      $typeName: "sluice.v1.ServerRef",
      address: self.address,
      epoch: d.epoch,
      since: BigInt(self.since),
    },
    standbys: [],
    head: head ? toPosition({ resume: head, serverId: d.pipeline?.serverInfo?.serverId ?? 0 }) : undefined,
    clients,
  };
}
