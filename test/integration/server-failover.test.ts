// Two servers elect one runner through ZooKeeper; when the runner is killed with SIGKILL, the
// standby takes over once the runner's session expires, and a consumer goes on from its
// cursor: nothing acked again, nothing lost.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import { rowIds } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir } from "../harness/processes.js";
import { startTcpProxy } from "../harness/tcp-proxy.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const SESSION_TIMEOUT_MS = 2000;

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dir = makeTempDir("failover");
  writeServerConfig(dir, zk, db, SESSION_TIMEOUT_MS);
});
after(async () => {
  await Promise.all([db?.stop(), zk?.stop()]);
  removeDir(dir);
});

function startServer(name: string, port: number, zkConnect?: string): Promise<ManagedProcess> {
  return startSluiceServer(dir, name, port, join(dir, "sluice.yaml"), {
    extraArgs: zkConnect ? ["--zk", zkConnect] : [],
  });
}

test("a SIGKILLed runner's standby takes over after the session timeout; the consumer loses nothing", async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await startServer("server-a", portA);
  const b = await startServer("server-b", portB);
  try {
    const viaA = createClient(
      CanalService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${portA}`, httpVersion: "1.1" }),
    );
    const viaB = createClient(
      CanalService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${portB}`, httpVersion: "1.1" }),
    );
    const subA = await viaA.subscribe({ destination: "example", clientId: "1001" });
    for (let i = 1; i <= 10; i++) await db.query("INSERT INTO shop.orders VALUES (?, 'x')", [i]);
    const acked: number[] = [];
    // Ack a few batches, leave one unacked.
    for (let n = 0; n < 3; n++) {
      const batch = await viaA.get({
        destination: "example",
        clientId: "1001",
        batchSize: 3,
        timeoutMs: 5000n,
      });
      acked.push(...rowIds(batch.entries));
      await viaA.ack({ destination: "example", clientId: "1001", batchId: batch.batchId });
    }
    const unacked = await viaA.get({
      destination: "example",
      clientId: "1001",
      batchSize: 3,
      timeoutMs: 5000n,
    });
    assert.ok(unacked.batchId);

    const killedAt = Date.now();
    await a.kill();
    for (let i = 11; i <= 15; i++) await db.query("INSERT INTO shop.orders VALUES (?, 'y')", [i]);
    let subB: Awaited<ReturnType<typeof viaB.subscribe>> | undefined;
    while (!subB) {
      subB = await viaB.subscribe({ destination: "example", clientId: "1001" }).catch((e: unknown) => {
        if (!(e instanceof ConnectError && e.code === Code.Unavailable)) throw e;
        if (Date.now() - killedAt > SESSION_TIMEOUT_MS * 5) throw e;
        return undefined;
      });
      if (!subB) await new Promise((r) => setTimeout(r, 25));
    }
    const first = await viaB.get({
      destination: "example",
      clientId: "1001",
      batchSize: 100,
      timeoutMs: 5000n,
    });
    const takeoverMs = Date.now() - killedAt;
    assert.ok(subB.epoch > subA.epoch);
    const rest = rowIds(first.entries);
    await viaB.ack({ destination: "example", clientId: "1001", batchId: first.batchId });
    for (;;) {
      const more = await viaB.get({
        destination: "example",
        clientId: "1001",
        batchSize: 100,
        timeoutMs: 1500n,
      });
      if (!more.batchId) break;
      rest.push(...rowIds(more.entries));
      await viaB.ack({ destination: "example", clientId: "1001", batchId: more.batchId });
    }
    assert.deepEqual(
      acked.concat(rest),
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    assert.ok(takeoverMs < SESSION_TIMEOUT_MS + 5000, `takeover took ${takeoverMs} ms`);
    process.stdout.write(
      `# SIGKILL takeover: first batch from the standby ${takeoverMs} ms after the kill (session timeout ${SESSION_TIMEOUT_MS} ms)\n`,
    );
  } finally {
    await a.stop();
    await b.stop();
  }
});

test("split brain: a runner cut off from ZooKeeper stops serving before the standby starts, then rejoins", async () => {
  const proxy = await startTcpProxy({ host: "127.0.0.1", port: zk.nodes[0]?.clientPort as number });
  const [portA, portB] = [await freePort(), await freePort()];
  // A reaches ZooKeeper only through the proxy; B directly.
  const a = await startServer("cut-a", portA, proxy.address);
  const b = await startServer("cut-b", portB);
  try {
    const viaA = createClient(
      CanalService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${portA}`, httpVersion: "1.1" }),
    );
    const viaB = createClient(
      CanalService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${portB}`, httpVersion: "1.1" }),
    );
    await viaA.subscribe({ destination: "example", clientId: "2002" });
    await db.query("INSERT INTO shop.orders VALUES (100, 'z')");
    const batch = await viaA.get({
      destination: "example",
      clientId: "2002",
      batchSize: 10,
      timeoutMs: 5000n,
    });
    assert.ok(batch.batchId);

    const cutAt = Date.now();
    proxy.blackhole();
    let aStoppedAt: number | undefined;
    let bServedAt: number | undefined;
    let ackedOnAAfterCut = false;
    while (aStoppedAt === undefined || bServedAt === undefined) {
      if (Date.now() - cutAt > SESSION_TIMEOUT_MS * 6) throw new Error("timed out");
      if (aStoppedAt === undefined) {
        const r = await viaA
          .get({ destination: "example", clientId: "2002", batchSize: 1, timeoutMs: 0n })
          .catch((e) => e);
        if (r instanceof ConnectError && r.code === Code.Unavailable) aStoppedAt = Date.now();
        // An ack the old runner accepts after the cut would be a split-brain write.
        const ack = await viaA
          .ack({ destination: "example", clientId: "2002", batchId: batch.batchId })
          .catch((e) => e);
        if (!(ack instanceof ConnectError)) ackedOnAAfterCut = true;
      }
      if (bServedAt === undefined) {
        const r = await viaB.subscribe({ destination: "example", clientId: "2002" }).catch((e) => e);
        if (!(r instanceof ConnectError)) bServedAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(ackedOnAAfterCut, false, "no ack succeeded on the cut-off runner");
    assert.ok(
      aStoppedAt < bServedAt,
      `the old runner stopped at +${aStoppedAt - cutAt} ms, the standby served at +${bServedAt - cutAt} ms`,
    );
    // The unacked batch comes again from the new runner.
    const again = await viaB.get({
      destination: "example",
      clientId: "2002",
      batchSize: 10,
      timeoutMs: 5000n,
    });
    assert.deepEqual(rowIds(again.entries), [100]);
    // Reconnected, the old runner finds its session expired, joins again and stands by.
    proxy.restore();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await viaA.subscribe({ destination: "example", clientId: "2002" }).catch((e) => e);
      if (
        r instanceof ConnectError &&
        r.code === Code.Unavailable &&
        r.message.includes(`runs on 127.0.0.1:${portB}`)
      )
        break;
      if (Date.now() > deadline) throw new Error(`the old runner did not rejoin as a standby: ${r}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(a.child.exitCode, null, "it kept running");
    process.stdout.write(
      `# split brain: cut-off runner stopped serving at +${aStoppedAt - cutAt} ms, standby served at +${bServedAt - cutAt} ms (session timeout ${SESSION_TIMEOUT_MS} ms)\n`,
    );
  } finally {
    proxy.restore();
    await a.kill();
    await b.stop();
    await proxy.close();
  }
});

test("the regrab delay is for runners that let go while alive: after a crash and after SIGTERM a standby takes over at once", async () => {
  // A regrab delay far longer than this test may wait: had a standby applied it, nothing would run.
  const config = join(dir, "sluice-long-regrab.yaml");
  writeFileSync(
    config,
    readFileSync(join(dir, "sluice.yaml"), "utf8").replace(/regrabDelay: \S+/, "regrabDelay: 120s"),
  );
  const ports = [await freePort(), await freePort(), await freePort()];
  const servers = new Map<number, ManagedProcess>();
  const start = async (i: number) => {
    servers.set(i, await startSluiceServer(dir, `regrab-${i}`, ports[i] as number, config));
  };
  const runner = async (deadlineMs: number): Promise<number> => {
    const until = Date.now() + deadlineMs;
    for (;;) {
      for (const [i] of servers) {
        const canal = createClient(
          CanalService,
          createConnectTransport({ baseUrl: `http://127.0.0.1:${ports[i]}`, httpVersion: "1.1" }),
        );
        const ok = await canal.subscribe({ destination: "example", clientId: "regrab" }).then(
          () => true,
          () => false,
        );
        if (ok) return i;
      }
      if (Date.now() > until) throw new Error(`no server ran the destination within ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await start(0);
    await start(1);
    const first = await runner(10_000);
    await servers.get(first)?.kill();
    servers.delete(first);
    const second = await runner(SESSION_TIMEOUT_MS + 10_000);
    assert.notEqual(second, first);
    const third = [0, 1, 2].find((i) => i !== first && i !== second) as number;
    await start(third);
    await servers.get(second)?.stop(); // SIGTERM: a graceful release
    servers.delete(second);
    assert.equal(await runner(10_000), third);
  } finally {
    for (const s of servers.values()) await s.stop();
  }
});
