// Issue 22: what a consumer waits for through a gateway when one thing fails. Each test asserts
// what happens (where a call went, whether a stream stayed open), not how fast: speed is
// bench/failover's to measure.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createSluiceClient } from "../../src/clients/typescript/node.js";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { retryAfterMs } from "../../src/protocol/index.js";
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

/**
 * Starts iterating `stream` and resolves once it has subscribed (`subscriptions` filled by its
 * onSubscribed): a new clientId starts at the head, so rows inserted before would not reach it.
 */
async function subscribed<T>(stream: AsyncIterable<T>, subscriptions: number[]): Promise<AsyncIterable<T>> {
  const it = stream[Symbol.asyncIterator]();
  const first = it.next();
  first.catch(() => {});
  await waitFor("the stream to subscribe", async () => (subscriptions.length > 0 ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 20,
  });
  let pending: Promise<IteratorResult<T>> | undefined = first;
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const r = pending ?? it.next();
        pending = undefined;
        return r;
      },
      return: async () => (await it.return?.()) ?? { done: true, value: undefined },
    }),
  };
}

test("a stream opened through the gateway while its runner is dead (session not expired yet) waits for the election and is served by the new runner, on the byte relays (gRPC, binary Connect) and the typed path (Connect JSON)", async () => {
  const dead = await runner();
  await servers.get(dead.name)?.p.kill();
  const open = async (clientId: string, wire: "grpc" | "connect" | "json") => {
    const transport =
      wire === "grpc"
        ? createGrpcTransport({ baseUrl: gatewayUrl })
        : createConnectTransport({
            baseUrl: gatewayUrl,
            httpVersion: "1.1",
            useBinaryFormat: wire === "connect",
          });
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
  let opened: (string | undefined)[] = [];
  try {
    opened = await Promise.all([
      open("dead-grpc", "grpc"),
      open("dead-connect", "connect"),
      open("dead-json", "json"),
    ]);
  } finally {
    await restart(dead.name);
  }
  const taken = await runner();
  assert.deepEqual(opened, ["subscribed", "subscribed", "subscribed"]);
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

test("binary Connect streams (HTTP/1.1 and HTTP/2: the byte relay) end with unavailable and retry-after-ms when their runner freezes and another takes over", async () => {
  const frozen = await runner();
  const p = servers.get(frozen.name)?.p as ManagedProcess;
  const open = (httpVersion: "1.1" | "2") => {
    const transport = createConnectTransport({ baseUrl: gatewayUrl, httpVersion, useBinaryFormat: true });
    let relay: string | null = null;
    const it = createClient(CanalService, transport)
      .stream(
        { destination: "example", clientId: `moved-${httpVersion}`, batchSize: 10 },
        {
          onHeader: (h) => {
            relay = h.get("sluice-relay");
          },
        },
      )
      [Symbol.asyncIterator]();
    return { httpVersion, it, relay: () => relay };
  };
  const streams = [open("1.1"), open("2")];
  for (const s of streams) {
    const first = await s.it.next();
    assert.equal(first.value?.message.case, "subscribed", s.httpVersion);
    assert.equal(s.relay(), "bytes", `HTTP/${s.httpVersion}: the byte relay`);
  }
  const ends = streams.map(async (s) => {
    try {
      for (let r = await s.it.next(); !r.done; r = await s.it.next());
      return "ended";
    } catch (e) {
      return ConnectError.from(e);
    }
  });
  p.pause();
  let thawed = false;
  try {
    await nextRunner(frozen.epoch);
    for (const [i, end] of ends.entries()) {
      const err = await end;
      const what = `HTTP/${streams[i]?.httpVersion}`;
      assert.ok(err instanceof ConnectError, `${what}: ${String(err)}`);
      assert.equal(err.code, Code.Unavailable, `${what}: ${err.message}`);
      assert.match(err.message, /running server of destination example changed/, what);
      assert.equal(retryAfterMs(err), 0, `${what}: reopen at once`);
    }
    p.resume();
    thawed = true;
  } finally {
    if (!thawed) p.resume();
  }
});

test("the TypeScript client gives up an ack in flight when its subscription ends, resubscribes at once, and never sends it", async () => {
  // Acks are held here until released, as a frozen path would hold them.
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const sent: string[] = [];
  /** Why the held ack was given up: its subscription's end, not its own deadline (30 s). */
  let givenUpBy: ConnectError | undefined;
  const holdAcks: Interceptor = (next) => async (req) => {
    if (req.method.name === "Ack") {
      const aborted = new Promise<void>((r) =>
        req.signal.addEventListener("abort", () => r(), { once: true }),
      );
      await Promise.race([released, aborted]);
      if (req.signal.aborted) {
        givenUpBy = ConnectError.from(req.signal.reason);
        throw new ConnectError("the ack was given up", Code.Canceled);
      }
      if (!req.stream) sent.push((req.message as unknown as { batchId: string }).batchId);
    }
    return next(req);
  };
  const client = createSluiceClient({ baseUrl: gatewayUrl, transport: "grpc", interceptors: [holdAcks] });
  const subscriptions: number[] = [];
  const stop = new AbortController();
  try {
    const before = await runner();
    const batches = await subscribed(
      client.stream({
        destination: "example",
        clientId: "acking",
        batchSize: 100,
        signal: stop.signal,
        onSubscribed: (info) => subscriptions.push(info.subscription),
      }),
      subscriptions,
    );
    await insertRows(2);
    let ack: Promise<boolean> | undefined;
    let firstBatch = "";
    for await (const batch of batches) {
      if (!ack) {
        firstBatch = batch.batchId;
        ack = batch.ack();
        // The subscription ends under the held ack: the runner hands the destination over.
        await servers.get(before.name)?.p.stop();
        await restart(before.name);
      }
      if (subscriptions.length >= 2) break;
    }
    // Still held: the ack was given up, not waited for.
    const outcome = await Promise.race([ack, sleep(10_000).then(() => "still waiting")]);
    assert.equal(outcome, false);
    assert.ok(subscriptions.length >= 2, "subscribed again while the ack was held");
    assert.equal(givenUpBy?.code, Code.Unavailable, `the ack was given up by ${givenUpBy?.message}`);
    release();
    await sleep(200);
    assert.ok(!sent.includes(firstBatch), "the ack of the ended subscription was sent");
  } finally {
    release();
    stop.abort();
  }
});

test("a client whose connection to the gateway goes silent notices it within seconds (HTTP/2 PING) and subscribes again", async () => {
  const gw = new URL(gatewayUrl);
  const proxy = await startTcpProxy({ host: gw.hostname, port: Number(gw.port) });
  const client = createSluiceClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, transport: "grpc" });
  const stop = new AbortController();
  let silentAt = 0;
  let noticedAfter = -1;
  const subscriptions: number[] = [];
  try {
    const batches = await subscribed(
      client.stream({
        destination: "example",
        clientId: "silent",
        batchSize: 100,
        signal: stop.signal,
        onSubscribed: (info) => subscriptions.push(info.subscription),
        onRetry: () => {
          if (silentAt > 0 && noticedAfter < 0) {
            noticedAfter = Date.now() - silentAt;
            proxy.restore();
          }
        },
      }),
      subscriptions,
    );
    const rows = await insertRows(1);
    const seen: number[] = [];
    for await (const batch of batches) {
      seen.push(...ids(batch.entries));
      await batch.ack();
      if (silentAt === 0) {
        proxy.blackhole();
        silentAt = Date.now();
        // Restored when the client noticed (onRetry), or after 10 s; the stream ends after 20 s
        // at the latest, so that a client that never notices fails the test instead of hanging it.
        setTimeout(() => proxy.restore(), 10_000).unref();
        setTimeout(() => stop.abort(), 20_000).unref();
        rows.push(...(await insertRows(1)));
      }
      if (rows.every((r) => seen.includes(r))) break;
    }
    process.stdout.write(`# the client noticed the silent connection after ${noticedAfter} ms\n`);
    assert.ok(noticedAfter >= 0 && noticedAfter < 10_000, "the client did not notice the silent connection");
  } finally {
    stop.abort();
    await proxy.close();
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
