// An event the decoder cannot read, against a real MariaDB: the destination stops on it and
// says where (file:position, table, cause) in its errors, status, /readyz and metrics, while the
// server keeps serving; `sluice skip-event` passes over exactly that event, the skip is stored
// (a restart, or another server in a cluster, passes over it too); filterTableError passes over
// such events as they come instead.
//
// The poison is real: MariaDB's old temporal format (mysql56_temporal_format=OFF) logs
// DATETIME(3) without its precision, which only the table's definition gives, and the
// destination is told not to read definitions (schemaLookup "never"; the same happens with
// lookups on when the table is gone by the time the event is read, canal's filter.table.error
// case, but that depends on timing).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { silentLogger } from "../../src/common/log.js";
import { AdminService, DestinationFailure_Fix } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { ServerConfig } from "../../src/server/config/types.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { rowIds } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { serverConfig } from "../harness/server-config.js";
import { SLUICE_MAIN } from "../harness/sluice-server.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

function config(db: MariaDB, dataDir: string, filterTableError = false): ServerConfig {
  return serverConfig(db, dataDir, {
    server: { metrics: { enabled: true, host: "127.0.0.1", port: 0 } },
    destination: { filterTableError, schemaLookup: "never" },
  });
}

async function createTables(db: MariaDB): Promise<void> {
  await db.query("CREATE DATABASE IF NOT EXISTS shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)");
  await db.query("SET GLOBAL mysql56_temporal_format=OFF");
  await db.query("CREATE TABLE shop.legacy (id INT PRIMARY KEY, d DATETIME(3))");
  await db.query("SET GLOBAL mysql56_temporal_format=ON");
}

/** orders 1; then one transaction with orders 2, a row of shop.legacy (the poison) and orders 3; then orders 4. */
async function writePoison(db: MariaDB): Promise<void> {
  await db.query("INSERT INTO shop.orders VALUES (1)");
  await db.query(
    "BEGIN; INSERT INTO shop.orders VALUES (2); INSERT INTO shop.legacy VALUES (1, '2024-01-02 03:04:05.678');" +
      "INSERT INTO shop.orders VALUES (3); COMMIT",
  );
  await db.query("INSERT INTO shop.orders VALUES (4)");
}

function clients(server: RunningServer) {
  const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
  return { canal: createClient(CanalService, transport), admin: createClient(AdminService, transport) };
}

/**
 * Gets and acks until `want` order ids arrived or 15 s passed; a failed get ends it (its error
 * is returned with what arrived before).
 */
async function readOrders(
  canal: Client<typeof CanalService>,
  clientId: string,
  want: number,
): Promise<{ ids: number[]; stopped?: ConnectError }> {
  const ids: number[] = [];
  const deadline = Date.now() + 15_000;
  while (ids.length < want && Date.now() < deadline) {
    try {
      const b = await canal.get({ destination: "example", clientId, batchSize: 100, timeoutMs: 500n });
      ids.push(...rowIds(b.entries, "orders"));
      if (b.batchId) await canal.ack({ destination: "example", clientId, batchId: b.batchId });
    } catch (err) {
      return { ids, stopped: ConnectError.from(err) };
    }
  }
  return { ids };
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function sluice(url: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SLUICE_MAIN, ...args, "--server", url],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

async function metric(server: RunningServer, name: string): Promise<string> {
  const text = await (await fetch(server.metricsUrl as string)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("\n");
}

describe("poison events, standalone", () => {
  let db: MariaDB;
  let dataDir: string;
  let server: RunningServer | undefined;
  before(async () => {
    db = await startMariaDB();
    await createTables(db);
    dataDir = makeTempDir("poison");
  });
  after(async () => {
    await server?.close();
    await db?.stop();
    removeDir(dataDir);
  });

  test("the destination serves up to the event, then stops and says where everywhere; skip-event passes over exactly it", async () => {
    server = await startServer(config(db, dataDir), silentLogger);
    const { canal, admin } = clients(server);
    await canal.subscribe({ destination: "example", clientId: "1001" });
    // A second client that reads nothing: its cursor stays before the poison.
    await canal.subscribe({ destination: "example", clientId: "late" });
    await writePoison(db);

    // What was read before the event is served, its transaction's first row too; then the
    // consumer is told why the destination stopped.
    const before = await readOrders(canal, "1001", 4);
    assert.deepEqual(before.ids, [1, 2]);
    const err = before.stopped;
    assert.equal(err?.code, Code.Unavailable);

    const failure = (await admin.getDestination({ destination: "example" })).destination?.failure;
    assert.ok(failure, "the status says the destination stopped");
    assert.match(failure.journalName, /^mysql-bin\.\d+$/);
    assert.ok(failure.position > 4n);
    assert.equal(failure.eventType, "WRITE_ROWS_V1_EVENT");
    assert.equal(failure.table, "shop.legacy");
    assert.match(
      failure.cause,
      /column 1 \(d\) is in MariaDB's old temporal format .*the table's definition is needed/,
    );
    assert.equal(failure.fix, DestinationFailure_Fix.SKIP_EVENT);
    const at = `${failure.journalName}:${failure.position}`;
    // The consumer's error names the event, its table, and the way past it.
    assert.ok(err?.rawMessage.includes(at), err?.rawMessage);
    assert.match(err?.rawMessage ?? "", /shop\.legacy/);
    assert.ok(err?.rawMessage.includes(`sluice skip-event -d example --at ${at}`), err?.rawMessage);

    // The server serves on: status, readiness and metrics say the same.
    const status = await sluice(server.url, ["status"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`STOPPED .*${escapeRegex(at)}`));
    assert.ok(status.stdout.includes(`sluice skip-event -d example --at ${at}`), status.stdout);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /failed: example/);
    assert.match(await metric(server, "sluice_destination_stopped"), /destination="example"[^\n]* 1/);

    // Only the event it stopped on can be skipped.
    const wrong = await sluice(server.url, [
      "skip-event",
      "-d",
      "example",
      "--at",
      `${failure.journalName}:4`,
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`stopped at ${escapeRegex(at)}, not at`));
    const skip = await sluice(server.url, ["skip-event", "-d", "example", "--at", at]);
    assert.equal(skip.code, 0, skip.stderr);
    assert.match(skip.stdout, /skipped WRITE_ROWS_V1_EVENT .*\(shop\.legacy\)/);

    // Exactly that one event is gone: the rest of its transaction, and what follows, arrive.
    assert.deepEqual((await readOrders(canal, "1001", 2)).ids, [3, 4]);
    assert.match(await metric(server, "sluice_binlog_events_skipped"), /reason="operator"[^\n]* 1/);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    const again = await sluice(server.url, ["skip-event", "-d", "example", "--at", at]);
    assert.equal(again.code, 1, "nothing to skip once it runs");
    assert.match(again.stderr, /is running/);
  });

  test("the skip is stored: after a restart, a client whose cursor is before the event reads past it", async () => {
    await server?.close();
    server = await startServer(config(db, dataDir), silentLogger);
    const { canal, admin } = clients(server);
    assert.deepEqual(await readOrders(canal, "late", 4), { ids: [1, 2, 3, 4] });
    const d = (await admin.getDestination({ destination: "example" })).destination;
    assert.equal(d?.failure, undefined);
    assert.equal(d?.eventsSkipped, 1n);
  });
});

describe("poison events, filterTableError", () => {
  let db: MariaDB;
  let dataDir: string;
  let server: RunningServer | undefined;
  after(async () => {
    await server?.close();
    await db?.stop();
    removeDir(dataDir);
  });

  test("events of a table that cannot be decoded are passed over and counted; the rest arrives", async () => {
    db = await startMariaDB();
    await createTables(db);
    dataDir = makeTempDir("poison-fte");
    server = await startServer(config(db, dataDir, true), silentLogger);
    const { canal, admin } = clients(server);
    await canal.subscribe({ destination: "example", clientId: "1001" });
    await writePoison(db);
    assert.deepEqual(await readOrders(canal, "1001", 4), { ids: [1, 2, 3, 4] });
    const d = (await admin.getDestination({ destination: "example" })).destination;
    assert.equal(d?.failure, undefined);
    assert.equal(d?.eventsSkipped, 1n);
    assert.match(await metric(server, "sluice_binlog_events_skipped"), /reason="table_error"[^\n]* 1/);
  });
});

describe("poison events, elected", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
    await Promise.all([db?.stop(), zk?.stop()]);
    for (const d of dirs) removeDir(d);
  });

  test("a runner keeps a destination it stopped on; the skip lives in ZooKeeper and the next runner passes over it too", async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    await createTables(db);
    const elected = (): ServerConfig => {
      const dir = makeTempDir("poison-zk");
      dirs.push(dir);
      return {
        ...config(db, dir),
        metrics: { enabled: false, host: "127.0.0.1", port: 0 },
        zk: {
          connect: zk.connectString,
          root: "/otter/canal",
          sessionTimeoutMs: 4000,
          regrabDelayMs: 300,
          balance: false,
        },
      };
    };
    const first = await startServer(elected(), silentLogger);
    servers.push(first);
    const a = clients(first);
    await a.canal.subscribe({ destination: "example", clientId: "1001" });
    await a.canal.subscribe({ destination: "example", clientId: "late" });
    await writePoison(db);
    const before = await readOrders(a.canal, "1001", 4);
    assert.deepEqual(before.ids, [1, 2]);
    const failure = (await a.admin.getDestination({ destination: "example" })).destination?.failure;
    assert.ok(failure && before.stopped);

    // A standby that joins now does not take the destination (and stop on the same event).
    const second = await startServer(elected(), silentLogger);
    servers.push(second);
    const b = clients(second);
    const refused = await b.canal
      .get({ destination: "example", clientId: "1001", batchSize: 1, timeoutMs: 0n })
      .then(() => undefined, ConnectError.from);
    assert.equal(refused?.code, Code.Unavailable);
    assert.match(refused?.rawMessage ?? "", /runs on/);

    await a.admin.skipEvent({
      destination: "example",
      journalName: failure.journalName,
      position: failure.position,
    });
    assert.deepEqual(await readOrders(a.canal, "1001", 2), { ids: [3, 4] });

    // The runner goes; the standby takes over from the earliest cursor ("late", before the
    // poison) and passes over the stored skip.
    await first.close();
    servers.shift();
    const got = await waitFor(
      "the standby to serve 'late'",
      async () => {
        const r = await readOrders(b.canal, "late", 4);
        return r.ids.length > 0 || r.stopped?.code !== Code.Unavailable ? r : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.deepEqual(got, { ids: [1, 2, 3, 4] });
    assert.equal((await b.admin.getDestination({ destination: "example" })).destination?.failure, undefined);
  });
});
