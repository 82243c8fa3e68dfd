// AdminService on a server: what it runs, where each destination's reader is, and each
// client's cursor, outstanding batches and lag.
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { checkClientId } from "../../contracts/names.js";
import {
  type AdminService,
  type ClientStatus,
  type DestinationFailure,
  DestinationFailure_Fix,
  type DestinationStatus,
  type SetCursorRequest,
} from "../../gen/sluice/v1/admin_service_pb.js";
import { mayView, VISIBLE_DESTINATIONS } from "../../security/authorize.js";
import { type CursorTarget, CursorTargetError } from "../destination/cursor-target.js";
import { type Destination, DestinationError } from "../destination/destination.js";
import type { DestinationFailure as Failure } from "../destination/failure.js";
import type { DestinationRegistry } from "../destination/registry.js";
import { ReplicationError } from "../replication/replication-client.js";
import { toDestinationFilter, toPosition } from "./canal-service.js";

export interface ServerIdentity {
  /** ip:port other parts use to reach this server. */
  address: string;
  /** When this server started serving, ms since the epoch. */
  since: number;
  /** The ZooKeeper cluster this server is part of; undefined when standalone. */
  cluster?: ClusterView;
}

/** What the admin service needs of the ZooKeeper side (server.ts provides it). */
export interface ClusterView {
  /** Live servers able to run the destination, other than this one, sorted. */
  standbys(destination: string): Promise<string[]>;
  /** When this server became the destination's runner, ms since the epoch. */
  runningSince(destination: string): number | undefined;
  /** Stops serving the destination and lets `to` (or any other server, when empty) take it. */
  release(destination: string, to: string): Promise<void>;
  /** Who holds clientId through a gateway (its running node), e.g. "10.0.0.7:51234 via 10.0.0.2:8080"; undefined: nobody. */
  holder(destination: string, clientId: string): Promise<string | undefined>;
}

const ADDRESS = /^[^\s:]+:\d{1,5}$/;

export function createAdminService(
  registry: DestinationRegistry,
  self: ServerIdentity,
): ServiceImpl<typeof AdminService> {
  return {
    async listDestinations(_req, ctx) {
      // Only the destinations the caller may administer (the authorization hook says which).
      const visible = ctx.values.get(VISIBLE_DESTINATIONS);
      const shown = registry.all.filter((d) => mayView(visible, d.name));
      return { destinations: await Promise.all(shown.map((d) => status(d, self))) };
    },
    async getDestination(req) {
      return { destination: await status(registry.require(req.destination), self) };
    },
    async releaseDestination(req) {
      if (req.toAddress && !ADDRESS.test(req.toAddress)) {
        throw new ConnectError(
          `to_address: must be "host:port", got ${JSON.stringify(req.toAddress)}`,
          Code.InvalidArgument,
        );
      }
      const d = registry.require(req.destination);
      const cluster = self.cluster;
      if (!cluster) {
        throw new ConnectError(
          `destination ${req.destination}: a standalone server (no --zk) has no other server to hand it to`,
          Code.FailedPrecondition,
        );
      }
      const standbys = await cluster.standbys(d.name);
      if (req.toAddress === self.address) {
        throw new ConnectError(
          `to_address: ${req.toAddress} is this server, which already runs ${d.name}`,
          Code.FailedPrecondition,
        );
      }
      if (req.toAddress && !standbys.includes(req.toAddress)) {
        throw new ConnectError(
          `to_address: ${req.toAddress} is not a live server of ${d.name}'s cluster (live: ${standbys.join(", ") || "none"})`,
          Code.FailedPrecondition,
        );
      }
      if (standbys.length === 0) {
        throw new ConnectError(
          `destination ${d.name}: no other live server can run it, so it stays here`,
          Code.FailedPrecondition,
        );
      }
      const released = {
        $typeName: "sluice.v1.ServerRef" as const,
        address: self.address,
        epoch: d.epoch,
        since: BigInt(cluster.runningSince(d.name) ?? self.since),
      };
      await cluster.release(d.name, req.toAddress);
      return { released };
    },

    async setCursor(req) {
      const d = registry.require(req.destination);
      checkClientId(req.clientId);
      const target = cursorTarget(req);
      const holder = await self.cluster?.holder(d.name, req.clientId);
      if (holder) {
        throw new ConnectError(
          `client_id: ${req.clientId} is held by ${holder}: stop that consumer (or Unsubscribe it with keep_cursor) before moving its cursor`,
          Code.FailedPrecondition,
        );
      }
      try {
        const r = await d.setCursor(req.clientId, target);
        return {
          cursor: toPosition(r.cursor),
          previous: toPosition(r.previous),
          givenBackBatchIds: r.givenBack,
        };
      } catch (err) {
        throw setCursorError(err);
      }
    },

    async skipEvent(req) {
      const d = registry.require(req.destination);
      if (!req.journalName) throw invalid("journal_name", "is required");
      if (req.position <= 0n)
        throw invalid("position", `must be the event's offset (> 0), got ${req.position}`);
      try {
        const skipped = await d.skipEvent(req.journalName, Number(req.position));
        return {
          skipped: {
            $typeName: "sluice.v1.SkippedEvent",
            journalName: skipped.file,
            position: BigInt(skipped.position),
            eventType: skipped.eventType,
            table: skipped.table,
            cause: skipped.cause,
            at: BigInt(skipped.at),
          },
        };
      } catch (err) {
        if (err instanceof DestinationError && err.kind === "cannot_skip") {
          throw new ConnectError(err.message, Code.FailedPrecondition);
        }
        throw err;
      }
    },
  };
}

function cursorTarget(req: SetCursorRequest): CursorTarget {
  const t = req.target;
  switch (t.case) {
    case "head":
      if (!t.value) throw invalid("head", "must be true when given");
      return { kind: "head" };
    case "reset":
      if (!t.value) throw invalid("reset", "must be true when given");
      return { kind: "reset" };
    case "position":
      if (!t.value.journalName) throw invalid("position.journal_name", "is required");
      return { kind: "position", file: t.value.journalName, position: Number(t.value.position) };
    case "gtid":
      if (!t.value) throw invalid("gtid", "is required");
      return { kind: "gtid", gtid: t.value };
    case "timestamp":
      return { kind: "timestamp", ms: Number(t.value) };
    default:
      throw invalid("target", "give one of head, position, gtid, timestamp or reset");
  }
}

function setCursorError(err: unknown): unknown {
  if (err instanceof CursorTargetError) return new ConnectError(err.message, Code.InvalidArgument);
  if (err instanceof DestinationError && err.kind === "held") {
    return new ConnectError(`client_id: ${err.message}`, Code.FailedPrecondition);
  }
  if (err instanceof DestinationError && err.kind === "stopped")
    return new ConnectError(err.message, Code.Unavailable);
  if (err instanceof ReplicationError) {
    return new ConnectError(
      `the source could not be read to place the cursor: ${err.message}`,
      Code.Unavailable,
    );
  }
  return err;
}

function invalid(field: string, message: string): ConnectError {
  return new ConnectError(`${field}: ${message}`, Code.InvalidArgument);
}

function toFailure(f: Failure | undefined): DestinationFailure | undefined {
  if (!f) return undefined;
  const e = f.event;
  return {
    $typeName: "sluice.v1.DestinationFailure",
    message: f.message,
    since: BigInt(f.since),
    journalName: e?.file ?? "",
    position: BigInt(e?.position ?? 0),
    eventType: e?.eventType ?? "",
    table: e?.table ?? "",
    cause: e?.cause ?? "",
    fix:
      f.fix === "skip-event"
        ? DestinationFailure_Fix.SKIP_EVENT
        : f.fix === "set-cursor"
          ? DestinationFailure_Fix.SET_CURSOR
          : DestinationFailure_Fix.UNSPECIFIED,
  };
}

async function status(d: Destination, self: ServerIdentity): Promise<DestinationStatus> {
  const head = d.pipeline?.started ? d.pipeline.boundary : undefined;
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
      since: BigInt(self.cluster?.runningSince(d.name) ?? self.since),
    },
    standbys: self.cluster ? await self.cluster.standbys(d.name).catch(() => []) : [],
    head: head ? toPosition({ resume: head, serverId: d.pipeline?.serverInfo?.serverId ?? 0 }) : undefined,
    clients,
    failure: toFailure(d.failure),
    filter: toDestinationFilter(d.filterOptions),
    eventsSkipped: BigInt(d.skipped.tableError + d.skipped.operator),
  };
}
