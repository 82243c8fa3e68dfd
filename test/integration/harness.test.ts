// The harness itself: real MariaDB and ZooKeeper start, work and stop.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ZkClient, ZkError, ZOO_EPHEMERAL } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { startZooKeeper, startZooKeeperEnsemble, type ZooKeeper } from "../harness/zookeeper.js";

describe("MariaDB from the harness", () => {
  let db: MariaDB;
  before(async () => {
    db = await startMariaDB();
  });
  after(async () => {
    await db?.stop();
  });

  test("runs with a ROW binlog and FULL row metadata on a loopback port", async () => {
    assert.equal(db.host, "127.0.0.1");
    assert.notEqual(db.port, 3306);
    const [vars] = await db.query<Array<Record<string, string>>>(
      "SELECT @@log_bin AS log_bin, @@binlog_format AS fmt, @@binlog_row_metadata AS meta, @@bind_address AS bind",
    );
    assert.deepEqual(vars, { log_bin: "1", fmt: "ROW", meta: "FULL", bind: "127.0.0.1" });
  });

  test("a written row shows up in the binlog as a row event", async () => {
    await db.query("CREATE DATABASE shop");
    await db.query("CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
    await db.query("INSERT INTO shop.orders VALUES (1, 'kettle')");
    const logs = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    const last = logs.at(-1)?.Log_name;
    assert.ok(last?.startsWith(`${db.binlogBasename}.`));
    const events = await db.query<Array<{ Event_type: string; Info: string }>>(
      `SHOW BINLOG EVENTS IN '${last}'`,
    );
    const types = events.map((e) => e.Event_type);
    assert.ok(types.includes("Table_map"), `no Table_map in ${types.join(",")}`);
    assert.ok(types.includes("Write_rows_v1"), `no Write_rows_v1 in ${types.join(",")}`);
    assert.ok(events.some((e) => e.Event_type === "Table_map" && e.Info.includes("(shop.orders)")));
    assert.ok(existsSync(`${db.dataDir}/${last}`));
  });

  test("the replication user can log in and read binlog positions", async () => {
    const mysql = (await import("mysql2/promise")).default;
    const conn = await mysql.createConnection({
      host: db.host,
      port: db.port,
      user: db.replUser,
      password: db.replPassword,
    });
    try {
      const [rows] = await conn.query("SHOW MASTER STATUS");
      assert.equal((rows as unknown[]).length, 1);
    } finally {
      await conn.end();
    }
  });

  test("the command-line client prints what the server stores", () => {
    assert.equal(db.cli("SELECT item FROM shop.orders WHERE id = 1").trim(), "kettle");
  });

  test("restart() stops mariadbd and starts it again on the same port, with its data", async () => {
    const before = db.process.child.pid;
    const logsBefore = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    await db.restart({ downMs: 100 });
    assert.notEqual(db.process.child.pid, before, "a new mariadbd process");
    assert.ok(db.process.child.exitCode === null, "the new mariadbd runs");
    const [row] = await db.query<Array<{ item: string }>>("SELECT item FROM shop.orders WHERE id = 1");
    assert.equal(row?.item, "kettle");
    await db.query("INSERT INTO shop.orders VALUES (2, 'teapot')");
    const logsAfter = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    assert.ok(logsAfter.length > logsBefore.length, "a restart starts a new binlog file");
    const mysql = (await import("mysql2/promise")).default;
    const conn = await mysql.createConnection({ host: db.host, port: db.port, user: "root" });
    await conn.end(); // the same port answers
  });
});

describe("ZooKeeper from the harness", () => {
  let zk: ZooKeeper;
  before(async () => {
    zk = await startZooKeeper();
  });
  after(async () => {
    await zk?.stop();
  });

  test("creates an ephemeral znode and sees it go when its session ends", async () => {
    const paths = new ZkPaths();
    const a = await ZkClient.connect(zk.connectString);
    const b = await ZkClient.connect(zk.connectString);
    try {
      await a.ensurePath(paths.destination("example"));
      const running = paths.destinationRunning("example");
      await a.create(
        running,
        JSON.stringify({ active: true, address: "127.0.0.1:11113", cid: 1 }),
        ZOO_EPHEMERAL,
      );

      const { data, stat } = await b.get(running);
      assert.deepEqual(JSON.parse(data.toString()), { active: true, address: "127.0.0.1:11113", cid: 1 });
      assert.ok(stat.czxid > 0, "czxid is the fencing epoch and must be positive");
      assert.notEqual(stat.ephemeralOwner, "0");

      await assert.rejects(a.create(running, "x", ZOO_EPHEMERAL), (e: unknown) => {
        return e instanceof ZkError && e.code === "NODEEXISTS";
      });

      let fired!: (event: string) => void;
      const deleted = new Promise<string>((resolve) => {
        fired = resolve;
      });
      // The watch must be in place before the session ends, or the deletion goes unseen.
      assert.ok(await b.exists(running, (event) => fired(event)));
      a.close();
      assert.equal(await deleted, "deleted");
      assert.equal(await b.exists(running), undefined);
      await assert.rejects(
        a.get(running),
        (e: unknown) => e instanceof ZkError && e.code === "SESSIONEXPIRED",
      );
    } finally {
      a.close();
      b.close();
    }
  });
});

describe("ZooKeeper ensemble from the harness", () => {
  let zk: ZooKeeper;
  before(async () => {
    zk = await startZooKeeperEnsemble(3);
  });
  after(async () => {
    await zk?.stop();
  });

  test("has one leader and keeps serving when the leader is killed", async () => {
    const modes = await Promise.all(zk.nodes.map((n) => n.mode()));
    assert.equal(modes.filter((m) => m === "leader").length, 1, `modes: ${modes.join(",")}`);

    const client = await ZkClient.connect(zk.connectString, { sessionTimeoutMs: 8000 });
    try {
      await client.ensurePath("/sluice-test/a");
      const leader = await zk.leader();
      await leader.kill();
      // The session survives the leader's loss: a new leader is elected and the client reconnects.
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await client.ensurePath("/sluice-test/b");
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.ok(await client.exists("/sluice-test/a"));
      assert.equal(client.state, "connected");
      await leader.restart();
      const after = await Promise.all(zk.nodes.map((n) => n.mode()));
      assert.equal(after.filter((m) => m === "leader").length, 1, `modes: ${after.join(",")}`);
    } finally {
      client.close();
    }
  });
});
