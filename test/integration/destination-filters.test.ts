// A destination's own filters (canal's instance filters) against a real MariaDB, on a
// standalone and on an elected server: every kind applies to every client, a client's own
// filter narrows them and never widens them, and an excluded table's events are never decoded,
// so that one its decoder cannot read does not stop the destination.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { silentLogger } from "../../src/common/log.js";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { Entry } from "../../src/gen/sluice/v1/entry_pb.js";
import type { ServerConfig } from "../../src/server/config/types.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir } from "../harness/processes.js";
import { serverConfig } from "../harness/server-config.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const FILTERS = {
  filter: "shop\\..*,other\\.kept",
  blackFilter: "shop\\.pii_.*",
  fieldFilter: "shop.users:id/name",
  fieldBlackFilter: "shop.orders:card",
  filterQueryDdl: true,
};

function config(db: MariaDB, dataDir: string): ServerConfig {
  return serverConfig(db, dataDir, { destination: FILTERS });
}

/** What a client received: "table: column=value ..." per row, and the DDL statements. */
function seen(entries: Entry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.payload.case !== "rowChange") continue;
    const change = e.payload.value;
    if (change.isDdl) {
      out.push(`DDL ${change.sql}`);
      continue;
    }
    for (const r of change.rowDatas) {
      const cols = r.afterColumns.map((c) => `${c.name}=${c.value}`).join(" ");
      out.push(`${e.header?.schemaName}.${e.header?.tableName}: ${cols}`);
    }
  }
  return out;
}

async function drain(
  canal: Client<typeof CanalService>,
  clientId: string,
  expect: number,
): Promise<string[]> {
  const rows: string[] = [];
  const deadline = Date.now() + 20_000;
  while (rows.length < expect && Date.now() < deadline) {
    const b = await canal.get({ destination: "example", clientId, batchSize: 100, timeoutMs: 1000n });
    rows.push(...seen(b.entries));
    if (b.batchId) await canal.ack({ destination: "example", clientId, batchId: b.batchId });
  }
  // Anything beyond what was expected would be a leak: wait a little longer for it.
  const more = await canal.get({ destination: "example", clientId, batchSize: 100, timeoutMs: 500n });
  rows.push(...seen(more.entries));
  return rows;
}

// What the destination's filters let through of the workload below, in order.
const EXPECTED = [
  "shop.orders: id=1 item=kettle",
  "shop.users: id=1 name=ann",
  "other.kept: id=1",
  "shop.orders: id=2 item=teapot",
];

async function workload(db: MariaDB): Promise<void> {
  await db.query(
    "INSERT INTO shop.orders VALUES (1, 'kettle', '4111-1111'); INSERT INTO shop.pii_emails VALUES (1, 'ann@example.com');" +
      "INSERT INTO shop.users VALUES (1, 'ann', 'hunter2'); INSERT INTO other.t VALUES (1); INSERT INTO other.kept VALUES (1);" +
      "CREATE TABLE shop.created_later (id INT PRIMARY KEY);" +
      "INSERT INTO shop.orders VALUES (2, 'teapot', '5500-0000')",
  );
}

/**
 * A row event the decoder cannot read, in an excluded table: MariaDB's old temporal format
 * (mysql56_temporal_format=OFF) logs DATETIME(3) without its precision, which only the table's
 * definition gives, and the table is dropped before the server reads the event.
 */
async function poisonInExcludedTable(db: MariaDB): Promise<void> {
  await db.query("SET GLOBAL mysql56_temporal_format=OFF");
  await db.query("CREATE TABLE shop.pii_old (id INT PRIMARY KEY, d DATETIME(3))");
  await db.query("SET GLOBAL mysql56_temporal_format=ON");
  await db.query("INSERT INTO shop.pii_old VALUES (1, '2024-01-02 03:04:05.678')");
  await db.query("DROP TABLE shop.pii_old");
}

async function schema(db: MariaDB): Promise<void> {
  await db.query(
    "CREATE DATABASE shop; CREATE DATABASE other;" +
      "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20), card VARCHAR(20));" +
      "CREATE TABLE shop.pii_emails (id INT PRIMARY KEY, email VARCHAR(40));" +
      "CREATE TABLE shop.users (id INT PRIMARY KEY, name VARCHAR(20), password VARCHAR(20));" +
      "CREATE TABLE other.t (id INT PRIMARY KEY); CREATE TABLE other.kept (id INT PRIMARY KEY)",
  );
}

async function checkFilters(server: RunningServer, db: MariaDB): Promise<void> {
  const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
  const canal = createClient(CanalService, transport);
  const admin = createClient(AdminService, transport);

  const plain = await canal.subscribe({ destination: "example", clientId: "plain" });
  assert.equal(plain.filter, FILTERS.filter, "a client without a filter reports the destination's");
  assert.equal(plain.destinationFilter?.blackFilter, FILTERS.blackFilter);
  assert.equal(plain.destinationFilter?.fieldFilter, FILTERS.fieldFilter);
  assert.equal(plain.destinationFilter?.fieldBlackFilter, FILTERS.fieldBlackFilter);
  assert.equal(plain.destinationFilter?.filterQueryDdl, true);
  const wider = await canal.subscribe({ destination: "example", clientId: "wider", filter: ".*\\..*" });
  assert.equal(wider.filter, ".*\\..*");
  await canal.subscribe({ destination: "example", clientId: "narrower", filter: "shop\\.orders" });
  const status = await admin.getDestination({ destination: "example" });
  assert.equal(status.destination?.filter?.filter, FILTERS.filter);

  await poisonInExcludedTable(db);
  await workload(db);
  assert.deepEqual(await drain(canal, "plain", EXPECTED.length), EXPECTED);
  assert.deepEqual(
    await drain(canal, "wider", EXPECTED.length),
    EXPECTED,
    "a wider client filter widens nothing",
  );
  assert.deepEqual(
    await drain(canal, "narrower", 2),
    EXPECTED.filter((r) => r.startsWith("shop.orders")),
    "a narrower client filter narrows",
  );
  const after = await admin.getDestination({ destination: "example" });
  assert.equal(
    after.destination?.failure,
    undefined,
    "the excluded table's unreadable event stopped nothing",
  );
}

describe("destination filters, standalone", () => {
  let db: MariaDB;
  let dataDir: string;
  let server: RunningServer | undefined;
  before(async () => {
    db = await startMariaDB();
    await schema(db);
    dataDir = makeTempDir("dest-filters");
  });
  after(async () => {
    await server?.close();
    await db?.stop();
    removeDir(dataDir);
  });

  test("every kind of destination filter applies to every client; a client filter narrows, never widens", async () => {
    server = await startServer(config(db, dataDir), silentLogger);
    await checkFilters(server, db);
  });
});

describe("destination filters, elected", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dataDir: string;
  let server: RunningServer | undefined;
  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    await schema(db);
    dataDir = makeTempDir("dest-filters-zk");
  });
  after(async () => {
    await server?.close();
    await Promise.all([db?.stop(), zk?.stop()]);
    removeDir(dataDir);
  });

  test("the same on a server elected through ZooKeeper", async () => {
    server = await startServer(
      {
        ...config(db, dataDir),
        zk: {
          connect: zk.connectString,
          root: "/otter/canal",
          sessionTimeoutMs: 4000,
          regrabDelayMs: 500,
          balance: false,
        },
      },
      silentLogger,
    );
    await checkFilters(server, db);
  });
});
