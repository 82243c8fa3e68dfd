// Cursors canal's own servers left in ZooKeeper (default-instance.xml: canal's HA mode),
// picked up by `sluice server --canal-conf` running in their place. canal's cursor is the
// position of the last event its client acked, which may be a rows event inside a
// transaction (a batch that ended there): clientId 1001's is the rows event of the second of
// three INSERTs, so the third comes next, then what follows; 1002's is the XID closing that
// transaction, so the next transaction comes next, and nothing of the acked one again.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ZkClient } from "../../src/common/zk/client.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { type Entry, EntryType } from "../../src/gen/sluice/v1/entry_pb.js";
import { SLUICE } from "../gateway/cluster.js";
import { rowIds } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir, spawnManaged, waitFor } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  dir = makeTempDir("canal-zk-cursors");
});
after(async () => {
  await Promise.all([db?.stop(), zk?.stop()]);
  if (dir) removeDir(dir);
});

/** canal's cursor JSON as its ZooKeeperMetaManager writes it (no "sluice" object). */
function canalCursor(file: string, position: number): string {
  return JSON.stringify({
    "@type": "com.alibaba.otter.canal.protocol.position.LogPosition",
    identity: { slaveId: -1, sourceAddress: { address: "127.0.0.1", port: db.port } },
    postion: { gtid: "", included: false, journalName: file, position, serverId: 1, timestamp: Date.now() },
  });
}

test("canal's ZooKeeper cursors: each client goes on right after the event canal says it acked", {
  timeout: 120_000,
}, async () => {
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)");
  await db.query("INSERT INTO shop.orders VALUES (1), (2)");
  await db.query(
    "BEGIN; INSERT INTO shop.orders VALUES (3); INSERT INTO shop.orders VALUES (4);" +
      " INSERT INTO shop.orders VALUES (5); COMMIT",
  );
  await db.query("INSERT INTO shop.orders VALUES (6)");
  const [{ File: file }] = await db.query<{ File: string }[]>("SHOW MASTER STATUS");
  const events = (
    await db.query<{ Pos: number; Event_type: string }[]>(`SHOW BINLOG EVENTS IN '${file}'`)
  ).map((e) => ({ ...e, Pos: Number(e.Pos) }));
  const writes = events.filter((e) => e.Event_type.startsWith("Write_rows"));
  const rowsOf4 = writes[2]?.Pos as number;
  const xidOf35 = events.find((e) => e.Event_type === "Xid" && e.Pos > rowsOf4)?.Pos as number;

  const client = await ZkClient.connect(zk.connectString);
  try {
    for (const [clientId, position] of [
      ["1001", rowsOf4],
      ["1002", xidOf35],
    ] as const) {
      await client.ensurePath(`/otter/canal/destinations/example/${clientId}`);
      await client.create(
        `/otter/canal/destinations/example/${clientId}/cursor`,
        canalCursor(file, position),
      );
    }
  } finally {
    client.close();
  }

  const conf = join(dir, "conf");
  mkdirSync(join(conf, "example"), { recursive: true });
  writeFileSync(
    join(conf, "canal.properties"),
    [
      "canal.ip = 127.0.0.1",
      `canal.zkServers = ${zk.connectString}`,
      "canal.destinations = example",
      "canal.instance.global.spring.xml = classpath:spring/default-instance.xml",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(conf, "example", "instance.properties"),
    [
      `canal.instance.master.address=127.0.0.1:${db.port}`,
      `canal.instance.dbUsername=${db.replUser}`,
      `canal.instance.dbPassword=${db.replPassword}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const port = await freePort();
  const p = spawnManaged(
    "sluice-canal-zk",
    process.execPath,
    [SLUICE, "server", "--canal-conf", conf, "--port", String(port), "--metrics-port", "off"],
    { logFile: join(dir, "server.log"), env: { ...process.env, SLUICE_LOG_LEVEL: "info" } },
  );
  const url = `http://127.0.0.1:${port}`;
  const sessionManager = new Http2SessionManager(url);
  try {
    await waitFor(
      "the server to run example",
      async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok ? true : undefined),
      {
        timeoutMs: 30_000,
        failIf: () => (p.child.exitCode !== null ? `exited:\n${readFileSync(p.logFile, "utf8")}` : undefined),
      },
    );
    const canal = createClient(CanalService, createGrpcTransport({ baseUrl: url, sessionManager }));
    const read = async (clientId: string, count: number): Promise<Entry[]> => {
      await canal.subscribe({ destination: "example", clientId });
      const entries: Entry[] = [];
      for (let i = 0; i < 100 && rowIds(entries).length < count; i++) {
        const b = await canal.get({ destination: "example", clientId, batchSize: 3, timeoutMs: 500n });
        if (!b.batchId) continue;
        entries.push(...b.entries);
        await canal.ack({ destination: "example", clientId, batchId: b.batchId });
      }
      return entries;
    };
    assert.deepEqual(rowIds(await read("1001", 2)), [5, 6], "the rest of the transaction, then the next");
    const c1002 = await read("1002", 1);
    assert.deepEqual(rowIds(c1002), [6]);
    assert.equal(c1002[0]?.entryType, EntryType.TRANSACTION_BEGIN, "nothing of the acked transaction again");
  } finally {
    sessionManager.abort();
    await p.stop();
  }
});
