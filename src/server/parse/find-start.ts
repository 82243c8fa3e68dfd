// Configured start positions other than a file/position, turned into a boundary (a
// file/position between transactions) by reading the source's binlog:
//   - by time (canal's master.timestamp): before the first transaction that started at or
//     after it; the scan starts in the newest file created at or before that time (a file's
//     FORMAT_DESCRIPTION carries its creation time);
//   - by GTID (a MySQL executed set, or a MariaDB GTID state): before the first transaction
//     not in it; the scan starts in the newest file whose header list (PREVIOUS_GTIDS /
//     GTID_LIST) the given GTIDs cover.
// Only GTID, QUERY, XID and ROTATE events are decoded; row events are skipped unread, so a
// scan costs little more than the transfer.

import type { BinlogEvent } from "../binlog/index.js";
import { BinlogDecoder, EventType } from "../binlog/index.js";
import type { Boundary } from "../entry/positions.js";
import { type GtidSet, parseMysqlGtidSet } from "../replication/gtid-set.js";
import { makeReplicaServerId, ReplicationClient } from "../replication/replication-client.js";
import type { SourceConfig } from "../replication/source.js";
import { TransactionTracker } from "./transaction-tracker.js";

const NEEDED: ReadonlySet<number> = new Set<number>([
  EventType.FORMAT_DESCRIPTION,
  EventType.MARIADB_QUERY_COMPRESSED,
  EventType.GTID_TAGGED,
  EventType.ROTATE,
  EventType.QUERY,
  EventType.XID,
  EventType.GTID,
  EventType.ANONYMOUS_GTID,
  EventType.MARIADB_GTID,
  EventType.PREVIOUS_GTIDS,
  EventType.MARIADB_GTID_LIST,
]);

/** The boundary to start from for "changes from `ms` on"; undefined: none yet (start at the head). */
export async function findBoundaryAtTime(source: SourceConfig, ms: number): Promise<Boundary | undefined> {
  const files = await withClient(source, (c) => c.binlogFiles());
  let from = files[0]?.file;
  for (const f of files) {
    const created = await fileCreationTime(source, f.file);
    if (created !== undefined && created * 1000 <= ms) from = f.file;
  }
  if (!from) return undefined;
  return scanFrom(source, from, (_event, timestampSeconds) => timestampSeconds * 1000 >= ms);
}

/** The boundary before the first transaction not covered by a MySQL GTID set or MariaDB state. */
export async function findBoundaryAfterGtid(
  source: SourceConfig,
  start: { kind: "mysql-gtid"; gtidSet: string } | { kind: "mariadb-gtid"; state: string },
): Promise<Boundary | undefined> {
  const covers =
    start.kind === "mysql-gtid" ? mysqlCovers(parseMysqlGtidSet(start.gtidSet)) : mariadbCovers(start.state);
  const files = await withClient(source, (c) => c.binlogFiles());
  let from = files[0]?.file;
  for (const f of files) {
    const head = await fileHeaderGtids(source, f.file);
    if (head?.every(covers)) from = f.file;
  }
  if (!from) return undefined;
  return scanFrom(source, from, (event) => {
    if (event.type === "mariadb_gtid")
      return !covers({ domain: event.domainId, server: event.serverId, seq: event.sequence });
    if (event.type === "gtid" && !event.anonymous) return !covers({ uuid: event.sid, seq: event.gno });
    return false;
  });
}

type GtidRef = { domain: number; server: number; seq: bigint } | { uuid: string; seq: bigint };

function mariadbCovers(state: string): (g: GtidRef) => boolean {
  const seqByDomain = new Map<number, bigint>();
  for (const part of state.split(",").filter(Boolean)) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`start.gtid: "${part}" is not a MariaDB GTID (domain-server-sequence)`);
    seqByDomain.set(Number(m[1]), BigInt(m[3] as string));
  }
  return (g) => "domain" in g && (seqByDomain.get(g.domain) ?? -1n) >= g.seq;
}

function mysqlCovers(set: GtidSet): (g: GtidRef) => boolean {
  return (g) => {
    if (!("uuid" in g)) return false;
    const intervals = set.get(g.uuid.toLowerCase().replace(/-/g, ""));
    return intervals?.some((iv) => iv.start <= g.seq && g.seq <= iv.end) ?? false;
  };
}

/** The GTIDs a file's header lists (MySQL PREVIOUS_GTIDS, MariaDB GTID_LIST). */
async function fileHeaderGtids(source: SourceConfig, file: string): Promise<GtidRef[] | undefined> {
  const decoder = new BinlogDecoder();
  return readUntil(source, file, (bytes) => {
    const type = bytes[4];
    if (type === EventType.FORMAT_DESCRIPTION) decoder.decode(bytes);
    if (type === EventType.MARIADB_GTID_LIST) {
      const e = decoder.decode(bytes);
      if (e.type === "mariadb_gtid_list")
        return e.gtids.map((g) => ({ domain: g.domainId, server: g.serverId, seq: g.sequence }));
    }
    if (type === EventType.PREVIOUS_GTIDS) {
      const e = decoder.decode(bytes);
      if (e.type !== "previous_gtids") return undefined;
      const refs: GtidRef[] = [];
      for (const [uuid, intervals] of parseMysqlGtidSet(e.gtidSet)) {
        for (const iv of intervals) refs.push({ uuid, seq: iv.end });
      }
      return refs;
    }
    // The header list comes right after the FORMAT_DESCRIPTION; anything else means none.
    if (type !== EventType.FORMAT_DESCRIPTION && type !== EventType.ROTATE && bytes.readUInt32LE(13) > 0)
      return [];
    return undefined;
  });
}

async function withClient<T>(source: SourceConfig, fn: (c: ReplicationClient) => Promise<T>): Promise<T> {
  const c = await ReplicationClient.connect(source);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/**
 * Streams the binlog from (file, 4) into `onEvent` until it returns a value other than
 * undefined (the result), the dump ends, or it fails.
 */
async function readUntil<T>(
  source: SourceConfig,
  file: string,
  onEvent: (bytes: Buffer, client: ReplicationClient) => T | undefined,
  prepare?: (client: ReplicationClient) => Promise<void>,
): Promise<T | undefined> {
  const client = await ReplicationClient.connect(source);
  try {
    await prepare?.(client);
  } catch (err) {
    client.close();
    throw err;
  }
  return new Promise<T | undefined>((resolve, reject) => {
    let settled = false;
    const finish = (v: T | undefined, err?: Error) => {
      if (settled) return;
      settled = true;
      dumpP.then(
        (d) => d.stop(),
        () => {},
      );
      client.close();
      if (err) reject(err);
      else resolve(v);
    };
    const dumpP = client.dump(
      { kind: "file", file, position: 4 },
      {
        event(bytes) {
          try {
            const result = onEvent(bytes, client);
            if (result !== undefined) finish(result);
          } catch (err) {
            finish(undefined, err as Error);
          }
        },
        end: () => finish(undefined),
      },
      { replicaServerId: makeReplicaServerId(client.info.serverId), heartbeatMs: 1000 },
    );
    dumpP.then(
      (d) =>
        d.done.then(
          () => finish(undefined),
          (e: Error) => finish(undefined, e),
        ),
      (e: Error) => finish(undefined, e),
    );
  });
}

/** Seconds since the epoch at which a binlog file was created (its FORMAT_DESCRIPTION's time). */
function fileCreationTime(source: SourceConfig, file: string): Promise<number | undefined> {
  return readUntil(source, file, (bytes) =>
    bytes[4] === EventType.FORMAT_DESCRIPTION ? bytes.readUInt32LE(0) : undefined,
  );
}

/** Scans from the start of `file` for the first transaction whose opening event `starts` accepts. */
async function scanFrom(
  source: SourceConfig,
  file: string,
  starts: (opening: BinlogEvent, timestampSeconds: number) => boolean,
): Promise<Boundary | undefined> {
  const decoder = new BinlogDecoder();
  const tracker = new TransactionTracker({ file, position: 4 });
  let head = { file: "", position: 0 };
  const NOT_YET = null;
  const found = await readUntil<Boundary | null>(
    source,
    file,
    (bytes) => {
      const logPos = bytes.readUInt32LE(13);
      const artificial = logPos === 0 || (bytes.readUInt16LE(17) & 0x20) !== 0;
      const offset = artificial ? 0 : logPos - bytes.readUInt32LE(9);
      const type = bytes[4] as number;
      const opensTransaction =
        type === EventType.GTID ||
        type === EventType.GTID_TAGGED ||
        type === EventType.ANONYMOUS_GTID ||
        type === EventType.MARIADB_GTID;
      if (opensTransaction && offset > 0 && !tracker.inTransaction) {
        const event = decoder.decode(bytes);
        if (starts(event, bytes.readUInt32LE(0))) {
          const b = tracker.boundary;
          return {
            file: b.file,
            position: b.position,
            gtid: b.gtidState || b.lastGtid,
            timestamp: b.timestamp,
          };
        }
        tracker.observe(event, offset, logPos);
        return undefined;
      }
      if (NEEDED.has(type)) tracker.observe(decoder.decode(bytes), offset, logPos);
      // Reached what was the head when the scan began: nothing that late yet.
      if (tracker.file === head.file && logPos >= head.position && !tracker.inTransaction) return NOT_YET;
      return undefined;
    },
    async (client) => {
      head = await client.head();
    },
  );
  return found ?? undefined;
}

/**
 * A cursor of canal's (the position of the last event a client acked; canal reads again from
 * there) as a point to resume from: the start of the transaction that event belongs to, with
 * everything through the event acked; or, when the event ended its transaction, the boundary
 * after it. undefined when no event of `point.file` starts at `point.position` (or the file is
 * not on the source any more).
 */
export async function findCanalResume(
  source: SourceConfig,
  point: { file: string; position: number },
): Promise<{ resume: Boundary; ackedThrough?: { file: string; position: number } } | undefined> {
  const decoder = new BinlogDecoder();
  const tracker = new TransactionTracker({ file: point.file, position: 4 });
  const files = await withClient(source, (c) => c.binlogFiles());
  if (!files.some((f) => f.file === point.file)) return undefined;
  const NOT_FOUND = null;
  let head = { file: "", position: 0 };
  const found = await readUntil(
    source,
    point.file,
    (bytes) => {
      const logPos = bytes.readUInt32LE(13);
      const artificial = logPos === 0 || (bytes.readUInt16LE(17) & 0x20) !== 0;
      const offset = artificial ? 0 : logPos - bytes.readUInt32LE(9);
      const type = bytes[4] as number;
      if (type === EventType.ROTATE && !artificial) return NOT_FOUND; // the file ended
      if (!artificial && offset > point.position) return NOT_FOUND;
      if (NEEDED.has(type)) tracker.observe(decoder.decode(bytes), offset, logPos);
      if (artificial || offset < point.position) return undefined;
      const b = tracker.boundary;
      if (!tracker.inTransaction) {
        return {
          resume: {
            file: b.file,
            position: b.position,
            gtid: b.gtidState || b.lastGtid,
            timestamp: b.timestamp,
          },
        };
      }
      return {
        resume: {
          file: tracker.txStart.file,
          position: tracker.txStart.position,
          gtid: b.gtidState || b.lastGtid,
          timestamp: b.timestamp,
        },
        ackedThrough: { file: point.file, position: point.position },
      };
    },
    async (client) => {
      head = await client.head();
      // Past the head: nothing to wait for.
      if (head.file === point.file && point.position >= head.position) throw new PastHead();
    },
  ).catch((err) => {
    if (err instanceof PastHead) return NOT_FOUND;
    throw err;
  });
  return found ?? undefined;
}

class PastHead extends Error {}
