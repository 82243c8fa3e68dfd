// Failover under a consumer that streams through the gateway: the running server is killed
// (SIGKILL) and later stopped (SIGTERM); and one of two gateways behind a real haproxy is
// killed. Every time the consumer reopens its stream and the sequence it acked is exactly
// the rows committed in MariaDB: nothing lost, nothing acked twice.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  spawnManaged,
  waitFor,
} from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";
import { sleep, startSluiceGateway, startSluiceServer, writeServerConfig } from "./cluster.js";
import { consumeExactly } from "./consumer.js";

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
let config: string;
const servers = new Map<string, { port: number; p: ManagedProcess }>();

before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  await db.query(
    "CREATE DATABASE shop; CREATE TABLE shop.s (id INT PRIMARY KEY, v VARCHAR(20)); CREATE TABLE shop.g (id INT PRIMARY KEY, v VARCHAR(20))",
  );
  dir = makeTempDir("gateway-failover");
  config = writeServerConfig(dir, zk, db);
  for (const name of ["server-a", "server-b"]) {
    const port = await freePort();
    servers.set(name, { port, p: await startSluiceServer(dir, name, port, config) });
  }
});
after(async () => {
  for (const s of servers.values()) await s.p.stop();
  await Promise.all([db?.stop(), zk?.stop()]);
  removeDir(dir);
});

/**
 * The running server of example and its ZooKeeper session. Between two runners (an election in
 * progress) there is no node for a moment: wait for one. After a SIGKILL the dead runner's node
 * stays until its session expires: `notSession` waits for a node of another session.
 */
async function runner(zkc: ZkClient, notSession?: string): Promise<{ name: string; session: string }> {
  const { data, stat } = await waitFor(
    notSession ? "a new runner of example" : "a runner of example",
    async () => {
      const node = await zkc.get(new ZkPaths().destinationRunning("example")).catch(() => undefined);
      return node && node.stat.ephemeralOwner !== notSession ? node : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  const address = (JSON.parse(data.toString("utf8")) as { address: string }).address;
  for (const [name, s] of servers) {
    if (address.endsWith(`:${s.port}`)) return { name, session: stat.ephemeralOwner };
  }
  throw new Error(`runner ${address} is not one of ours`);
}

/** Inserts rows 1..n into table, one transaction each, at a steady pace. */
async function writeRows(
  table: string,
  n: number,
  everyMs: number,
  onRow?: (id: number) => Promise<void>,
): Promise<void> {
  for (let id = 1; id <= n; id++) {
    await db.query(`INSERT INTO shop.${table} VALUES (?, 'x')`, [id]);
    await onRow?.(id);
    await sleep(everyMs);
  }
}

test("server failover (SIGKILL, then SIGTERM of the runner) under a consumer streaming through the gateway: exact acked sequence", async () => {
  const zkc = await ZkClient.connect(zk.connectString);
  const gwPort = await freePort();
  const gw = await startSluiceGateway(dir, "gateway-s", gwPort, zk, ["--hold", "8s"]);
  try {
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${gwPort}` });
    const rows = 240;
    const consumer = consumeExactly(() => createClient(CanalService, transport), {
      clientId: "failover",
      filter: "shop\\.s",
      rows,
      timeoutMs: 120_000,
      onAcked: (got) => {
        lastAcked = Math.max(lastAcked, ...got);
      },
    });
    let lastAcked = 0;
    await sleep(1000); // the consumer holds and streams before rows come
    const events: string[] = [];
    let killedSession: string | undefined;
    await writeRows("s", rows, 15, async (id) => {
      if (id === 80) {
        const { name, session } = await runner(zkc);
        killedSession = session;
        events.push(`SIGKILL ${name} at row ${id}`);
        await servers.get(name)?.p.kill();
        // It comes back as a standby.
        const port = servers.get(name)?.port as number;
        servers.set(name, { port, p: await startSluiceServer(dir, name, port, config) });
      }
      if (id === 160) {
        // The second fault meets a stream that the new runner serves (a stream that has not
        // had its first message yet is reopened by the gateway itself, unseen by the client).
        const { name } = await runner(zkc, killedSession);
        await waitFor("deliveries from the new runner", async () => lastAcked > 100 || undefined, {
          timeoutMs: 30_000,
          intervalMs: 20,
        });
        events.push(`SIGTERM ${name} at row ${id}`);
        await servers.get(name)?.p.stop();
        const port = servers.get(name)?.port as number;
        servers.set(name, { port, p: await startSluiceServer(dir, name, port, config) });
      }
    });
    const result = await consumer;
    process.stdout.write(`# ${events.join("; ")}; consumer reopened its stream ${result.reconnects} times\n`);
    assert.deepEqual(
      result.acked,
      Array.from({ length: rows }, (_, i) => i + 1),
      `errors: ${result.errors.join(" | ")}`,
    );
    assert.ok(result.reconnects >= 2, "the stream must have been reopened at each failover");
  } finally {
    await gw.stop();
    zkc.close();
  }
});

test("two gateways behind haproxy: the gateway holding the stream is killed, the consumer reconnects through the balancer, exact acked sequence", async () => {
  const zkc = await ZkClient.connect(zk.connectString);
  const [pa, pb, lb] = [await freePort(), await freePort(), await freePort()];
  const gateways = new Map<string, ManagedProcess>([
    [`127.0.0.1:${pa}`, await startSluiceGateway(dir, "gateway-a", pa, zk)],
    [`127.0.0.1:${pb}`, await startSluiceGateway(dir, "gateway-b", pb, zk)],
  ]);
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(
    cfg,
    [
      "global",
      "  maxconn 256",
      "defaults",
      "  mode tcp",
      "  timeout connect 1s",
      "  timeout client 5m",
      "  timeout server 5m",
      "  retries 2",
      "  option redispatch",
      "frontend sluice",
      `  bind 127.0.0.1:${lb}`,
      "  default_backend gateways",
      "backend gateways",
      "  balance roundrobin",
      "  option httpchk GET /readyz",
      "  default-server inter 300ms fall 1 rise 2",
      `  server a 127.0.0.1:${pa} check`,
      `  server b 127.0.0.1:${pb} check`,
      "",
    ].join("\n"),
  );
  const haproxy = spawnManaged("haproxy", "/usr/sbin/haproxy", ["-db", "-f", cfg], {
    logFile: join(dir, "haproxy.log"),
  });
  try {
    await waitFor(
      "haproxy to forward",
      async () =>
        (await fetch(`http://127.0.0.1:${lb}/readyz`).catch(() => undefined))?.ok ? true : undefined,
      { timeoutMs: 10_000, failIf: () => (haproxy.child.exitCode !== null ? "haproxy exited" : undefined) },
    );
    // One transport: one HTTP/2 connection through haproxy to one gateway, made again when it breaks.
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${lb}` });
    const rows = 200;
    const consumer = consumeExactly(() => createClient(CanalService, transport), {
      clientId: "balanced",
      filter: "shop\\.g",
      rows,
      timeoutMs: 120_000,
    });
    await sleep(1000);
    let killed = "";
    await writeRows("g", rows, 15, async (id) => {
      if (id !== 100) return;
      const { data } = await zkc.get(new ZkPaths().clientRunning("example", "balanced"));
      killed = (JSON.parse(data.toString("utf8")) as { gateway: string }).gateway;
      await gateways.get(killed)?.kill();
    });
    const result = await consumer;
    process.stdout.write(
      `# killed gateway ${killed} (SIGKILL) at row 100; consumer reopened its stream ${result.reconnects} times\n`,
    );
    assert.ok(gateways.has(killed), `the hold names gateway ${killed}`);
    assert.deepEqual(
      result.acked,
      Array.from({ length: rows }, (_, i) => i + 1),
      `errors: ${result.errors.join(" | ")}`,
    );
    assert.ok(result.reconnects >= 1);
  } finally {
    await haproxy.stop();
    for (const g of gateways.values()) await g.stop();
    zkc.close();
  }
});
