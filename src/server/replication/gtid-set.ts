// MySQL GTID sets ("uuid:1-5:7,uuid2:1-3") and their wire form for COM_BINLOG_DUMP_GTID.
// Tagged GTIDs (MySQL 8.3+, "uuid:tag:1-5") need the newer set format; we refuse them with a
// clear error rather than send something the server would misread.

export interface GtidInterval {
  /** First transaction number, inclusive. */
  start: bigint;
  /** Last transaction number, inclusive. */
  end: bigint;
}

export type GtidSet = Map<string, GtidInterval[]>;

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function parseMysqlGtidSet(text: string): GtidSet {
  const set: GtidSet = new Map();
  const trimmed = text.replace(/\s+/g, "");
  if (trimmed === "") return set;
  for (const part of trimmed.split(",")) {
    const [uuid, ...ranges] = part.split(":");
    if (!uuid || !UUID.test(uuid)) throw new Error(`gtid set: "${part}" does not start with a server UUID`);
    if (ranges.length === 0) throw new Error(`gtid set: "${part}" has no transaction range`);
    const key = uuid.toLowerCase().replace(/-/g, "");
    const intervals = set.get(key) ?? [];
    for (const r of ranges) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(r);
      if (!m) {
        throw new Error(`gtid set: "${r}" in "${part}" is not a range (tagged GTIDs are not supported yet)`);
      }
      const start = BigInt(m[1] as string);
      const end = m[2] === undefined ? start : BigInt(m[2]);
      if (start < 1n || end < start) throw new Error(`gtid set: bad range "${r}" in "${part}"`);
      intervals.push({ start, end });
    }
    set.set(key, intervals);
  }
  return set;
}

/** The binary form the server reads: n_sids, then per sid its UUID and [start, end+1) intervals. */
export function encodeMysqlGtidSet(text: string): Buffer {
  const set = parseMysqlGtidSet(text);
  let size = 8;
  for (const intervals of set.values()) size += 16 + 8 + intervals.length * 16;
  const buf = Buffer.alloc(size);
  let o = 0;
  buf.writeBigUInt64LE(BigInt(set.size), o);
  o += 8;
  for (const [uuid, intervals] of set) {
    Buffer.from(uuid, "hex").copy(buf, o);
    o += 16;
    buf.writeBigUInt64LE(BigInt(intervals.length), o);
    o += 8;
    for (const iv of intervals) {
      buf.writeBigUInt64LE(iv.start, o);
      buf.writeBigUInt64LE(iv.end + 1n, o + 8);
      o += 16;
    }
  }
  return buf;
}

/**
 * A start point given as GTIDs: a MariaDB GTID state ("0-1-100,1-2-7", one GTID per domain)
 * or a MySQL GTID set. Throws an Error saying what is wrong.
 */
export function parseStartGtid(
  text: string,
): { kind: "mariadb-gtid"; state: string } | { kind: "mysql-gtid"; gtidSet: string } {
  const compact = text.replace(/\s+/g, "");
  if (/^\d+-\d+-\d+(,\d+-\d+-\d+)*$/.test(compact)) {
    const domains = compact.split(",").map((g) => g.split("-")[0]);
    const duplicate = domains.find((d, i) => domains.indexOf(d) !== i);
    if (duplicate !== undefined) {
      throw new Error(`MariaDB GTID state names domain ${duplicate} twice; give one GTID per domain`);
    }
    return { kind: "mariadb-gtid", state: compact };
  }
  try {
    parseMysqlGtidSet(compact);
  } catch (err) {
    throw new Error(
      `must be a MySQL GTID set such as "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5" or a MariaDB GTID state such as "0-1-100" (${(err as Error).message})`,
    );
  }
  return { kind: "mysql-gtid", gtidSet: compact };
}
