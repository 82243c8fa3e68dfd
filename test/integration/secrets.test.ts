// Secrets (docs/security.md, "Secrets"): servers given their MySQL password the old way (in
// the --source URL, in argv) and the new ways (SLUICE_SOURCE_PASSWORD, --source-password-file;
// the ZooKeeper password likewise) serve rows, and the passwords appear nowhere they can
// see: /metrics (target_info carried argv), the OTLP traces they export to a collector
// started here, the status API, their logs. Only the argv way leaves the password in `ps`,
// and that server warns about it, once.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { type SluiceServerProcess, startSluiceServer } from "../harness/sluice-server.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const DB_PASSWORD = "Db-Pw-93b1f7e2";
const ZK_PASSWORD = "Zk-Pw-4c8d2a61";

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
let collector: Server;
let collectorPort: number;
/** Bodies of the OTLP export requests received, as sent (protobuf holds strings as UTF-8). */
const exported: Buffer[] = [];
const servers: SluiceServerProcess[] = [];

before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  await db.query(
    "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20));" +
      `CREATE USER 'leaky'@'127.0.0.1' IDENTIFIED BY '${DB_PASSWORD}';` +
      "GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO 'leaky'@'127.0.0.1'",
  );
  dir = makeTempDir("secrets");
  writeFileSync(join(dir, "db.pw"), `${DB_PASSWORD}\n`);
  writeFileSync(join(dir, "zk.pw"), ZK_PASSWORD);
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      exported.push(req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body);
      res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/x-protobuf" });
      res.end();
    });
  });
  collectorPort = await new Promise<number>((resolve) =>
    collector.listen(0, "127.0.0.1", () => resolve((collector.address() as { port: number }).port)),
  );
});
after(async () => {
  for (const s of servers) await s.stop();
  collector?.close();
  await Promise.all([db?.stop(), zk?.stop()]);
  if (dir) removeDir(dir);
});

async function start(name: string, sourceUrl: string, extraArgs: string[], env: Record<string, string>) {
  const metricsPort = await freePort();
  const server = await startSluiceServer({
    name,
    sourceUrl,
    dataDir: makeTempDir(`secrets-${name}`),
    metricsPort,
    extraArgs,
    env: {
      // Spans exported over OTLP (HTTP, protobuf) to the collector, every 200 ms.
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
      OTEL_BSP_SCHEDULE_DELAY: "200",
      ...env,
    },
  });
  servers.push(server);
  return { server, metricsPort };
}

/** Subscribes, writes a row, reads and acks it: the server reached its source with the password. */
async function consume(server: SluiceServerProcess, id: number): Promise<void> {
  const client = createSluiceClient({ baseUrl: server.url });
  await client.canal.subscribe({ destination: "example", clientId: "1001" });
  await db.query(`INSERT INTO shop.orders VALUES (${id}, 'row')`);
  const ids: string[] = [];
  const deadline = Date.now() + 30_000;
  while (!ids.includes(String(id)) && Date.now() < deadline) {
    const got = await client.canal.get({
      destination: "example",
      clientId: "1001",
      batchSize: 100,
      timeoutMs: 1000n,
    });
    if (!got.batchId) continue;
    for (const e of got.entries) {
      if (e.payload.case !== "rowChange") continue;
      for (const r of e.payload.value.rowDatas) ids.push(r.afterColumns[0]?.value ?? "");
    }
    await client.canal.ack({ destination: "example", clientId: "1001", batchId: got.batchId });
  }
  assert.ok(ids.includes(String(id)), `row ${id} came through (${ids})`);
}

test("no password in metrics, traces, status or logs, whichever way it was given", async () => {
  const host = `127.0.0.1:${db.port}`;
  const servers = [
    // The old way: in the URL, on the command line.
    await start("argv", `mysql://leaky:${DB_PASSWORD}@${host}`, [], {}),
    // The environment; ZooKeeper credentials in it too.
    await start("env", `mysql://leaky@${host}`, ["--zk", zk.connectString, "--zk-root", "/env"], {
      SLUICE_SOURCE_PASSWORD: DB_PASSWORD,
      SLUICE_ZK_USER: "sluice",
      SLUICE_ZK_PASSWORD: ZK_PASSWORD,
    }),
    // Files.
    await start(
      "files",
      `mysql://leaky@${host}`,
      [
        `--source-password-file=${join(dir, "db.pw")}`,
        "--zk",
        zk.connectString,
        "--zk-root=/files",
        "--zk-user=sluice",
        `--zk-password-file=${join(dir, "zk.pw")}`,
      ],
      {},
    ),
  ];
  let id = 0;
  for (const { server, metricsPort } of servers) {
    await consume(server, ++id);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /target_info\{[^}]*service_name="sluice-server"/, "the resource is on /metrics");
    assert.doesNotMatch(metrics, /process_command_args/);
    for (const pw of [DB_PASSWORD, ZK_PASSWORD])
      assert.ok(!metrics.includes(pw), `no password on /metrics of ${server.process.logFile}`);
    const status = await fetch(`${server.url}/sluice.v1.AdminService/ListDestinations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    const text = await status.text();
    assert.equal(status.status, 200, text);
    assert.ok(!text.includes(DB_PASSWORD) && !text.includes(ZK_PASSWORD), text);
  }

  // Spans of every server reached the collector, with their resource, and no password.
  await waitFor(
    "the Get spans of the three servers",
    async () => {
      const all = Buffer.concat(exported).toString("latin1");
      return (all.match(/sluice\.v1\.CanalService\/Get/g) ?? []).length >= 3 ? true : undefined;
    },
    { timeoutMs: 15_000 },
  );
  const all = Buffer.concat(exported);
  assert.ok(all.includes("sluice-server"), "service.name is exported");
  assert.ok(all.includes("process.pid"), "the process resource is exported");
  assert.ok(!all.includes("process.command_args"), "without argv");
  for (const pw of [DB_PASSWORD, ZK_PASSWORD])
    assert.ok(!all.includes(pw), `no ${pw} in the exported traces`);

  // Logs: no password; the argv server warns once, the others not at all.
  const [argv, env, files] = servers.map(({ server }) => server);
  for (const s of [argv, env, files]) {
    const log = readFileSync(s?.process.logFile as string, "utf8");
    for (const pw of [DB_PASSWORD, ZK_PASSWORD])
      assert.ok(!log.includes(pw), `no password in ${s?.process.logFile}`);
    const warnings = log.match(/WARN .*--source: the URL holds a password/g) ?? [];
    assert.equal(warnings.length, s === argv ? 1 : 0, s?.process.logFile);
  }
  // What `ps` shows: only the argv way has the password there.
  const cmdline = (s: SluiceServerProcess | undefined) =>
    readFileSync(`/proc/${s?.process.child.pid}/cmdline`, "utf8").replaceAll("\0", " ");
  assert.ok(cmdline(argv).includes(DB_PASSWORD));
  for (const s of [env, files]) {
    assert.ok(!cmdline(s).includes(DB_PASSWORD) && !cmdline(s).includes(ZK_PASSWORD), cmdline(s));
  }
});
