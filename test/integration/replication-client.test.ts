// The replica connection against a real MariaDB: raw events stream in order, back-pressure
// works, and each way a source can refuse us gives an error that says what to fix.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { crc32 } from "node:zlib";
import {
  type BinlogDump,
  makeReplicaServerId,
  ReplicationClient,
  ReplicationError,
} from "../../src/server/replication/replication-client.js";
import { parseSourceUrl } from "../../src/server/replication/source.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";

// Event type codes (binlog header byte 4).
const ROTATE = 4;
const XID = 16;
const FORMAT_DESCRIPTION = 15;
const TABLE_MAP = 19;
const WRITE_ROWS_V1 = 23;
const HEARTBEAT = 27;
const MARIADB_GTID = 162;

interface Seen {
  type: number;
  logPos: number;
  size: number;
  length: number;
}

function collect(
  client: ReplicationClient,
  start: Parameters<ReplicationClient["dump"]>[0],
  heartbeatMs = 5000,
) {
  const seen: Seen[] = [];
  const waiters: Array<() => void> = [];
  const dumpP = client.dump(
    start,
    {
      event(bytes) {
        seen.push({
          type: bytes[4] as number,
          size: bytes.readUInt32LE(9),
          logPos: bytes.readUInt32LE(13),
          length: bytes.length,
        });
        for (const w of waiters.splice(0)) w();
      },
      end() {},
    },
    { replicaServerId: makeReplicaServerId(client.info.serverId), heartbeatMs },
  );
  const until = async (pred: (s: Seen[]) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred(seen)) {
      if (Date.now() > deadline) throw new Error(`timed out; saw types ${seen.map((s) => s.type).join(",")}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  return { seen, dumpP, until };
}

/**
 * Streams a large transaction (rows events of several KB, many per socket read) while the
 * handler pauses the dump every 5th event and a timer resumes it: every event must arrive
 * whole (its CRC32 checked during the call, before the read buffer is reused), once, in order.
 */
async function streamWithPauses(client: ReplicationClient, db: MariaDB, table: string): Promise<void> {
  await db.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, v TEXT)`);
  const head = await client.head();
  const positions: number[] = [];
  let bad = 0;
  let sawXid = false;
  let dump: BinlogDump | undefined;
  let resumeTimer: NodeJS.Timeout | undefined;
  dump = await client.dump(
    { kind: "file", file: head.file, position: head.position },
    {
      event(bytes) {
        const body = bytes.subarray(0, bytes.length - 4);
        if (crc32(body) !== bytes.readUInt32LE(bytes.length - 4)) bad++;
        const logPos = bytes.readUInt32LE(13);
        if (logPos > 0 && bytes[4] !== ROTATE && bytes[4] !== FORMAT_DESCRIPTION) positions.push(logPos);
        if (bytes[4] === XID) sawXid = true;
        if (positions.length % 5 === 0 && dump) {
          dump.pause();
          resumeTimer = setTimeout(() => dump?.resume(), 5);
        }
      },
      end() {},
    },
    { replicaServerId: makeReplicaServerId(client.info.serverId) },
  );
  try {
    await assert.rejects(client.query("SELECT 1"), /streaming the binlog: queries need another connection/);
    const value = "x".repeat(3000);
    const rows = Array.from({ length: 400 }, (_, i) => `(${i}, CONCAT('${value}', ${i}))`).join(",");
    await db.query(`INSERT INTO ${table} VALUES ${rows}`);
    const deadline = Date.now() + 20_000;
    while (!sawXid && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(sawXid, "the transaction's XID arrived");
    assert.equal(bad, 0, "events whose CRC32 did not match");
    assert.ok(positions.length > 20, `only ${positions.length} events`);
    for (let i = 1; i < positions.length; i++) {
      assert.ok((positions[i] as number) > (positions[i - 1] as number), `event ${i} out of order`);
    }
  } finally {
    clearTimeout(resumeTimer);
    dump.stop();
    await dump.done;
  }
}

describe("replication client against MariaDB", () => {
  let db: MariaDB;
  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(10))");
  });
  after(async () => {
    await db?.stop();
  });

  test("detects the flavour, version, checksum and time zone", async () => {
    const client = await ReplicationClient.connect(parseSourceUrl(db.sourceUrl));
    try {
      assert.equal(client.info.flavor, "mariadb");
      assert.match(client.info.version, /^10\.\d+\.\d+-MariaDB/);
      assert.equal(client.info.checksum, "CRC32");
      assert.equal(client.info.binlogFormat, "ROW");
      assert.equal(client.info.serverId, 1);
      assert.ok(client.info.timeZone.length > 0);
      const head = await client.head();
      assert.match(head.file, /^mysql-bin\.\d{6}$/);
      assert.ok(head.position >= 4);
    } finally {
      client.close();
    }
  });

  test("streams whole events in order from a file position, with CRC32 checksums", async () => {
    const client = await ReplicationClient.connect(parseSourceUrl(db.sourceUrl));
    const head = await client.head();
    const { seen, dumpP, until } = collect(client, {
      kind: "file",
      file: head.file,
      position: head.position,
    });
    const dump = await dumpP;
    try {
      await db.query("INSERT INTO app.t VALUES (1, 'a'), (2, 'b')");
      await until((s) => s.some((e) => e.type === XID));
      // The dump opens with a fake ROTATE and the FORMAT_DESCRIPTION, then our transaction.
      assert.equal(seen[0]?.type, ROTATE);
      assert.equal(seen[1]?.type, FORMAT_DESCRIPTION);
      const types = seen.map((e) => e.type);
      const gtidAt = types.indexOf(MARIADB_GTID);
      assert.ok(gtidAt > 0, `no GTID event in ${types}`);
      assert.deepEqual(types.slice(gtidAt, gtidAt + 4), [MARIADB_GTID, TABLE_MAP, WRITE_ROWS_V1, XID]);
      for (const e of seen) assert.equal(e.length, e.size, "every event arrives whole");
      const real = seen.filter((e) => e.logPos > 0 && e.type !== ROTATE && e.type !== FORMAT_DESCRIPTION);
      for (let i = 1; i < real.length; i++) assert.ok((real[i]?.logPos ?? 0) > (real[i - 1]?.logPos ?? 0));
    } finally {
      dump.stop();
      await dump.done;
    }
  });

  test("resumes from a MariaDB GTID state", async () => {
    const client = await ReplicationClient.connect(parseSourceUrl(db.sourceUrl));
    const { gtid } = await client.head();
    assert.match(gtid, /^\d+-\d+-\d+$/);
    const { seen, dumpP, until } = collect(client, { kind: "mariadb-gtid", state: gtid });
    const dump = await dumpP;
    try {
      await db.query("INSERT INTO app.t VALUES (3, 'c')");
      await until((s) => s.some((e) => e.type === XID));
      // Only the new transaction follows: no earlier row event.
      assert.equal(seen.filter((e) => e.type === WRITE_ROWS_V1).length, 1);
    } finally {
      dump.stop();
      await dump.done;
    }
  });

  test("pausing the dump stops delivery; resuming delivers what waited, in order", async () => {
    const client = await ReplicationClient.connect(parseSourceUrl(db.sourceUrl));
    const head = await client.head();
    const { seen, dumpP, until } = collect(client, {
      kind: "file",
      file: head.file,
      position: head.position,
    });
    const dump: BinlogDump = await dumpP;
    try {
      await until((s) => s.some((e) => e.type === FORMAT_DESCRIPTION));
      dump.pause();
      const before = seen.length;
      await db.query("INSERT INTO app.t VALUES (10, 'x')");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(seen.length, before, "nothing is delivered while paused");
      dump.resume();
      await until((s) => s.slice(before).some((e) => e.type === XID));
    } finally {
      dump.stop();
      await dump.done;
    }
  });

  test("events survive pauses from inside the handler, mid-read, whole and in order", async () => {
    const client = await ReplicationClient.connect(parseSourceUrl(db.sourceUrl));
    await streamWithPauses(client, db, "app.paused");
  });

  test("sends heartbeats when the source is idle", async () => {
    const client = await ReplicationClient.connect(parseSourceUrl(db.sourceUrl));
    const head = await client.head();
    const { dumpP, until } = collect(client, { kind: "file", file: head.file, position: head.position }, 300);
    const dump = await dumpP;
    try {
      await until((s) => s.some((e) => e.type === HEARTBEAT), 5000);
    } finally {
      dump.stop();
      await dump.done;
    }
  });

  test("a purged or unknown binlog file is BINLOG_PURGED, naming the position", async () => {
    const client = await ReplicationClient.connect(parseSourceUrl(db.sourceUrl));
    const dump = await client.dump(
      { kind: "file", file: "mysql-bin.999999", position: 4 },
      { event() {}, end() {} },
      { replicaServerId: makeReplicaServerId(1) },
    );
    await assert.rejects(dump.done, (e: unknown) => {
      assert.ok(e instanceof ReplicationError);
      assert.equal(e.code, "BINLOG_PURGED");
      assert.match(e.message, /mysql-bin\.999999:4/);
      return true;
    });
  });

  test("a position past the end of the file is BAD_POSITION", async () => {
    const client = await ReplicationClient.connect(parseSourceUrl(db.sourceUrl));
    const head = await client.head();
    const dump = await client.dump(
      { kind: "file", file: head.file, position: head.position + 1_000_000 },
      { event() {}, end() {} },
      { replicaServerId: makeReplicaServerId(1) },
    );
    await assert.rejects(
      dump.done,
      (e: unknown) => e instanceof ReplicationError && e.code === "BAD_POSITION",
    );
  });

  test("a user without REPLICATION SLAVE gets MISSING_PRIVILEGE naming the grant", async () => {
    await db.query(
      "CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'weak'; GRANT SELECT ON *.* TO 'weak'@'127.0.0.1'",
    );
    const client = await ReplicationClient.connect(parseSourceUrl(`mysql://weak:weak@127.0.0.1:${db.port}`));
    await assert.rejects(client.head(), (e: unknown) => {
      return (
        e instanceof ReplicationError && e.code === "MISSING_PRIVILEGE" && /BINLOG MONITOR/.test(e.message)
      );
    });
    const dump = await client
      .dump(
        { kind: "file", file: "mysql-bin.000001", position: 4 },
        { event() {}, end() {} },
        { replicaServerId: makeReplicaServerId(1) },
      )
      .catch((e: unknown) => e);
    const err = dump instanceof Error ? dump : await (dump as BinlogDump).done.catch((e: unknown) => e);
    assert.ok(err instanceof ReplicationError, String(err));
    assert.equal(err.code, "MISSING_PRIVILEGE");
    assert.match(err.message, /REPLICATION SLAVE/);
  });

  test("a wrong password is ACCESS_DENIED and a closed port CONNECT_FAILED", async () => {
    await assert.rejects(
      ReplicationClient.connect(parseSourceUrl(`mysql://sluice:wrong@127.0.0.1:${db.port}`)),
      (e: unknown) => e instanceof ReplicationError && e.code === "ACCESS_DENIED",
    );
    await assert.rejects(
      ReplicationClient.connect(parseSourceUrl("mysql://sluice:sluice@127.0.0.1:1")),
      (e: unknown) => e instanceof ReplicationError && e.code === "CONNECT_FAILED" && e.retryable,
    );
  });

  test("binlog_format other than ROW is refused with the fix", async () => {
    await db.query("SET GLOBAL binlog_format = 'MIXED'");
    try {
      await assert.rejects(ReplicationClient.connect(parseSourceUrl(db.sourceUrl)), (e: unknown) => {
        return e instanceof ReplicationError && e.code === "BINLOG_FORMAT" && /needs ROW/.test(e.message);
      });
    } finally {
      await db.query("SET GLOBAL binlog_format = 'ROW'");
    }
  });
});

describe("replication client over TLS", () => {
  let db: MariaDB;
  let ca: string;
  before(async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { execFileSync } = await import("node:child_process");
    const dir = mkdtempSync(join(tmpdir(), "sluice-tls-"));
    const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    run(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=sluice test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    );
    run(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
    );
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
    run(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
      "-out",
      "server.pem",
    );
    ca = join(dir, "ca.pem");
    db = await startMariaDB({
      extraArgs: [
        `--ssl-ca=${ca}`,
        `--ssl-cert=${join(dir, "server.pem")}`,
        `--ssl-key=${join(dir, "server.key")}`,
      ],
    });
  });
  after(async () => {
    await db?.stop();
  });

  test("ssl=verify-identity encrypts the connection and checks the server's certificate", async () => {
    const client = await ReplicationClient.connect(
      parseSourceUrl(`${db.sourceUrl}?ssl=verify-identity&ca=${ca}`),
    );
    try {
      const rows = await client.query<Array<{ Value: string }>>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      assert.notEqual(rows[0]?.Value ?? "", "", "the session uses TLS");
    } finally {
      client.close();
    }
  });

  test("a dump over TLS streams whole events in order, with pauses", async () => {
    const client = await ReplicationClient.connect(
      parseSourceUrl(`${db.sourceUrl}?ssl=verify-identity&ca=${ca}`),
    );
    await db.query("CREATE DATABASE IF NOT EXISTS app");
    await streamWithPauses(client, db, "app.tls");
  });

  test("a certificate that does not verify is refused", async () => {
    await assert.rejects(
      ReplicationClient.connect(parseSourceUrl(`${db.sourceUrl}?ssl=verify-ca`)),
      (e: unknown) => e instanceof ReplicationError && e.code === "CONNECT_FAILED",
    );
  });
});
