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

async function scanFrom(source: SourceConfig, file: string, ms: number): Promise<Boundary | undefined> {
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
      if (opensTransaction && offset > 0 && !tracker.inTransaction && bytes.readUInt32LE(0) * 1000 >= ms) {
        const b = tracker.boundary;
        return {
          file: b.file,
          position: b.position,
          gtid: b.gtidState || b.lastGtid,
          timestamp: b.timestamp,
        };
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
