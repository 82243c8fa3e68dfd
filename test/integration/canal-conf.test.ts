// `sluice server --canal-conf`: two servers, each given its own canal conf directory shaped
// like the canal-ha articles' (canal-server-1 and canal-server-2: ports 11111 and 22222, a
// 3-node ZooKeeper in canal.zkServers, default-instance.xml, destination example with its own
// slaveId), against a real 3-node ZooKeeper ensemble and MariaDB. A consumer reads a known
// workload through them (the runner, then the standby after the runner stops) and gets
// exactly the rows canal's filters let through: filter.regex, filter.black.regex,
// filter.black.field and filter.query.ddl. The startup log lists the unsupported keys, says
// canal.port is not used, and never shows the password.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { Entry } from "../../src/gen/sluice/v1/entry_pb.js";
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
import { startZooKeeperEnsemble, type ZooKeeper } from "../harness/zookeeper.js";

const DB_PASSWORD = "Canal-Pw-5d1e9b";
const ROWS = 40;

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeperEnsemble(3)]);
  await db.query(
    [
      "CREATE DATABASE shop",
      "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))",
      "CREATE TABLE shop.tmp_orders (id INT PRIMARY KEY)",
      "CREATE TABLE shop.users (id INT PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20))",
      "CREATE DATABASE other",
      "CREATE TABLE other.t (id INT PRIMARY KEY)",
      `CREATE USER 'canal'@'127.0.0.1' IDENTIFIED BY '${DB_PASSWORD}'`,
      "GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO 'canal'@'127.0.0.1'",
    ].join(";"),
  );
  dir = makeTempDir("canal-conf");
});
after(async () => {
  await Promise.all([db?.stop(), zk?.stop()]);
  if (dir) removeDir(dir);
});

/** canal-server-N/conf as in the canal-ha article, with this test's ensemble, source and ports. */
function writeCanalServer(n: 1 | 2, canalPort: number, metricsPort: number): string {
  const conf = join(dir, `canal-server-${n}`, "conf");
  mkdirSync(join(conf, "example"), { recursive: true });
  writeFileSync(
    join(conf, "canal.properties"),
    `#################################################
#########       common argument     #############
#################################################
canal.ip = 127.0.0.1
canal.register.ip =
canal.port = ${canalPort}
canal.metrics.pull.port = ${metricsPort}
canal.admin.port = ${canalPort - 1}
canal.admin.user = admin
# 配置ZK地址
canal.zkServers = ${zk.connectString}
canal.zookeeper.flush.period = 1000
canal.withoutNetty = false
canal.serverMode = tcp
canal.file.data.dir = \${canal.conf.dir}
canal.file.flush.period = 1000
canal.instance.memory.buffer.size = 16384
canal.instance.memory.buffer.memunit = 1024
canal.instance.memory.batch.mode = MEMSIZE
canal.instance.filter.druid.ddl = true
canal.instance.filter.query.dcl = false
canal.instance.filter.query.dml = false
canal.instance.filter.query.ddl = true
canal.instance.filter.table.error = false
canal.instance.filter.rows = false
canal.instance.tsdb.enable = true
canal.destinations = example
canal.conf.dir = ../conf
canal.auto.scan = false
canal.instance.global.mode = spring
canal.instance.global.lazy = false
# HA模式:必须都选择default-instance.xml配置.
canal.instance.global.spring.xml = classpath:spring/default-instance.xml
kafka.bootstrap.servers = 127.0.0.1:9092
canal.mq.canalBatchSize = 50
`,
  );
  writeFileSync(
    join(conf, "example", "instance.properties"),
    `#################################################
# slaveId要保证不可重复
canal.instance.mysql.slaveId=${n === 1 ? 12345 : 54321}
canal.instance.gtidon=false
canal.instance.master.address=127.0.0.1:${db.port}
canal.instance.master.journal.name=
canal.instance.master.position=
canal.instance.master.timestamp=
canal.instance.dbUsername=canal
canal.instance.dbPassword=${DB_PASSWORD}
canal.instance.connectionCharset = UTF-8
canal.instance.enableDruid=false
canal.instance.filter.regex=shop\\\\..*
canal.instance.filter.black.regex=shop\\\\.tmp_.*
canal.instance.filter.black.field=shop.users:secret
canal.mq.topic=example
`,
    { mode: 0o600 },
  );
  return conf;
}

interface Server {
  name: string;
  port: number;
  process: ManagedProcess;
}

async function startServer(n: 1 | 2, conf: string): Promise<Server> {
  const name = `canal-server-${n}`;
  const port = await freePort();
  const p = spawnManaged(
    name,
    process.execPath,
    [SLUICE, "server", "--canal-conf", conf, "--port", String(port)],
    {
      logFile: join(dir, `${name}.log`),
      env: { ...process.env, SLUICE_LOG_LEVEL: "info" },
    },
  );
  await waitFor(
    `${name} to be up`,
    async () =>
      (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok ? true : undefined,
    { timeoutMs: 30_000, failIf: () => (p.child.exitCode !== null ? `exited; see ${p.logFile}` : undefined) },
  );
  return { name, port, process: p };
}

function canalClient(port: number, sessions: Http2SessionManager[]) {
  const sessionManager = new Http2SessionManager(`http://127.0.0.1:${port}`);
  sessions.push(sessionManager);
  return createClient(
    CanalService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager }),
  );
}

/** Gets and acks until `done` says the entries so far are complete (or a minute passes). */
async function consume(
  canal: ReturnType<typeof canalClient>,
  done: (entries: Entry[]) => boolean,
): Promise<Entry[]> {
  const entries: Entry[] = [];
  const until = Date.now() + 60_000;
  while (!done(entries)) {
    if (Date.now() > until) throw new Error(`timed out with ${rowIds(entries).length} rows`);
    const b = await canal.get({ destination: "example", clientId: "1001", batchSize: 7, timeoutMs: 1000n });
    if (!b.batchId) continue;
    entries.push(...b.entries);
    await canal.ack({ destination: "example", clientId: "1001", batchId: b.batchId });
  }
  return entries;
}

async function workload(from: number, to: number): Promise<void> {
  for (let id = from; id <= to; id++) {
    await db.query(
      `BEGIN; INSERT INTO shop.orders VALUES (${id}, 'item-${id}'); INSERT INTO shop.tmp_orders VALUES (${id});` +
        ` INSERT INTO other.t VALUES (${id}); INSERT INTO shop.users VALUES (${id}, 'u${id}', 'hush-${id}'); COMMIT`,
    );
    if (id % 10 === 0) await db.query(`CREATE TABLE shop.ddl_${id} (id INT)`);
  }
}

function tablesOf(entries: Entry[]): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    if (e.payload.case === "rowChange" && !e.payload.value.isDdl)
      out.add(`${e.header?.schemaName}.${e.header?.tableName}`);
  }
  return out;
}

test("two servers run canal's config of destination example through a failover, with canal's filters", {
  timeout: 240_000,
}, async () => {
  const [m1, m2] = [await freePort(), await freePort()];
  const confs = [writeCanalServer(1, 11111, m1), writeCanalServer(2, 22222, m2)];
  const servers = [await startServer(1, confs[0] as string), await startServer(2, confs[1] as string)];
  const sessions: Http2SessionManager[] = [];
  try {
    const clients = servers.map((s) => canalClient(s.port, sessions));
    // The runner is the server whose Subscribe works; the other stands by.
    const runner = await waitFor(
      "a runner of example",
      async () => {
        for (const [i, c] of clients.entries()) {
          const ok = await c.subscribe({ destination: "example", clientId: "1001" }).catch(() => undefined);
          if (ok) return i;
        }
        return undefined;
      },
      { timeoutMs: 30_000 },
    );
    const standby = 1 - runner;

    await workload(1, ROWS / 2);
    const first = await consume(clients[runner] as ReturnType<typeof canalClient>, (e) =>
      rowIds(e, "users").includes(ROWS / 2),
    );
    assert.deepEqual(rowIds(first, "orders"), range(1, ROWS / 2));
    assert.deepEqual(rowIds(first, "users"), range(1, ROWS / 2));
    assert.deepEqual(
      [...tablesOf(first)].sort(),
      ["shop.orders", "shop.users"],
      "filter.regex and black.regex",
    );
    assertFiltered(first);

    // The runner stops (SIGTERM hands over); the standby runs example from the acked cursor.
    await servers[runner]?.process.stop();
    await workload(ROWS / 2 + 1, ROWS);
    const second = await waitFor(
      "the standby to take over",
      async () => {
        try {
          await clients[standby]?.subscribe({ destination: "example", clientId: "1001" });
          return await consume(clients[standby] as ReturnType<typeof canalClient>, (e) =>
            rowIds(e, "users").includes(ROWS),
          );
        } catch (err) {
          if (err instanceof ConnectError && [Code.Unavailable, Code.NotFound].includes(err.code))
            return undefined;
          throw err;
        }
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.deepEqual(rowIds(second, "orders"), range(ROWS / 2 + 1, ROWS), "nothing lost or repeated");
    assert.deepEqual(rowIds(second, "users"), range(ROWS / 2 + 1, ROWS));
    assertFiltered(second);

    // What the servers said at startup: canal's keys they do not support, canal.port, no password.
    for (const s of servers) {
      const log = readFileSync(join(dir, `${s.name}.log`), "utf8");
      assert.match(
        log,
        /canal config: \d+ settings are not supported and have no effect .*canal\.admin\.port \(.*canal-server-\d\/conf\/canal.properties:8\)/,
      );
      assert.match(log, /canal\.instance\.memory\.batch\.mode \(/);
      assert.match(log, /canal\.port \(.*canal.properties:6\): not used/);
      assert.match(log, /canal config .*: destinations example; \d+ settings applied/);
      assert.ok(!log.includes(DB_PASSWORD), `${s.name}'s log shows the password`);
    }
    // Status shows no password either.
    const admin = createClient(
      AdminService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${servers[standby]?.port}` }),
    );
    const status = JSON.stringify(
      [await admin.listDestinations({}), await admin.getDestination({ destination: "example" })],
      (_k, v) => (typeof v === "bigint" ? String(v) : v),
    );
    assert.ok(status.includes("example"));
    assert.ok(!status.includes(DB_PASSWORD));
  } finally {
    for (const s of sessions) s.abort();
    for (const s of servers) await s.process.stop();
  }
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** filter.black.field dropped users.secret; filter.query.ddl kept every DDL out. */
function assertFiltered(entries: Entry[]): void {
  for (const e of entries) {
    if (e.payload.case !== "rowChange") continue;
    assert.ok(!e.payload.value.isDdl, `a DDL came through: ${e.payload.value.sql}`);
    if (e.header?.tableName !== "users") continue;
    for (const r of e.payload.value.rowDatas) {
      assert.deepEqual(
        r.afterColumns.map((c) => c.name),
        ["id", "name"],
      );
    }
  }
}
