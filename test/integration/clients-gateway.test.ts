// The clients through the gateway, as users deploy them: two `sluice server`s elected in
// ZooKeeper, one `sluice gateway`, and the TypeScript client and the CLI pointed at the gateway.
// Each consumes a known workload and acks it, and the test checks the exact sequence; the
// client also survives a SIGKILL of the running server and a gateway restart mid-stream. A
// clientId held by another consumer: the client's already_exists, the CLI's exit code 4, and
// `wait` standing by until the holder goes.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  Code,
  ConnectError,
  createSluiceClient,
  type StreamBatch,
} from "../../src/clients/typescript/index.js";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { sleep, startSluiceGateway, startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { SLUICE_MAIN } from "../harness/sluice-server.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const execFileAsync = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

let db: MariaDB;
let zk: ZooKeeper;
/** One ZooKeeper client of the test, to find the runner and the holders. */
let zkc: ZkClient;
let dir: string;
let config: string;
let gateway: ManagedProcess;
let gatewayPort: number;
let url: string;
// A ZooKeeper session that outlives a gateway restart: the holds of a killed gateway are still
// there when it is back, so a reconnecting stream must bring its session to take its hold over.
const GATEWAY_ARGS = ["--hold", "8s", "--lease-idle", "3s", "--zk-session-timeout", "30s"];
const servers = new Map<string, { port: number; p: ManagedProcess }>();
let nextId = 1;
// A test that fails mid-way ends its suite within this time instead of leaving its clients
// retrying (and the file running) until the runner's 15-minute limit.
const SUITE = { timeout: 300_000 };

/** Inserts `count` rows with fresh ids, `perTx` per transaction; returns their ids. */
async function insertRows(count: number, perTx = 1): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i += perTx) {
    const tx = Array.from({ length: Math.min(perTx, count - i) }, () => nextId++);
    await db.query(`INSERT INTO shop.orders VALUES ${tx.map((id) => `(${id}, 'item-${id}')`).join(",")}`);
    ids.push(...tx);
  }
  return ids;
}

const idsOf = (batch: StreamBatch) => batch.rows().map((r) => Number(r.after?.id));

/**
 * Registers clientId (its cursor starts at the head) and lets its hold go: a stream that ends
 * as soon as it is subscribed (a stream's hold ends with it, where a unary Subscribe's lease
 * would stay until --lease-idle).
 */
async function register(clientId: string): Promise<void> {
  const stop = new AbortController();
  const client = createSluiceClient({ baseUrl: url });
  for await (const _ of client.stream({
    destination: "example",
    clientId,
    filter: "shop\\.orders",
    signal: stop.signal,
    onSubscribed: () => stop.abort(),
  })) {
    assert.fail("no batch expected");
  }
  // The gateway lets the hold go when it sees the stream end: wait until it has, or the next
  // consumer could meet (or a wait for its hold mistake) this one's node.
  await waitFor(
    `the hold of ${clientId} to end`,
    async () => ((await zkc.exists(new ZkPaths().clientRunning("example", clientId))) ? undefined : true),
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  zkc = await ZkClient.connect(zk.connectString);
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dir = makeTempDir("clients-gateway");
  config = writeServerConfig(dir, zk, db);
  for (const name of ["server-a", "server-b"]) {
    const port = await freePort();
    servers.set(name, { port, p: await startSluiceServer(dir, name, port, config) });
  }
  gatewayPort = await freePort();
  gateway = await startSluiceGateway(dir, "gateway", gatewayPort, zk, GATEWAY_ARGS);
  url = `http://127.0.0.1:${gatewayPort}`;
});
after(async () => {
  // Every part is stopped even when another fails to stop (a failed test may leave one broken).
  zkc?.close();
  await gateway?.stop().catch(() => {});
  for (const s of servers.values()) await s.p.stop().catch(() => {});
  await Promise.allSettled([db?.stop(), zk?.stop()]);
  removeDir(dir);
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SLUICE_MAIN, ...args],
      { env: { ...process.env, SLUICE_URL: url }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

const jsonIds = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => Number((JSON.parse(l) as { after: { id: string } }).after.id));

async function runnerName(): Promise<string> {
  const { data } = await waitFor(
    "a runner of example",
    () => zkc.get(new ZkPaths().destinationRunning("example")).catch(() => undefined),
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  const address = (JSON.parse(data.toString("utf8")) as { address: string }).address;
  for (const [name, s] of servers) if (address.endsWith(`:${s.port}`)) return name;
  throw new Error(`runner ${address} is not one of ours`);
}

describe("the TypeScript client through the gateway", SUITE, () => {
  test("client.stream over connect (HTTP/1.1 and 2), grpc and grpc-web: the exact rows, acked once each", async () => {
    const variants = [
      { transport: "connect", httpVersion: "1.1" },
      { transport: "connect", httpVersion: "2" },
      { transport: "grpc", httpVersion: "2" },
      { transport: "grpc-web", httpVersion: "1.1" },
    ] as const;
    for (const v of variants) {
      const clientId = `gw-${v.transport}-${v.httpVersion.replace(".", "")}`;
      const client = createSluiceClient({ baseUrl: url, ...v });
      let ids: Promise<number[]> | undefined;
      const acked: number[] = [];
      const stop = new AbortController();
      for await (const batch of client.stream({
        destination: "example",
        clientId,
        filter: "shop\\.orders",
        batchSize: 5,
        window: 3,
        signal: stop.signal,
        onSubscribed: () => {
          ids ??= insertRows(40, 3);
        },
      })) {
        const got = idsOf(batch);
        assert.equal(await batch.ack(), true);
        acked.push(...got);
        if (acked.length >= 40) break;
      }
      stop.abort();
      assert.deepEqual(acked, await ids, `${v.transport} over HTTP/${v.httpVersion}`);
    }
  });

  test("examples/stream.js and examples/canal-style.js, run as a user runs them: exactly the workload", async () => {
    for (const [file, clientId] of [
      ["stream.js", "gw-ex-stream"],
      ["canal-style.js", "gw-ex-canal"],
    ] as const) {
      await register(clientId);
      const ids = await insertRows(60, 4);
      const { stdout } = await execFileAsync(process.execPath, [`${EXAMPLES}${file}`], {
        env: {
          ...process.env,
          SLUICE_URL: url,
          SLUICE_CLIENT_ID: clientId,
          SLUICE_FILTER: "shop\\.orders",
          SLUICE_MAX_ROWS: String(ids.length),
        },
        timeout: 60_000,
      });
      assert.deepEqual(
        stdout
          .trim()
          .split("\n")
          .map((l) => Number((JSON.parse(l) as { after: { id: string | number } }).after.id)),
        ids,
        file,
      );
    }
  });

  test("the canal-shaped connector: getWithoutAck / rollback / ack, and a server SIGKILL between gets: exact rows", async () => {
    const client = createSluiceClient({ baseUrl: url });
    const connector = client.connector({
      destination: "example",
      clientId: "gw-canal",
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    await connector.connect();
    await connector.subscribe("shop\\.orders");
    const ids = await insertRows(30, 3);
    const acked: number[] = [];
    let rolledBack = false;
    let killed = false;
    while (acked.length < ids.length) {
      const m = await connector.getWithoutAck(7, { timeoutMs: 5000 });
      if (m.id === "") continue;
      if (!rolledBack) {
        rolledBack = true;
        assert.deepEqual(await connector.rollback(), [m.id]);
        continue;
      }
      acked.push(...m.rows().map((r) => Number(r.after?.id)));
      await connector.ack(m.id);
      if (!killed && acked.length >= 15) {
        // The lease of the connector's hold outlives the runner: the connector subscribes again
        // with its session and keeps the hold.
        killed = true;
        const name = await runnerName();
        const s = servers.get(name) as { port: number; p: ManagedProcess };
        await s.p.kill();
        servers.set(name, { port: s.port, p: await startSluiceServer(dir, name, s.port, config) });
      }
    }
    assert.deepEqual(acked, ids);
    const rest = await connector.get(7, { timeoutMs: 0 });
    assert.equal(rest.id, "", "nothing left");
    await connector.unsubscribe();
  });

  test("a SIGKILL of the running server and a gateway restart mid-stream: exact acked sequence", async () => {
    const client = createSluiceClient({ baseUrl: url, transport: "grpc" });
    const stop = new AbortController();
    const events: string[] = [];
    const subscriptions: number[] = [];
    let gatewayDown = false;
    try {
      let ids: Promise<number[]> | undefined;
      const acked: number[] = [];
      let stale = 0;
      for await (const batch of client.stream({
        destination: "example",
        clientId: "gw-ha",
        filter: "shop\\.orders",
        batchSize: 25,
        window: 4,
        signal: stop.signal,
        retry: { initialDelayMs: 50, maxDelayMs: 500 },
        onSubscribed: (s) => {
          subscriptions.push(s.subscription);
          ids ??= insertRows(300, 10);
        },
      })) {
        const got = idsOf(batch);
        if (events.length === 0 && acked.length >= 100) {
          const name = await runnerName();
          events.push(`SIGKILL ${name} after ${acked.length} rows`);
          const s = servers.get(name) as { port: number; p: ManagedProcess };
          await s.p.kill();
          if (!(await batch.ack())) stale++;
          // It comes back as a standby.
          servers.set(name, { port: s.port, p: await startSluiceServer(dir, name, s.port, config) });
          continue;
        }
        if (events.length === 1 && acked.length >= 200) {
          events.push(`SIGKILL and restart of the gateway after ${acked.length} rows`);
          await gateway.kill();
          gatewayDown = true;
          if (!(await batch.ack())) stale++;
          gateway = await startSluiceGateway(dir, "gateway-2", gatewayPort, zk, GATEWAY_ARGS);
          gatewayDown = false;
          continue;
        }
        if (await batch.ack()) acked.push(...got);
        else stale++;
        if (acked.length >= 300) break;
      }
      process.stdout.write(
        `# ${events.join("; ")}; ${subscriptions.length} subscriptions, ${stale} stale acks refused\n`,
      );
      assert.equal(events.length, 2);
      assert.ok(stale >= 2, "the batch held at each kill could not be acked");
      assert.ok(subscriptions.length >= 3, "subscribed again after each kill");
      assert.deepEqual(acked, await ids, "every row acked exactly once, in order");
    } finally {
      stop.abort();
      // The tests after this one need a gateway.
      if (gatewayDown) gateway = await startSluiceGateway(dir, "gateway-3", gatewayPort, zk, GATEWAY_ARGS);
    }
  });

  test("a held clientId: already_exists naming the holder; wait: true stands by and takes over", async () => {
    const holder = createSluiceClient({ baseUrl: url });
    const standbyClient = createSluiceClient({ baseUrl: url });
    await register("gw-held");
    const ids = await insertRows(6, 1);
    const holderStop = new AbortController();
    // One transaction (BEGIN, row, END) per batch.
    const held = holder.stream({
      destination: "example",
      clientId: "gw-held",
      batchSize: 3,
      signal: holderStop.signal,
    });
    const it = held[Symbol.asyncIterator]();
    const first = await it.next();
    assert.ok(!first.done);
    assert.equal(await first.value.ack(), true);
    const firstIds = idsOf(first.value);
    assert.deepEqual(firstIds, ids.slice(0, 1));

    // Without wait: refused at once, not retried.
    const refused = await (async () => {
      for await (const _ of standbyClient.stream({ destination: "example", clientId: "gw-held" })) break;
    })().catch((e: unknown) => e);
    assert.ok(refused instanceof ConnectError, String(refused));
    assert.equal(refused.code, Code.AlreadyExists);
    assert.match(refused.rawMessage, /held by .* through gateway .* since .*"wait": true/);

    // With wait: stands by, and goes on after the holder's last ack when the holder goes.
    const standbyStop = new AbortController();
    const rest: number[] = [];
    const standby = (async () => {
      for await (const batch of standbyClient.stream({
        destination: "example",
        clientId: "gw-held",
        batchSize: 3,
        wait: true,
        signal: standbyStop.signal,
      })) {
        if (await batch.ack()) rest.push(...idsOf(batch));
        if (firstIds.length + rest.length >= ids.length) break;
      }
    })();
    await sleep(500);
    assert.deepEqual(rest, [], "nothing while the holder holds");
    holderStop.abort();
    await it.return?.();
    await standby;
    standbyStop.abort();
    assert.deepEqual([...firstIds, ...rest], ids);
  });
});

describe("sluice tail and sluice status through the gateway", SUITE, () => {
  test("tail: exactly the workload, in order, acked; the next tail goes on after it", async () => {
    await register("gw-cli");
    const ids = await insertRows(40, 4);
    const r = await sluice([
      "tail",
      "-c",
      "gw-cli",
      "--format",
      "json",
      "--max-rows",
      "40",
      "--batch-size",
      "7",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonIds(r.stdout), ids);
    const more = await insertRows(3, 1);
    const next = await sluice([
      "tail",
      "-c",
      "gw-cli",
      "--transport",
      "grpc",
      "--format",
      "json",
      "--max-rows",
      "3",
    ]);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(jsonIds(next.stdout), more);
  });

  test("status shows the runner and the holder; a held clientId: tail exits 4, tail --wait takes over", async () => {
    await register("gw-status");
    const tail = spawn(
      process.execPath,
      [SLUICE_MAIN, "tail", "-c", "gw-status", "--format", "json", "--max-seconds", "30"],
      { env: { ...process.env, SLUICE_URL: url }, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      await waitFor(
        "the tail to hold gw-status",
        () => zkc.get(new ZkPaths().clientRunning("example", "gw-status")).catch(() => undefined),
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      const runner = servers.get(await runnerName())?.port;
      const text = await sluice(["status"]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`running +127\\.0\\.0\\.1:${runner} \\(epoch \\d+, since `));
      assert.match(
        text.stdout,
        new RegExp(`^ {2}gw-status .* 127\\.0\\.0\\.1:\\d+ via 127\\.0\\.0\\.1:${gatewayPort}`, "m"),
      );

      // The CLI with the held clientId: exit code 4, naming the holder.
      const held = await sluice(["tail", "-c", "gw-status", "--max-seconds", "10"]);
      assert.equal(held.code, 4, held.stderr);
      assert.match(held.stderr, /sluice tail: client gw-status of destination example is held by /);
      assert.match(held.stderr, /--wait stands by and takes over when it goes/, "the CLI's own flag");

      // --wait: stands by while the holder holds, takes over when it exits, goes on after it.
      const waiting = spawn(
        process.execPath,
        [SLUICE_MAIN, "tail", "-c", "gw-status", "--wait", "--format", "json", "--max-rows", "3"],
        { env: { ...process.env, SLUICE_URL: url }, stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      let err = "";
      waiting.stdout.on("data", (b: Buffer) => {
        out += b.toString();
      });
      waiting.stderr.on("data", (b: Buffer) => {
        err += b.toString();
      });
      const exited = new Promise<number | null>((r) => waiting.once("exit", (code) => r(code)));
      await sleep(1000);
      assert.equal(waiting.exitCode, null, `the standby tail waits: ${err}`);
      tail.kill("SIGINT");
      await new Promise((r) => tail.once("exit", r));
      const ids = await insertRows(3, 1);
      assert.equal(await exited, 0, err);
      assert.deepEqual(jsonIds(out), ids);
    } finally {
      if (tail.exitCode === null) {
        tail.kill("SIGINT");
        await new Promise((r) => tail.once("exit", r));
      }
    }
  });
});
