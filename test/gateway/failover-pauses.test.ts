// Issue 22: what a consumer waits for through a gateway when one thing fails. Each test asserts
// what happens (where a call went, whether a stream stayed open), not how fast: speed is
// bench/failover's to measure.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { startTcpProxy } from "../harness/tcp-proxy.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";
import { ids, sleep, startSluiceGateway, startSluiceServer, writeServerConfig } from "./cluster.js";

const SESSION_TIMEOUT_MS = 2000;

let db: MariaDB;
let zk: ZooKeeper;
let zkc: ZkClient;
let dir: string;
let config: string;
let gateway: ManagedProcess;
let gatewayUrl: string;
const servers = new Map<string, { port: number; p: ManagedProcess }>();
const running = new ZkPaths().destinationRunning("example");
let nextRow = 1;

before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.p (id INT PRIMARY KEY, v VARCHAR(20))");
  dir = makeTempDir("failover-pauses");
  config = writeServerConfig(dir, zk, db, SESSION_TIMEOUT_MS);
  for (const name of ["server-a", "server-b"]) {
    const port = await freePort();
    servers.set(name, { port, p: await startSluiceServer(dir, name, port, config) });
  }
  const port = await freePort();
  gateway = await startSluiceGateway(dir, "gateway", port, zk, ["--hold", "8s"]);
  gatewayUrl = `http://127.0.0.1:${port}`;
  zkc = await ZkClient.connect(zk.connectString);
});
after(async () => {
  zkc?.close();
  await gateway?.stop();
  for (const s of servers.values()) {
    s.p.resume();
    await s.p.stop();
  }
  await Promise.all([db?.stop(), zk?.stop()]);
  if (!process.env.KEEP) removeDir(dir);
});

/** The running server's name and the running node's epoch, once there is one. */
async function runner(): Promise<{ name: string; epoch: bigint }> {
  const { data, stat } = await waitFor("a runner of example", () => zkc.get(running).catch(() => undefined), {
    timeoutMs: 20_000,
    intervalMs: 20,
  });
  const address = (JSON.parse(data.toString("utf8")) as { address: string }).address;
  for (const [name, s] of servers) {
    if (address.endsWith(`:${s.port}`)) return { name, epoch: BigInt(stat.czxid) };
  }
  throw new Error(`runner ${address} is not one of ours`);
}

/** A runner other than the one of `epoch`, once elected and serving through the gateway. */
async function nextRunner(epoch: bigint): Promise<{ name: string; epoch: bigint }> {
  return waitFor(
    "another runner",
    async () => {
      const r = await runner();
      return r.epoch !== epoch ? r : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 20 },
  );
}

async function insertRows(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    await db.query("INSERT INTO shop.p VALUES (?, 'x')", [nextRow]);
    out.push(nextRow++);
  }
  return out;
}

async function restart(name: string): Promise<void> {
  const s = servers.get(name);
  if (!s) throw new Error(`no server ${name}`);
  servers.set(name, { port: s.port, p: await startSluiceServer(dir, name, s.port, config) });
}

test("a stream opened through the gateway while its runner is dead (session not expired yet) waits for the election and is served by the new runner, on the gRPC byte relay and the typed path", async () => {
  const dead = await runner();
  await servers.get(dead.name)?.p.kill();
  const open = async (clientId: string, grpc: boolean) => {
    const transport = grpc
      ? createGrpcTransport({ baseUrl: gatewayUrl })
      : createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1" });
    const stop = new AbortController();
    try {
      for await (const m of createClient(CanalService, transport).stream(
        { destination: "example", clientId, batchSize: 10 },
        { signal: stop.signal },
      )) {
        return m.message.case;
      }
      return "ended";
    } finally {
      stop.abort();
    }
  };
  // Opened at once, before ZooKeeper expired the dead runner's session (2 s).
  let grpc: string | undefined;
  let connect: string | undefined;
  try {
    [grpc, connect] = await Promise.all([open("dead-grpc", true), open("dead-connect", false)]);
  } finally {
    await restart(dead.name);
  }
  const taken = await runner();
  assert.equal(grpc, "subscribed");
  assert.equal(connect, "subscribed");
  assert.notEqual(taken.epoch, dead.epoch);
});

test("calls waiting at a runner that froze are cut when another server takes over: a Get and a Subscribe go to the new runner and succeed while the old one is still frozen", async () => {
  const canal = createClient(
    CanalService,
    createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1" }),
  );
  const typed = createClient(CanalService, createGrpcTransport({ baseUrl: gatewayUrl }));
  const sub = await canal.subscribe({ destination: "example", clientId: "frozen" });
  const frozen = await runner();
  const p = servers.get(frozen.name)?.p as ManagedProcess;
  // A Get that waits for entries at the runner (Connect: the byte relay), then the runner freezes
  // and a Subscribe (always the typed path) is relayed to it.
  const get = canal.get({
    destination: "example",
    clientId: "frozen",
    session: sub.session,
    batchSize: 100,
    timeoutMs: 20_000n,
  });
  await sleep(300);
  p.pause();
  let thawed = false;
  try {
    const subscribe = typed.subscribe({ destination: "example", clientId: "frozen-2" });
    const taken = await nextRunner(frozen.epoch);
    const rows = await insertRows(3);
    const settled = (x: Promise<unknown>) =>
      Promise.race([
        x.then(
          () => "answered",
          (e) => `failed: ${ConnectError.from(e).message}`,
        ),
        sleep(15_000),
      ]);
    const [got, subscribed] = await Promise.all([settled(get), settled(subscribe)]);
    assert.equal(got, "answered", "the Get waited for the frozen runner");
    assert.equal(subscribed, "answered", "the Subscribe waited for the frozen runner");
    const res = await get;
    assert.equal(res.epoch, taken.epoch, "the Get was answered by the new runner");
    assert.deepEqual(ids(res.entries), rows);
    p.resume();
    thawed = true;
  } finally {
    if (!thawed) p.resume();
  }
});

test("the gateway stays ready while its ZooKeeper connection is being made again within the session, and stops being ready once the session may have expired", async () => {
  const zkAddress = zk.connectString.split(",")[0] as string;
  const [host, port] = zkAddress.split(":");
  const proxy = await startTcpProxy({ host: host as string, port: Number(port) });
  const gwPort = await freePort();
  const gw = await startSluiceGateway(dir, "gateway-zk-proxy", gwPort, zk, [
    "--zk",
    proxy.address,
    "--zk-session-timeout",
    "4s",
  ]);
  const readyz = async () => (await fetch(`http://127.0.0.1:${gwPort}/readyz`)).status;
  const logged = (text: string) => readFileSync(gw.logFile, "utf8").includes(text);
  try {
    assert.equal(await readyz(), 200);
    proxy.blackhole();
    await waitFor(
      "the gateway to lose its ZooKeeper connection",
      async () => (logged("reconnecting within the session") ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const lostAt = Date.now();
    assert.equal(await readyz(), 200, "not ready while reconnecting within the session");
    await waitFor("/readyz to answer 503", async () => ((await readyz()) === 503 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const notReadyAfter = Date.now() - lostAt;
    process.stdout.write(
      `# /readyz answered 503 ${notReadyAfter} ms after the connection was lost (session 4 s)\n`,
    );
    assert.ok(notReadyAfter >= 3000, `503 after ${notReadyAfter} ms: within the session`);
    proxy.restore();
    await waitFor("/readyz to answer 200 again", async () => ((await readyz()) === 200 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
  } finally {
    proxy.restore();
    await gw.stop();
    await proxy.close();
  }
});
