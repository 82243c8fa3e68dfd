// `sluice cursor` (AdminService.SetCursor) against a real MariaDB: the way out of a purged
// binlog (the server waits, stopped, instead of exiting; set the cursor and it reads again),
// moving a running client's cursor back and forth by position, time and head, and the refusal
// while a consumer holds the clientId through a gateway.
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
import { startSluiceGateway } from "../gateway/cluster.js";
import { rowIds, sleep } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { serverConfig } from "../harness/server-config.js";
import { SLUICE_MAIN } from "../harness/sluice-server.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

function config(db: MariaDB, dataDir: string): ServerConfig {
  return serverConfig(db, dataDir);
}

function clients(url: string) {
  const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
  return { canal: createClient(CanalService, transport), admin: createClient(AdminService, transport) };
}

/** Gets and acks until `want` ids arrived or 10 s passed. */
async function read(canal: Client<typeof CanalService>, clientId: string, want: number): Promise<number[]> {
  const ids: number[] = [];
  const deadline = Date.now() + 10_000;
  while (ids.length < want && Date.now() < deadline) {
    const b = await canal.get({ destination: "example", clientId, batchSize: 100, timeoutMs: 300n });
    ids.push(...rowIds(b.entries, "t"));
    if (b.batchId) await canal.ack({ destination: "example", clientId, batchId: b.batchId });
  }
  return ids;
}

function sluice(url: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SLUICE_MAIN, ...args, "--server", url],
      { timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

const insert = (db: MariaDB, from: number, to: number) =>
  db.query(
    Array.from({ length: to - from + 1 }, (_, i) => `INSERT INTO shop.t VALUES (${from + i})`).join(";"),
  );

describe("sluice cursor, standalone", () => {
  let db: MariaDB;
  let dataDir: string;
  let server: RunningServer | undefined;
  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY)");
    dataDir = makeTempDir("cursor-admin");
  });
  after(async () => {
    await server?.close();
    await db?.stop();
    removeDir(dataDir);
  });

  test("moves a running client's cursor by position, time and head; a late ack of a batch given back fails", async () => {
    server = await startServer(config(db, dataDir), silentLogger);
    const { canal } = clients(server.url);
    await canal.subscribe({ destination: "example", clientId: "1001" });
    await insert(db, 1, 3);
    assert.deepEqual(await read(canal, "1001", 3), [1, 2, 3]);
    await db.query("FLUSH BINARY LOGS");
    const [{ File: file } = { File: "" }] = await db.query<Array<{ File: string }>>("SHOW MASTER STATUS");
    await sleep(1100); // a second boundary the timestamp can tell apart
    const before4 = Date.now();
    await insert(db, 4, 5);
    assert.deepEqual(await read(canal, "1001", 2), [4, 5]);

    // Back to the start of the newest file: 4 and 5 again.
    const set = await sluice(server.url, [
      "cursor",
      "set",
      "-d",
      "example",
      "-c",
      "1001",
      "--position",
      `${file}:4`,
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, new RegExp(`example/1001: cursor .* -> ${file.replace(".", "\\.")}:4`));
    assert.deepEqual(await read(canal, "1001", 2), [4, 5]);

    // Back by time: from the first transaction at or after it.
    const byTime = await sluice(server.url, [
      "cursor",
      "set",
      "-d",
      "example",
      "-c",
      "1001",
      "--timestamp",
      // The binlog keeps whole seconds: the start of the second row 4 was committed in.
      new Date(Math.floor(before4 / 1000) * 1000).toISOString(),
    ]);
    assert.equal(byTime.code, 0, byTime.stderr);
    // A batch handed out, then the cursor moves: the batch is given back and its ack fails.
    const held = await canal.get({
      destination: "example",
      clientId: "1001",
      batchSize: 100,
      timeoutMs: 2000n,
    });
    assert.deepEqual(rowIds(held.entries, "t"), [4, 5]);
    const head = await sluice(server.url, ["cursor", "set", "-d", "example", "-c", "1001", "--head"]);
    assert.equal(head.code, 0, head.stderr);
    assert.match(head.stdout, new RegExp(`gave back batches ${held.batchId}`));
    const late = await canal
      .ack({ destination: "example", clientId: "1001", batchId: held.batchId })
      .then(() => undefined, ConnectError.from);
    assert.equal(late?.code, Code.FailedPrecondition);
    assert.match(late?.rawMessage ?? "", /cursor was set by an administrator/);
    await insert(db, 6, 6);
    assert.deepEqual(await read(canal, "1001", 1), [6], "from the head: only what came after");

    const show = await sluice(server.url, ["cursor", "show", "-d", "example", "-c", "1001"]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^example\/1001: mysql-bin\.\d+:\d+/);

    const bad = await sluice(server.url, [
      "cursor",
      "set",
      "-d",
      "example",
      "-c",
      "1001",
      "--position",
      "mysql-bin.999999:4",
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /position: the source has no binlog file "mysql-bin\.999999"/);
    const usage = await sluice(server.url, [
      "cursor",
      "set",
      "-d",
      "example",
      "-c",
      "1001",
      "--head",
      "--gtid",
      "0-1-1",
    ]);
    assert.equal(usage.code, 2);
  });

  test("a cursor in a purged binlog: the server waits, stopped, says so, and reads again once the cursor is set", async () => {
    await server?.close();
    server = undefined;
    // While the server is down: more changes, new files, and the file the cursor is in purged.
    await insert(db, 7, 8);
    await db.query("FLUSH BINARY LOGS");
    await insert(db, 9, 10);
    const logs = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    const newest = (logs.at(-1) as { Log_name: string }).Log_name;
    // MariaDB keeps a file a replica's dump thread still reads: the old server's may linger.
    await waitFor(
      "the older binlogs to be purged",
      async () => {
        await db.query(`PURGE BINARY LOGS TO '${newest}'`);
        const left = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
        return left.length === 1 ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );

    server = await startServer(config(db, dataDir), silentLogger);
    const { canal, admin } = clients(server.url);
    // The source refuses the dump a moment after it started.
    const failure = await waitFor(
      "the destination to say it stopped",
      async () => (await admin.getDestination({ destination: "example" })).destination?.failure,
      { timeoutMs: 15_000 },
    );
    assert.equal(failure.fix, DestinationFailure_Fix.SET_CURSOR);
    assert.match(failure.message, /no longer has the binlog/);
    const err = await canal
      .get({ destination: "example", clientId: "1001", batchSize: 10, timeoutMs: 0n })
      .then(() => undefined, ConnectError.from);
    assert.equal(err?.code, Code.Unavailable);
    assert.match(err?.rawMessage ?? "", /sluice cursor set -d example/);
    const status = await sluice(server.url, ["status"]);
    assert.match(status.stdout, /STOPPED/);
    assert.match(status.stdout, /sluice cursor set -d example/);

    const set = await sluice(server.url, [
      "cursor",
      "set",
      "-d",
      "example",
      "-c",
      "1001",
      "--position",
      `${newest}:4`,
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(await read(canal, "1001", 2), [9, 10]);
    assert.equal((await admin.getDestination({ destination: "example" })).destination?.failure, undefined);
  });
});

describe("sluice cursor, through a gateway", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dir: string;
  let server: RunningServer | undefined;
  let gateway: { stop(): Promise<void> } | undefined;
  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY)");
    dir = makeTempDir("cursor-admin-gw");
  });
  after(async () => {
    await gateway?.stop();
    await server?.close();
    await Promise.all([db?.stop(), zk?.stop()]);
    removeDir(dir);
  });

  test("refused while a consumer holds the clientId, naming the holder; allowed once it lets go", async () => {
    server = await startServer(
      {
        ...config(db, dir),
        zk: {
          connect: zk.connectString,
          root: "/otter/canal",
          sessionTimeoutMs: 4000,
          regrabDelayMs: 300,
          balance: false,
        },
      },
      silentLogger,
    );
    const port = await freePort();
    gateway = await startSluiceGateway(dir, "gateway", port, zk);
    const url = `http://127.0.0.1:${port}`;
    const { canal } = clients(url);
    const sub = await canal.subscribe({ destination: "example", clientId: "1001" });
    await insert(db, 1, 2);

    const refused = await sluice(url, ["cursor", "set", "-d", "example", "-c", "1001", "--head"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /client_id: 1001 is held by \S+ via 127\.0\.0\.1:\d+/);

    await canal.unsubscribe({
      destination: "example",
      clientId: "1001",
      session: sub.session,
      keepCursor: true,
    });
    const set = await sluice(url, ["cursor", "set", "-d", "example", "-c", "1001", "--head"]);
    assert.equal(set.code, 0, set.stderr);
    const again = await canal.subscribe({ destination: "example", clientId: "1001" });
    await insert(db, 3, 3);
    const b = await canal.get({
      destination: "example",
      clientId: "1001",
      batchSize: 100,
      timeoutMs: 5000n,
      session: again.session,
    });
    assert.deepEqual(rowIds(b.entries, "t"), [3], "1 and 2 were passed over with the head");
  });
});
