// Where an administrator moves a client's cursor (AdminService.SetCursor), turned into a
// boundary between transactions that the source can stream from.

import type { Boundary } from "../entry/positions.js";
import { findBoundaryAfterGtid, findBoundaryAtTime } from "../parse/find-start.js";
import { parseStartGtid } from "../replication/gtid-set.js";
import { ReplicationClient } from "../replication/replication-client.js";
import type { SourceConfig } from "../replication/source.js";

export type CursorTarget =
  | { kind: "head" }
  | { kind: "position"; file: string; position: number }
  | { kind: "gtid"; gtid: string }
  | { kind: "timestamp"; ms: number }
  /** Where the configuration starts a new client, else the head. */
  | { kind: "reset" };

/** The target cannot be a cursor (a file the source lacks, a malformed GTID set); names the field. */
export class CursorTargetError extends Error {
  constructor(
    readonly field: "position" | "gtid" | "timestamp",
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "CursorTargetError";
  }
}

export interface TargetContext {
  source: SourceConfig;
  /** The end of the last transaction read, when the destination reads. */
  readHead(): Boundary | undefined;
  /** The configured start, if the destination has one. */
  configuredStart?: () => Promise<Boundary | undefined>;
}

export async function resolveTarget(target: CursorTarget, ctx: TargetContext): Promise<Boundary> {
  switch (target.kind) {
    case "head":
      return ctx.readHead() ?? (await sourceHead(ctx.source));
    case "reset":
      return (await ctx.configuredStart?.()) ?? ctx.readHead() ?? (await sourceHead(ctx.source));
    case "position":
      await checkPosition(ctx.source, target.file, target.position);
      return { file: target.file, position: target.position, gtid: "", timestamp: 0 };
    case "gtid": {
      let start: ReturnType<typeof parseStartGtid>;
      try {
        start = parseStartGtid(target.gtid);
      } catch (err) {
        throw new CursorTargetError("gtid", (err as Error).message);
      }
      return (await findBoundaryAfterGtid(ctx.source, start)) ?? (await sourceHead(ctx.source));
    }
    case "timestamp":
      if (!Number.isSafeInteger(target.ms) || target.ms <= 0) {
        throw new CursorTargetError("timestamp", `must be milliseconds since the epoch, got ${target.ms}`);
      }
      return (await findBoundaryAtTime(ctx.source, target.ms)) ?? (await sourceHead(ctx.source));
  }
}

async function sourceHead(source: SourceConfig): Promise<Boundary> {
  const c = await ReplicationClient.connect(source);
  try {
    const head = await c.head();
    return { file: head.file, position: head.position, gtid: "", timestamp: 0 };
  } finally {
    c.close();
  }
}

/** A position must lie in a binlog file the source still has (not that it is a boundary: that is on the caller). */
async function checkPosition(source: SourceConfig, file: string, position: number): Promise<void> {
  if (!Number.isSafeInteger(position) || position < 4) {
    throw new CursorTargetError("position", `must be an offset of 4 or more, got ${position}`);
  }
  const c = await ReplicationClient.connect(source);
  let files: Array<{ file: string; size: number }>;
  try {
    files = await c.binlogFiles();
  } finally {
    c.close();
  }
  const found = files.find((f) => f.file === file);
  if (!found) {
    throw new CursorTargetError(
      "position",
      `the source has no binlog file ${JSON.stringify(file)} (it has ${files.map((f) => f.file).join(", ") || "none"})`,
    );
  }
  if (position > found.size) {
    throw new CursorTargetError(
      "position",
      `${file} is ${found.size} bytes long; ${position} is past its end`,
    );
  }
}
