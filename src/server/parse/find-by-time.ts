// canal's start-by-timestamp: the boundary before the first transaction that started at or
// after a time. It picks the newest binlog file created at or before that time (the
// FORMAT_DESCRIPTION at a file's head carries its creation time), then reads transaction
// heads from there. Only GTID, QUERY, XID and ROTATE events are decoded; row events are skipped
// unread, so a scan costs little more than the transfer.
import { BinlogDecoder, EventType } from "../binlog/index.js";
import { makeReplicaServerId, ReplicationClient } from "../replication/replication-client.js";
import type { SourceConfig } from "../replication/source.js";
import type { Boundary } from "../store/positions.js";
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
  return scanFrom(source, from, ms);
}

async function withClient<T>(source: SourceConfig, fn: (c: ReplicationClient) => Promise<T>): Promise<T> {
  const c = await ReplicationClient.connect(source);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Seconds since the epoch at which a binlog file was created (its FORMAT_DESCRIPTION's time). */
async function fileCreationTime(source: SourceConfig, file: string): Promise<number | undefined> {
  const client = await ReplicationClient.connect(source);
  return new Promise<number | undefined>((resolve, reject) => {
    let settled = false;
    const finish = (v: number | undefined, err?: Error) => {
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
          if (bytes[4] === EventType.FORMAT_DESCRIPTION) finish(bytes.readUInt32LE(0));
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

async function scanFrom(source: SourceConfig, file: string, ms: number): Promise<Boundary | undefined> {
  const client = await ReplicationClient.connect(source);
  const head = await client.head();
  const decoder = new BinlogDecoder();
  const tracker = new TransactionTracker({ file, position: 4 });
  return new Promise<Boundary | undefined>((resolve, reject) => {
    let settled = false;
    const finish = (v: Boundary | undefined, err?: Error) => {
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
            const logPos = bytes.readUInt32LE(13);
            const artificial = logPos === 0 || (bytes.readUInt16LE(17) & 0x20) !== 0;
            const offset = artificial ? 0 : logPos - bytes.readUInt32LE(9);
            const type = bytes[4] as number;
            const opensTransaction =
              type === EventType.GTID ||
              type === EventType.GTID_TAGGED ||
              type === EventType.ANONYMOUS_GTID ||
              type === EventType.MARIADB_GTID;
            if (
              opensTransaction &&
              offset > 0 &&
              !tracker.inTransaction &&
              bytes.readUInt32LE(0) * 1000 >= ms
            ) {
              const b = tracker.boundary;
              finish({
                file: b.file,
                position: b.position,
                gtid: b.gtidState || b.lastGtid,
                timestamp: b.timestamp,
              });
              return;
            }
            if (NEEDED.has(type)) tracker.observe(decoder.decode(bytes), offset, logPos);
            // Reached what was the head when the scan began: nothing that late yet.
            if (tracker.file === head.file && logPos >= head.position && !tracker.inTransaction)
              finish(undefined);
          } catch (err) {
            finish(undefined, err as Error);
          }
        },
        end: () => finish(undefined),
      },
      { replicaServerId: makeReplicaServerId(client.info.serverId), heartbeatMs: 1000 },
    );
    dumpP.then(
      (d) => d.done.catch((e: Error) => finish(undefined, e)),
      (e: Error) => finish(undefined, e),
    );
  });
}
