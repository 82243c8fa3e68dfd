// canal's file-mode cursors (conf/example/meta.dat, file-instance.xml) imported by a
// standalone `sluice server --canal-conf`: each clientId goes on exactly after what canal
// says it acked. canal's cursor is the position of the last acked event: here the XID that
// ends a transaction (clientId 1001: the next transaction comes next, nothing of the acked
// one again) and a rows event in the middle of a three-statement transaction (1002: the rest
// of that transaction comes next). A client that had subscribed without acking keeps its
// filter (1003). The import happens once: after a restart the clients go on from Sluice's
// own cursors, although meta.dat is still there, and a client removed since stays removed.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { type Entry, EntryType } from "../../src/gen/sluice/v1/entry_pb.js";
import { SLUICE } from "../gateway/cluster.js";
import { rowIds } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  spawnManaged,
  waitFor,
} from "../harness/processes.js";

let db: MariaDB;
let dir: string;
before(async () => {
  db = await startMariaDB();
  dir = makeTempDir("canal-meta-import");
});
after(async () => {
  await db?.stop();
  if (dir) removeDir(dir);
});

interface BinlogEvent {
  Log_name: string;
  Pos: number;
  Event_type: string;
}

function canalCursor(clientId: number, file: string, position: number) {
  return {
    clientIdentity: { clientId, destination: "example", filter: "" },
    cursor: {
      identity: { slaveId: -1, sourceAddress: { address: "127.0.0.1", port: db.port } },
      postion: { gtid: "", included: false, journalName: file, position, serverId: 1, timestamp: Date.now() },
    },
  };
}

async function startServer(conf: string, dataDir: string, port: number): Promise<ManagedProcess> {
  const p = spawnManaged(
    "sluice-canal-meta",
    process.execPath,
    [
      SLUICE,
      "server",
      "--canal-conf",
      conf,
      "--data-dir",
      dataDir,
      "--port",
      String(port),
      "--metrics-port",
      "off",
    ],
    { logFile: join(dir, "server.log"), env: { ...process.env, SLUICE_LOG_LEVEL: "info" } },
  );
  await waitFor(
    "the server to be ready",
    async () =>
      (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined,
    {
      timeoutMs: 30_000,
      failIf: () => (p.child.exitCode !== null ? `exited:\n${readFileSync(p.logFile, "utf8")}` : undefined),
    },
  );
  return p;
}

test("meta.dat cursors: each client goes on right after what canal acked, imported once", {
  timeout: 180_000,
}, async () => {
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  await db.query("INSERT INTO shop.orders VALUES (1, 'a'), (2, 'b')");
  await db.query(
    "BEGIN; INSERT INTO shop.orders VALUES (3, 'c'); INSERT INTO shop.orders VALUES (4, 'd');" +
      " INSERT INTO shop.orders VALUES (5, 'e'); COMMIT",
  );
  await db.query("INSERT INTO shop.orders VALUES (6, 'f')");
  await db.query("INSERT INTO shop.orders VALUES (7, 'g')");

  // Where canal's cursors would be: the XID ending the three-statement transaction, and the
  // rows event of its second INSERT.
  const [{ File: file }] = await db.query<{ File: string }[]>("SHOW MASTER STATUS");
  const events = (await db.query<BinlogEvent[]>(`SHOW BINLOG EVENTS IN '${file}'`)).map((e) => ({
    ...e,
    Pos: Number(e.Pos),
  }));
  const writes = events.filter((e) => e.Event_type.startsWith("Write_rows"));
  const rowsOf3 = writes[1] as BinlogEvent; // the first INSERT of the 3-5 transaction
  const xids = events.filter((e) => e.Event_type === "Xid" && e.Pos > rowsOf3.Pos);
  const xidOf35 = xids[0] as BinlogEvent;
  const rowsOf4 = writes[2] as BinlogEvent;
  assert.ok(rowsOf4.Pos < xidOf35.Pos, "id 4's rows event is inside the transaction");

  const conf = join(dir, "conf");
  mkdirSync(join(conf, "example"), { recursive: true });
  writeFileSync(
    join(conf, "canal.properties"),
    [
      "canal.ip = 127.0.0.1",
      "canal.port = 11111",
      "canal.zkServers =",
      "canal.destinations = example",
      "canal.conf.dir = ../conf",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: canal's placeholder
      "canal.file.data.dir = ${canal.conf.dir}",
      "canal.instance.global.spring.xml = classpath:spring/file-instance.xml",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(conf, "example", "instance.properties"),
    [
      `canal.instance.master.address=127.0.0.1:${db.port}`,
      `canal.instance.dbUsername=${db.replUser}`,
      `canal.instance.dbPassword=${db.replPassword}`,
      "canal.instance.filter.regex=shop\\\\..*",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  writeFileSync(
    join(conf, "example", "meta.dat"),
    JSON.stringify({
      clientDatas: [
        canalCursor(1001, file, xidOf35.Pos),
        canalCursor(1002, file, rowsOf4.Pos),
        { clientIdentity: { clientId: 1003, destination: "example", filter: "shop\\.orders" } },
      ],
      destination: "example",
    }),
  );

  const dataDir = join(dir, "data");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let server = await startServer(conf, dataDir, port);
  const sessions: Http2SessionManager[] = [];
  const client = () => {
    const sessionManager = new Http2SessionManager(url);
    sessions.push(sessionManager);
    return createClient(CanalService, createGrpcTransport({ baseUrl: url, sessionManager }));
  };
  /** Gets and acks as clientId until it has `count` rows, then gets once more (nothing else may come). */
  const read = async (clientId: string, count: number): Promise<Entry[]> => {
    const canal = client();
    await canal.subscribe({ destination: "example", clientId });
    const entries: Entry[] = [];
    for (let i = 0; i < 200 && rowIds(entries).length < count; i++) {
      const b = await canal.get({ destination: "example", clientId, batchSize: 3, timeoutMs: 500n });
      if (!b.batchId) continue;
      entries.push(...b.entries);
      await canal.ack({ destination: "example", clientId, batchId: b.batchId });
    }
    const extra = await canal.get({ destination: "example", clientId, batchSize: 100, timeoutMs: 300n });
    entries.push(...extra.entries);
    if (extra.batchId) await canal.ack({ destination: "example", clientId, batchId: extra.batchId });
    return entries;
  };
  try {
    const c1001 = await read("1001", 2);
    assert.deepEqual(rowIds(c1001), [6, 7]);
    assert.equal(c1001[0]?.entryType, EntryType.TRANSACTION_BEGIN, "nothing of the acked transaction again");
    assert.deepEqual(rowIds(await read("1002", 3)), [5, 6, 7], "the rest of the transaction canal was in");
    assert.equal(
      readFileSync(join(dataDir, "destinations", "example", "1003", "filter"), "utf8"),
      "shop\\.orders",
    );
    assert.ok(existsSync(join(dataDir, "destinations", "example", "canal-import.json")));
    const log = readFileSync(join(dir, "server.log"), "utf8");
    assert.match(log, /imported canal cursor clientId=1001/);

    // 1003 goes away; restarted, with meta.dat still there: Sluice's own cursors hold, nothing
    // comes again, and 1003 does not come back from meta.dat.
    await client().unsubscribe({ destination: "example", clientId: "1003" });
    assert.ok(!existsSync(join(dataDir, "destinations", "example", "1003")));
    await server.stop();
    await db.query("INSERT INTO shop.orders VALUES (8, 'h')");
    server = await startServer(conf, dataDir, port);
    assert.deepEqual(rowIds(await read("1001", 1)), [8]);
    assert.deepEqual(rowIds(await read("1002", 1)), [8]);
    assert.ok(!existsSync(join(dataDir, "destinations", "example", "1003")), "imported once");
  } finally {
    for (const s of sessions) s.abort();
    await server.stop();
  }
});
