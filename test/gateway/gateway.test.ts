// The gateway in front of one elected server: routing and errors, curl over HTTP/1.1 JSON,
// one holder per clientId across two gateways (with a hot standby), leases, and consumer
// fencing on the server.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { CanalConnector } from "../../src/clients/typescript/connector.js";
import { createSluiceClient } from "../../src/clients/typescript/node.js";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { CLIENT_EPOCH_HEADER } from "../../src/contracts/client-epoch.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import {
  ServerReflection,
  ServerReflectionRequestSchema,
} from "../../src/gen/grpc/reflection/v1/reflection_pb.js";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { encodeFrame, FrameReader } from "../../src/protocol/frame.js";
import { retryAfterMs } from "../../src/protocol/index.js";
import { rawGrpcStatus } from "../harness/grpc-raw.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";
import { ids, sleep, startSluiceGateway, startSluiceServer, writeServerConfig } from "./cluster.js";

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
let server: ManagedProcess;
let serverPort: number;
let gwA: ManagedProcess;
let gwB: ManagedProcess;
let urlA: string;
let urlB: string;

before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dir = makeTempDir("gateway");
  const config = writeServerConfig(dir, zk, db);
  serverPort = await freePort();
  server = await startSluiceServer(dir, "server", serverPort, config);
  const [pa, pb] = [await freePort(), await freePort()];
  [gwA, gwB] = await Promise.all([
    startSluiceGateway(dir, "gateway-a", pa, zk, ["--lease-idle", "1500ms", "--hold", "1s"]),
    startSluiceGateway(dir, "gateway-b", pb, zk, [
      "--lease-idle",
      "1500ms",
      "--hold",
      "1s",
      "--max-request",
      "1MiB",
    ]),
  ]);
  [urlA, urlB] = [`http://127.0.0.1:${pa}`, `http://127.0.0.1:${pb}`];
});
after(async () => {
  await Promise.all([gwA?.stop(), gwB?.stop()]);
  await server?.stop();
  await Promise.all([db?.stop(), zk?.stop()]);
  removeDir(dir);
});

const canal = (url: string, h2 = false) =>
  createClient(
    CanalService,
    h2 ? createGrpcTransport({ baseUrl: url }) : createConnectTransport({ baseUrl: url, httpVersion: "1.1" }),
  );

async function code(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

test("errors: unknown destination is not_found, bad names are invalid_argument, calls need a session", async () => {
  const c = canal(urlA);
  const err = await c.subscribe({ destination: "nope", clientId: "1" }).catch((e) => ConnectError.from(e));
  assert.ok(err instanceof ConnectError);
  assert.equal(err.code, Code.NotFound, err.message);
  assert.match(err.message, /nope/);
  assert.equal(await code(c.subscribe({ destination: "example", clientId: "a/b" })), Code.InvalidArgument);
  const get = await c
    .get({ destination: "example", clientId: "nobody", batchSize: 1 })
    .catch((e) => ConnectError.from(e));
  assert.ok(get instanceof ConnectError);
  assert.equal(get.code, Code.FailedPrecondition);
  assert.match(get.message, /session/);
});

test("clientIds of canal's ZooKeeper layout are refused with invalid_argument, on the server and through the gateway, on every path", async () => {
  const zkc = await ZkClient.connect(zk.connectString);
  const running = new ZkPaths().destinationRunning("example");
  try {
    const before = (await zkc.get(running)).stat.czxid;
    const serverUrl = `http://127.0.0.1:${serverPort}`;
    for (const url of [urlA, serverUrl]) {
      for (const h2 of [false, true]) {
        const c = canal(url, h2);
        for (const clientId of ["running", "cluster", "cursor", "filter", ".", ".."]) {
          const d = { destination: "example", clientId };
          const calls: [string, () => Promise<unknown>][] = [
            ["Subscribe", () => c.subscribe(d)],
            ["Unsubscribe", () => c.unsubscribe({ ...d, session: `1.${clientId}` })],
            ["Get", () => c.get({ ...d, session: `1.${clientId}`, batchSize: 1 })],
            ["Ack", () => c.ack({ ...d, session: `1.${clientId}`, batchId: "1-1-1" })],
            ["Rollback", () => c.rollback({ ...d, session: `1.${clientId}` })],
            [
              "Stream",
              async () => {
                for await (const _ of c.stream({ ...d, batchSize: 1 })) assert.fail("no message expected");
              },
            ],
          ];
          for (const [method, call] of calls) {
            const err = await call().then(
              () => undefined,
              (e: unknown) => ConnectError.from(e),
            );
            const what = `${url === urlA ? "gateway" : "server"} ${h2 ? "gRPC" : "Connect"} ${method} ${clientId}`;
            assert.equal(err?.code, Code.InvalidArgument, `${what}: ${err?.message}`);
            assert.match(err.rawMessage, /^clientId: ".*" is reserved/, what);
          }
        }
      }
    }
    // The destination's running node is the same: nothing was deleted, no re-election.
    assert.equal((await zkc.get(running)).stat.czxid, before);
  } finally {
    zkc.close();
  }
});

test("a request that is not protobuf gets invalid_argument through the gateway, on the byte relays and the typed path", async () => {
  // Field 1 (a string) announced 5 bytes long, 1 byte there: protobuf cannot decode it.
  const garbage = Buffer.from([0x0a, 0x05, 0x61]);
  const S = `${urlA}/sluice.v1.CanalService`;
  for (const method of ["Get", "Subscribe"]) {
    const r = await fetch(`${S}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: garbage,
    });
    const json = (await r.json()) as { code: string; message: string };
    assert.deepEqual([r.status, json.code], [400, "invalid_argument"], `Connect ${method}: ${json.message}`);
  }
  const session = http2.connect(urlA);
  try {
    for (const method of ["Get", "Ack", "Subscribe", "Stream"]) {
      const status = await rawGrpcStatus(session, `/sluice.v1.CanalService/${method}`, encodeFrame(garbage));
      assert.equal(status, String(Code.InvalidArgument), `gRPC ${method}`);
    }
  } finally {
    session.close();
  }
});

test("curl through the gateway over HTTP/1.1 JSON: subscribe, get, ack, rollback, stream", async () => {
  const S = `${urlA}/sluice.v1.CanalService`;
  const post = (method: string, body: object): Record<string, unknown> => {
    const out = execFileSync(
      "curl",
      ["-sS", "-H", "Content-Type: application/json", "--data", JSON.stringify(body), `${S}/${method}`],
      { encoding: "utf8" },
    );
    return JSON.parse(out) as Record<string, unknown>;
  };
  const sub = post("Subscribe", { destination: "example", clientId: "curl" });
  const session = sub.session as string;
  assert.match(session, /^\d+\.[A-Za-z0-9_-]{24}\.curl$/, JSON.stringify(sub));
  await db.query("INSERT INTO shop.orders VALUES (1, 'curl'), (2, 'curl')");
  const got = post("Get", {
    destination: "example",
    clientId: "curl",
    batchSize: 100,
    timeoutMs: 5000,
    session,
    flat: true,
  });
  assert.ok(got.batchId, JSON.stringify(got));
  assert.equal((got.flatMessages as unknown[]).length, 1);
  const rolled = post("Rollback", { destination: "example", clientId: "curl", session });
  assert.deepEqual(rolled.rolledBackBatchIds, [got.batchId]);
  const again = post("Get", {
    destination: "example",
    clientId: "curl",
    batchSize: 100,
    timeoutMs: 5000,
    session,
  });
  const acked = post("Ack", { destination: "example", clientId: "curl", batchId: again.batchId, session });
  assert.ok(acked.cursor, JSON.stringify(acked));
  // Without the session: refused.
  const refused = post("Get", { destination: "example", clientId: "curl", batchSize: 1 });
  assert.equal(refused.code, "failed_precondition");
  // Unsubscribe ends the hold; then the stream (Connect envelope over HTTP/1.1) takes it.
  post("Unsubscribe", { destination: "example", clientId: "curl", session });
  const body = JSON.stringify({ destination: "example", clientId: "curl", batchSize: 100, window: 4 });
  const frame = encodeFrame(Buffer.from(body));
  // The stream runs until curl's --max-time; the frames read before that are what we check.
  const curl = spawn(
    "curl",
    [
      "-sSN",
      "--max-time",
      "4",
      "-H",
      "Content-Type: application/connect+json",
      "--data-binary",
      "@-",
      `${S}/Stream`,
    ],
    { stdio: ["pipe", "pipe", "ignore"] },
  );
  curl.stdin.end(frame);
  const chunks: Buffer[] = [];
  curl.stdout.on("data", (c: Buffer) => chunks.push(c));
  const exited = new Promise((r) => curl.once("exit", r));
  await sleep(1500);
  await db.query("INSERT INTO shop.orders VALUES (3, 'curl')");
  await exited;
  const reader = new FrameReader();
  reader.push(Buffer.concat(chunks));
  const messages: Record<string, unknown>[] = [];
  for (let f = reader.next(); f !== undefined; f = reader.next()) {
    messages.push(JSON.parse(f.message.toString("utf8")) as Record<string, unknown>);
  }
  const subscribed = messages[0]?.subscribed as { session: string } | undefined;
  assert.ok(subscribed, JSON.stringify(messages));
  assert.match(subscribed.session, /^\d+\.[A-Za-z0-9_-]{24}\.curl$/);
  assert.notEqual(subscribed.session, session);
  const batch = messages[1]?.batch as { entries: unknown[] } | undefined;
  assert.ok(batch && batch.entries.length > 0, JSON.stringify(messages));
});

test("one holder per clientId across gateways; a waiting standby takes over when the holder goes", async () => {
  const a = canal(urlA, true);
  const b = canal(urlB, true);
  const held = new AbortController();
  let relay: string | null = null;
  const streamA = a.stream(
    { destination: "example", clientId: "ha", batchSize: 10 },
    {
      signal: held.signal,
      onHeader: (h) => {
        relay = h.get("sluice-relay");
      },
    },
  );
  const itA = streamA[Symbol.asyncIterator]();
  const first = await itA.next();
  assert.equal(first.value?.message.case, "subscribed");
  assert.equal(relay, "bytes", "gRPC streams take the byte-relaying path");
  // A second consumer through the other gateway is refused, naming the holder and since when.
  const refused = await b
    .subscribe({ destination: "example", clientId: "ha" })
    .catch((e) => ConnectError.from(e));
  assert.ok(refused instanceof ConnectError);
  assert.equal(refused.code, Code.AlreadyExists);
  assert.match(refused.message, /held by .* since \d{4}-/);
  // A standby waits (through gateway B) and takes over once A's stream closes.
  let tookOverAt = 0;
  const standby = (async () => {
    const it = b
      .stream({ destination: "example", clientId: "ha", batchSize: 10, wait: true })
      [Symbol.asyncIterator]();
    const m = await it.next();
    tookOverAt = Date.now();
    await it.return?.();
    return m.value;
  })();
  await sleep(500);
  assert.equal(tookOverAt, 0, "the standby must not hold while A does");
  const closedAt = Date.now();
  held.abort();
  await itA.return?.().catch(() => {});
  const m = await standby;
  assert.equal(m?.message.case, "subscribed");
  assert.ok(
    m?.message.case === "subscribed" &&
      m.message.value.epoch >
        (first.value?.message.case === "subscribed" ? first.value.message.value.epoch : 0n),
  );
  process.stdout.write(
    `# standby took over ${tookOverAt - closedAt} ms after the holder closed its stream\n`,
  );
});

test("a unary Subscribe with wait stands by until the holder unsubscribes, bounded by its deadline", async () => {
  const a = canal(urlA);
  const b = canal(urlB);
  const held = await a.subscribe({ destination: "example", clientId: "wait" });
  // Bounded by the deadline while the holder stays.
  const timedOut = await code(
    b.subscribe({ destination: "example", clientId: "wait", wait: true }, { timeoutMs: 700 }),
  );
  assert.equal(timedOut, Code.DeadlineExceeded);
  const waiting = b.subscribe(
    { destination: "example", clientId: "wait", wait: true },
    { timeoutMs: 10_000 },
  );
  await sleep(300);
  const releasedAt = Date.now();
  await a.unsubscribe({ destination: "example", clientId: "wait", session: held.session });
  const taken = await waiting;
  process.stdout.write(`# unary standby held ${Date.now() - releasedAt} ms after the holder unsubscribed\n`);
  assert.ok(taken.epoch > held.epoch);
  await b.unsubscribe({ destination: "example", clientId: "wait", session: taken.session });
});

test("canal's disconnect (Unsubscribe keep_cursor): the hold is released at once, the cursor stays, outstanding batches come again", async () => {
  const a = new CanalConnector(canal(urlA, true), { destination: "example", clientId: "keep" });
  await a.connect();
  await a.subscribe("shop\\.orders");
  await db.query("INSERT INTO shop.orders VALUES (701, 'k1')");
  const first = await a.getWithoutAck(100, { timeoutMs: 5000 });
  assert.deepEqual(ids(first.entries), [701]);
  await a.ack(first.id);
  await db.query("INSERT INTO shop.orders VALUES (702, 'k2')");
  const second = await a.getWithoutAck(100, { timeoutMs: 5000 });
  assert.deepEqual(ids(second.entries), [702]);
  // Disconnect with the second batch outstanding; a consumer through the other gateway then
  // takes the hold at once (no already_exists until the lease runs out) and resumes after 701.
  const releasedAt = Date.now();
  await a.disconnect();
  const b = new CanalConnector(canal(urlB, true), { destination: "example", clientId: "keep" });
  await b.connect();
  await b.subscribe();
  const tookMs = Date.now() - releasedAt;
  process.stdout.write(
    `# a consumer through another gateway held the clientId ${tookMs} ms after disconnect\n`,
  );
  assert.ok(tookMs < 1000, `took ${tookMs} ms`);
  assert.ok(b.cursor, "b resumed after the durable cursor");
  const again = await b.getWithoutAck(100, { timeoutMs: 5000 });
  assert.deepEqual(ids(again.entries), [702]);
  await b.ack(again.id);
  // Unsubscribe (without keep_cursor) still removes everything: a new consumer starts fresh.
  await b.unsubscribe();
});

test("a lease ends after the idle time; any gateway renews it; the old session is then refused", async () => {
  const a = canal(urlA);
  const b = canal(urlB);
  const sub = await a.subscribe({ destination: "example", clientId: "lease" });
  // Calls through B keep the lease that A holds in ZooKeeper alive past the idle time.
  for (let i = 0; i < 6; i++) {
    await sleep(400);
    await b.get({ destination: "example", clientId: "lease", batchSize: 1, session: sub.session });
  }
  // Idle: the hold ends and the session is lost.
  await sleep(2500);
  const lost = await b
    .get({ destination: "example", clientId: "lease", batchSize: 1, session: sub.session })
    .catch((e) => ConnectError.from(e));
  assert.ok(lost instanceof ConnectError);
  assert.equal(lost.code, Code.FailedPrecondition);
  assert.match(lost.message, /session lost/);
  const again = await b.subscribe({ destination: "example", clientId: "lease" });
  assert.ok(again.epoch > sub.epoch);
});

test("fencing on the server: a newer hold's epoch gives back the older one's batches; the older epoch is refused", async () => {
  const direct = createClient(
    CanalService,
    createConnectTransport({ baseUrl: `http://127.0.0.1:${serverPort}`, httpVersion: "1.1" }),
  );
  const as = (epoch: bigint) => ({ headers: { [CLIENT_EPOCH_HEADER]: String(epoch) } });
  await direct.subscribe({ destination: "example", clientId: "fence" }, as(100n));
  await db.query("INSERT INTO shop.orders VALUES (50, 'f')");
  const zombie = await direct.get(
    { destination: "example", clientId: "fence", batchSize: 100, timeoutMs: 5000n },
    as(100n),
  );
  assert.ok(zombie.batchId);
  // The new holder arrives: the zombie's batch is given back and delivered to it.
  const fresh = await direct.get(
    { destination: "example", clientId: "fence", batchSize: 100, timeoutMs: 5000n },
    as(200n),
  );
  assert.deepEqual(ids(fresh.entries), ids(zombie.entries));
  const zombieAck = await direct
    .ack({ destination: "example", clientId: "fence", batchId: zombie.batchId }, as(100n))
    .catch((e) => ConnectError.from(e));
  assert.ok(zombieAck instanceof ConnectError);
  assert.equal(zombieAck.code, Code.FailedPrecondition);
  assert.match(zombieAck.message, /newer holder/);
  await direct.ack({ destination: "example", clientId: "fence", batchId: fresh.batchId }, as(200n));
});

test("AdminService through the gateway names the holder of each clientId", async () => {
  const a = canal(urlA);
  const sub = await a.subscribe({ destination: "example", clientId: "admin" });
  const admin = createClient(AdminService, createConnectTransport({ baseUrl: urlB, httpVersion: "1.1" }));
  const list = await admin.listDestinations({});
  const d = list.destinations.find((x) => x.name === "example");
  assert.ok(d?.running?.address, `no runner in ${list.destinations.map((x) => x.name).join(",")}`);
  const c = d.clients.find((x) => x.clientId === "admin");
  assert.ok(c?.holder.includes("via"), `holder: ${c?.holder}`);
  await a.unsubscribe({ destination: "example", clientId: "admin", session: sub.session });
});

test("ops: /healthz, /readyz, grpc.health.v1 Check and Watch, server reflection", async () => {
  assert.equal((await fetch(`${urlA}/healthz`)).status, 200);
  assert.equal((await fetch(`${urlA}/readyz`)).status, 200);
  const transport = createGrpcTransport({ baseUrl: urlA });
  const health = createClient(Health, transport);
  assert.equal((await health.check({ service: "" })).status, HealthCheckResponse_ServingStatus.SERVING);
  assert.equal(
    (await health.check({ service: "sluice.v1.CanalService" })).status,
    HealthCheckResponse_ServingStatus.SERVING,
  );
  assert.equal(await code(health.check({ service: "nope" })), Code.NotFound);
  const watching = new AbortController();
  for await (const m of health.watch({ service: "" }, { signal: watching.signal })) {
    assert.equal(m.status, HealthCheckResponse_ServingStatus.SERVING);
    break;
  }
  watching.abort();
  const reflection = createClient(ServerReflection, transport);
  async function* requests() {
    yield create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
    yield create(ServerReflectionRequestSchema, {
      messageRequest: { case: "fileContainingSymbol", value: "sluice.v1.CanalService.Stream" },
    });
  }
  const answers = [];
  for await (const a of reflection.serverReflectionInfo(requests())) answers.push(a);
  const list = answers[0]?.messageResponse;
  assert.equal(list?.case, "listServicesResponse");
  assert.deepEqual(list.value.service.map((s) => s.name).sort(), [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "sluice.v1.AdminService",
    "sluice.v1.CanalService",
  ]);
  const file = answers[1]?.messageResponse;
  assert.equal(file?.case, "fileDescriptorResponse");
  const names = file.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
  assert.equal(names[0], "sluice/v1/canal_service.proto");
  assert.ok(names.includes("sluice/v1/entry.proto"), names.join(","));
  // buf curl lists the methods through reflection, as a user would.
  const buf = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));
  const methods = execFileSync(buf, ["curl", "--http2-prior-knowledge", "--list-methods", urlA], {
    encoding: "utf8",
  });
  assert.match(methods, /sluice\.v1\.CanalService\/Stream/);
  assert.match(methods, /grpc\.health\.v1\.Health\/Check/);
});

test("gRPC Get, Ack and Rollback take the byte-relaying path with the same checks", async () => {
  const g = canal(urlB, true);
  const none = await g
    .get({ destination: "example", clientId: "raw", batchSize: 1 })
    .catch((e) => ConnectError.from(e));
  assert.ok(none instanceof ConnectError);
  assert.equal(none.code, Code.FailedPrecondition);
  assert.match(none.message, /session: is required/);
  const sub = await g.subscribe({ destination: "example", clientId: "raw" });
  await db.query("INSERT INTO shop.orders VALUES (70, 'raw'), (71, 'raw')");
  let relay: string | null = null;
  const got = await g.get(
    { destination: "example", clientId: "raw", batchSize: 100, timeoutMs: 5000n, session: sub.session },
    {
      onHeader: (h) => {
        relay = h.get("sluice-relay");
      },
    },
  );
  assert.equal(relay, "bytes");
  assert.deepEqual(ids(got.entries), [70, 71]);
  const rolled = await g.rollback({ destination: "example", clientId: "raw", session: sub.session });
  assert.deepEqual(rolled.rolledBackBatchIds, [got.batchId]);
  const again = await g.get({
    destination: "example",
    clientId: "raw",
    batchSize: 100,
    timeoutMs: 5000n,
    session: sub.session,
  });
  const wrong = await g
    .ack({ destination: "example", clientId: "raw", batchId: "1-999", session: sub.session })
    .catch((e) => ConnectError.from(e));
  assert.ok(wrong instanceof ConnectError);
  assert.equal(wrong.code, Code.FailedPrecondition);
  assert.match(wrong.message, /oldest outstanding/);
  const acked = await g.ack({
    destination: "example",
    clientId: "raw",
    batchId: again.batchId,
    session: sub.session,
  });
  assert.ok(acked.cursor);
  await g.unsubscribe({ destination: "example", clientId: "raw", session: sub.session });
});

test("Connect Get, Ack and Rollback (binary and JSON) skip connect-es, with the typed path's answers and errors", async () => {
  // Connect calls of these methods are relayed without connect-es; gRPC-Web takes the typed path
  // through connect-es. All must give the caller the same results and the same errors.
  const binary = createClient(CanalService, createConnectTransport({ baseUrl: urlA, httpVersion: "1.1" }));
  const json = createClient(
    CanalService,
    createConnectTransport({ baseUrl: urlA, httpVersion: "1.1", useBinaryFormat: false }),
  );
  const typed = createClient(CanalService, createGrpcWebTransport({ baseUrl: urlA, httpVersion: "1.1" }));
  const outcome = async (p: Promise<unknown>) => {
    try {
      await p;
      return { ok: true };
    } catch (err) {
      const e = ConnectError.from(err);
      return {
        code: e.code,
        message: e.rawMessage,
        retry: e.metadata.get("retry-after-ms"),
        details: e.details.length,
      };
    }
  };
  const sub = await binary.subscribe({ destination: "example", clientId: "raw-connect" });
  const both = async (call: (c: typeof binary) => Promise<unknown>) => {
    const [b, j, t] = [await outcome(call(binary)), await outcome(call(json)), await outcome(call(typed))];
    assert.deepEqual(b, t, "binary Connect against gRPC-Web");
    assert.deepEqual(j, t, "JSON Connect against gRPC-Web");
    return b;
  };
  assert.equal(
    (await both((c) => c.get({ destination: "example", clientId: "raw-connect", batchSize: 1 }))).code,
    Code.FailedPrecondition,
  );
  assert.equal(
    (
      await both((c) =>
        c.get({ destination: "example", clientId: "a b", batchSize: 1, session: sub.session }),
      )
    ).code,
    Code.InvalidArgument,
  );
  assert.equal(
    (await both((c) => c.get({ destination: "example", clientId: "raw-connect", session: "not-a-session" })))
      .code,
    Code.FailedPrecondition,
  );
  assert.equal(
    (
      await both((c) =>
        c.ack({ destination: "example", clientId: "raw-connect", batchId: "1-999", session: sub.session }),
      )
    ).code,
    Code.FailedPrecondition,
  );
  await db.query("INSERT INTO shop.orders VALUES (80, 'raw'), (81, 'raw')");
  let relay: string | null = null;
  const got = await binary.get(
    {
      destination: "example",
      clientId: "raw-connect",
      batchSize: 100,
      timeoutMs: 5000n,
      session: sub.session,
    },
    {
      onHeader: (h) => {
        relay = h.get("sluice-relay");
      },
    },
  );
  assert.equal(relay, "bytes");
  assert.deepEqual(ids(got.entries), [80, 81]);
  const rolled = await binary.rollback({
    destination: "example",
    clientId: "raw-connect",
    session: sub.session,
  });
  assert.deepEqual(rolled.rolledBackBatchIds, [got.batchId]);
  const again = await json.get({
    destination: "example",
    clientId: "raw-connect",
    batchSize: 100,
    timeoutMs: 5000n,
    session: sub.session,
  });
  assert.deepEqual(ids(again.entries), [80, 81]);
  // The same batch through the typed path: the same entries, field for field.
  await json.rollback({ destination: "example", clientId: "raw-connect", session: sub.session });
  const viaTyped = await typed.get({
    destination: "example",
    clientId: "raw-connect",
    batchSize: 100,
    timeoutMs: 5000n,
    session: sub.session,
  });
  assert.deepEqual(viaTyped.entries, again.entries);
  const acked = await binary.ack({
    destination: "example",
    clientId: "raw-connect",
    batchId: viaTyped.batchId,
    session: sub.session,
  });
  assert.ok(acked.cursor);
  await binary.unsubscribe({ destination: "example", clientId: "raw-connect", session: sub.session });
});

test("binary Connect Stream over HTTP/1.1 and HTTP/2 is relayed as bytes: exactly the rows, acks, and the typed path's errors", async () => {
  // Connect JSON streams take the typed path through connect-es: the reference for errors.
  const typed = createClient(
    CanalService,
    createConnectTransport({ baseUrl: urlA, httpVersion: "1.1", useBinaryFormat: false }),
  );
  /** How a stream opens: its first message's case and the relay header, or its error. */
  const opening = async (c: typeof typed, req: { destination: string; clientId: string; wait?: boolean }) => {
    let relay: string | null = null;
    const stop = new AbortController();
    try {
      for await (const m of c.stream(
        { ...req, batchSize: 10 },
        {
          signal: stop.signal,
          onHeader: (h) => {
            relay = h.get("sluice-relay");
          },
        },
      )) {
        return { first: m.message.case, relay };
      }
      return { first: "ended", relay };
    } catch (err) {
      const e = ConnectError.from(err);
      return {
        code: e.code,
        message: e.rawMessage,
        retry: e.metadata.get("retry-after-ms"),
        details: e.details.map((d) => ("desc" in d ? d.desc.typeName : d.type)),
      };
    } finally {
      stop.abort();
    }
  };
  let row = 90;
  for (const httpVersion of ["1.1", "2"] as const) {
    const c = createClient(
      CanalService,
      createConnectTransport({ baseUrl: urlA, httpVersion, useBinaryFormat: true }),
    );
    const what = `HTTP/${httpVersion}`;
    const clientId = `connect-stream-${httpVersion === "2" ? "h2" : "h1"}`;
    let relay: string | null = null;
    const stop = new AbortController();
    const it = c
      .stream(
        { destination: "example", clientId, batchSize: 2 },
        {
          signal: stop.signal,
          onHeader: (h) => {
            relay = h.get("sluice-relay");
          },
        },
      )
      [Symbol.asyncIterator]();
    try {
      const first = await it.next();
      assert.equal(first.value?.message.case, "subscribed", what);
      assert.equal(relay, "bytes", `${what}: the byte relay`);
      const subscribed = first.value?.message.value as { session: string; epoch: bigint };
      // The first message carries the gateway's hold, not the server's.
      assert.match(subscribed.session, new RegExp(`^${subscribed.epoch}\\.[A-Za-z0-9_-]{24}\\.${clientId}$`));
      const rows = [row, row + 1, row + 2, row + 3, row + 4];
      row += rows.length;
      await db.query(`INSERT INTO shop.orders VALUES ${rows.map((id) => `(${id}, 'cs')`).join(", ")}`);
      const got: number[] = [];
      while (got.length < rows.length) {
        const m = await it.next();
        assert.ok(!m.done, `${what}: the stream ended early`);
        if (m.value.message.case !== "batch") continue;
        got.push(...ids(m.value.message.value.entries));
        const acked = await c.ack({
          destination: "example",
          clientId,
          batchId: m.value.message.value.batchId,
          session: subscribed.session,
        });
        assert.ok(acked.cursor, what);
      }
      assert.deepEqual(got, rows, what);
      // The clientId is held by this stream: a second one is refused as on the typed path.
      const held = await opening(c, { destination: "example", clientId });
      assert.equal(held.code, Code.AlreadyExists, `${what}: ${JSON.stringify(held)}`);
      assert.deepEqual(held, await opening(typed, { destination: "example", clientId }), what);
    } finally {
      stop.abort();
      await it.return?.().catch(() => {});
    }
    // Deadlines (connect-timeout-ms): one that passes ends the stream with deadline_exceeded; a
    // long one (more digits than grpc-timeout takes) goes on to the server in its form.
    for (const [timeoutMs, expected] of [
      [300, { code: Code.DeadlineExceeded }],
      [100_000_000, { first: "subscribed" }],
    ] as const) {
      let relay: string | null = null;
      const outcome = await (async () => {
        try {
          for await (const m of c.stream(
            { destination: "example", clientId: `${clientId}-deadline`, batchSize: 10 },
            {
              timeoutMs,
              onHeader: (h) => {
                relay = h.get("sluice-relay");
              },
            },
          )) {
            if (timeoutMs > 300) return { first: m.message.case };
          }
          return { first: "ended" };
        } catch (err) {
          return { code: ConnectError.from(err).code };
        }
      })();
      assert.deepEqual(outcome, expected, `${what}, timeout ${timeoutMs} ms`);
      assert.equal(relay, "bytes", `${what}, timeout ${timeoutMs} ms`);
    }
    // A unary call with such a deadline, on the Connect unary relay.
    const sub = await c.subscribe({ destination: "example", clientId: `${clientId}-unary` });
    await c.get(
      { destination: "example", clientId: `${clientId}-unary`, batchSize: 1, session: sub.session },
      { timeoutMs: 100_000_000 },
    );
    await c.unsubscribe({ destination: "example", clientId: `${clientId}-unary`, session: sub.session });
    // Refused before anything is held: the same code, message and details as the typed path.
    for (const [req, code] of [
      [{ destination: "example", clientId: "a b" }, Code.InvalidArgument],
      [{ destination: "example", clientId: "cursor" }, Code.InvalidArgument],
      [{ destination: "nope", clientId: "1" }, Code.NotFound],
    ] as const) {
      const bytes = await opening(c, req);
      assert.equal(bytes.code, code, `${what} ${JSON.stringify(req)}: ${JSON.stringify(bytes)}`);
      assert.deepEqual(bytes, await opening(typed, req), `${what} ${JSON.stringify(req)}`);
    }
  }
});

test("HTTP/1.1 binary Connect: a request over the gateway's request limit gets resource_exhausted, and the connection goes on", async () => {
  // Gateway B takes requests of up to 1 MiB (--max-request). connect-es's HTTP/1.1 client sends the whole body
  // before it reads the answer: the gateway must read and drop the rest of a refused request.
  const c = canal(urlB);
  const sub = await c.subscribe({ destination: "example", clientId: "too-large" });
  for (const mib of [2, 16, 2]) {
    const started = Date.now();
    await assert.rejects(
      c.get({ destination: "example", clientId: "too-large", session: "s".repeat(mib << 20) }),
      (err) => {
        const e = ConnectError.from(err);
        assert.equal(e.code, Code.ResourceExhausted, e.message);
        assert.match(e.message, /larger than 1048576 bytes/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 5_000, "answered well before the keep-alive timeout");
  }
  const got = await c.get({
    destination: "example",
    clientId: "too-large",
    session: sub.session,
    batchSize: 10,
    timeoutMs: 0n,
  });
  assert.equal(got.batchId, "");
  await c.unsubscribe({ destination: "example", clientId: "too-large", session: sub.session });
});

test("a server's message above the gateway's --max-message ends a relayed stream, and a Get, with resource_exhausted", async () => {
  const port = await freePort();
  const gwC = await startSluiceGateway(dir, "gateway-c", port, zk, ["--max-message", "1KiB"]);
  try {
    // Rows written after a client subscribed come to it: 40 rows, one entry above 1 KiB.
    let next = 900;
    const insert = () => {
      const values = Array.from({ length: 40 }, () => `(${next++}, 'limit')`).join(", ");
      return db.query(`INSERT INTO shop.orders VALUES ${values}`);
    };
    const overLimit = (err: unknown) => {
      const e = ConnectError.from(err);
      assert.equal(e.code, Code.ResourceExhausted, e.message);
      assert.match(
        e.message,
        /larger than the gateway's message limit \(1024 bytes\); ask for smaller batches/,
      );
      return true;
    };
    const g = canal(`http://127.0.0.1:${port}`, true);
    let relay: string | null = null;
    let messages = 0;
    await assert.rejects(async () => {
      const stream = g.stream(
        { destination: "example", clientId: "limited", batchSize: 100 },
        { onHeader: (h) => (relay = h.get("sluice-relay")) },
      );
      for await (const _ of stream) {
        if (++messages > 1) break; // the batch came through: no rejection
        await insert();
      }
    }, overLimit);
    assert.equal(relay, "bytes");
    assert.equal(messages, 1, "the subscription came, the batch did not");
    const sub = await g.subscribe({ destination: "example", clientId: "limited-get" });
    await insert();
    await assert.rejects(
      g.get({
        destination: "example",
        clientId: "limited-get",
        session: sub.session,
        batchSize: 100,
        timeoutMs: 5000n,
      }),
      overLimit,
    );
  } finally {
    await gwC.stop();
  }
});

test("batches of megabytes come through the relay byte for byte, over gRPC and Connect, as its frame buffers are used again", async () => {
  // Each batch is far above the 16 KiB chunks HTTP/2 brings it in: the gateway copies it into
  // a buffer of its own, which it lends again once the write of the batch has completed.
  await db.query("CREATE TABLE shop.notes (id INT PRIMARY KEY, note TEXT)");
  const note = (id: number) => `${id}:`.padEnd(1500, String.fromCharCode(65 + (id % 26)));
  const rows = 1200;
  let next = 0;
  const insert = async () => {
    // Rows written after a client subscribed come to it.
    for (let end = next + rows; next < end; ) {
      const values = Array.from({ length: 200 }, () => `(${next}, '${note(next++)}')`);
      await db.query(`INSERT INTO shop.notes VALUES ${values.join(", ")}`);
    }
  };
  for (const transport of ["grpc", "connect"] as const) {
    const client = createSluiceClient({ baseUrl: urlA, transport });
    const first = next;
    const seen: number[] = [];
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error("time limit")), 30_000);
    let writing: Promise<void> | undefined;
    try {
      for await (const batch of client.stream({
        destination: "example",
        clientId: `notes-${transport}`,
        batchSize: 40, // about 400 KB: row events are about 8 KB
        window: 3,
        signal: stop.signal,
        onSubscribed: () => {
          writing ??= insert();
        },
      })) {
        for (const row of batch.rows()) {
          if (row.table !== "notes" || !row.after) continue;
          const id = Number(row.after.id);
          assert.equal(row.after.note, note(id), `row ${id} over ${transport}`);
          seen.push(id);
        }
        await batch.ack();
        if (seen.length >= rows) break;
      }
    } finally {
      clearTimeout(timer);
      stop.abort();
      await writing;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: rows }, (_, i) => first + i),
      transport,
    );
  }
  // Get's answers (gRPC, and binary Connect over HTTP/1.1) are assembled the same way.
  for (const h2 of [true, false]) {
    const connector = new CanalConnector(canal(urlA, h2), {
      destination: "example",
      clientId: `notes-get-${h2}`,
    });
    await connector.connect();
    await connector.subscribe("shop\\.notes");
    const first = next;
    await insert();
    const seen: number[] = [];
    while (seen.length < rows) {
      const batch = await connector.getWithoutAck(40, { timeoutMs: 5000 });
      assert.notEqual(batch.id, "", `rows came over ${h2 ? "gRPC" : "Connect"}`);
      for (const e of batch.entries) {
        if (e.payload.case !== "rowChange") continue;
        for (const r of e.payload.value.rowDatas) {
          const value = (name: string) => r.afterColumns.find((c) => c.name === name)?.value;
          const id = Number(value("id"));
          assert.equal(value("note"), note(id), `row ${id} of a Get`);
          seen.push(id);
        }
      }
      await connector.ack(batch.id);
    }
    assert.deepEqual(
      seen,
      Array.from({ length: rows }, (_, i) => first + i),
    );
    await connector.disconnect();
  }
});

test("15 streams open at once: no MaxListenersExceededWarning in the gateway or the server", async () => {
  // Every relayed stream listens to the gateway's closing signal, and every open call to the
  // server's shutdown signals; Node warns of a leak past 10 listeners on one signal.
  const g = canal(urlA, true);
  const stops = Array.from({ length: 15 }, () => new AbortController());
  const open = await Promise.all(
    stops.map(async (stop, i) => {
      const clientId = `many-${i}`;
      const { session } = await g.subscribe({ destination: "example", clientId });
      const stream = (async () => {
        try {
          for await (const _ of g.stream(
            { destination: "example", clientId, batchSize: 10, window: 1, session },
            { signal: stop.signal },
          ));
        } catch {}
      })();
      return { clientId, session, stream };
    }),
  );
  await sleep(1000);
  for (const s of stops) s.abort();
  await Promise.all(open.map((o) => o.stream));
  await Promise.all(
    open.map((o) => g.unsubscribe({ destination: "example", clientId: o.clientId, session: o.session })),
  );
  for (const name of ["gateway-a", "server"]) {
    const log = readFileSync(join(dir, `${name}.log`), "utf8");
    assert.doesNotMatch(log, /MaxListenersExceededWarning/, `${name}.log`);
  }
});

test("a destination without a runner: calls wait for the hold time, then unavailable with retry-after-ms", async () => {
  const zkc = await ZkClient.connect(zk.connectString);
  try {
    await zkc.ensurePath(new ZkPaths().destinationCluster("ghost"));
    const started = Date.now();
    const err = await canal(urlA)
      .subscribe({ destination: "ghost", clientId: "1" })
      .catch((e) => ConnectError.from(e));
    const waited = Date.now() - started;
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, Code.Unavailable, err.message);
    assert.match(err.message, /no running server/);
    assert.equal(retryAfterMs(err), 500);
    assert.ok(waited >= 900, `answered after ${waited} ms, before the 1 s hold`);
    // Listed without a runner, next to the destination that has one.
    const admin = createClient(AdminService, createConnectTransport({ baseUrl: urlA, httpVersion: "1.1" }));
    const list = await admin.listDestinations({});
    const byName = new Map(list.destinations.map((d) => [d.name, d]));
    assert.ok(byName.get("example")?.running?.address);
    assert.ok(byName.has("ghost"));
    assert.equal(byName.get("ghost")?.running, undefined);
  } finally {
    zkc.close();
  }
});

// Last: it kills gateway A.
test("a gateway that dies takes its leases with it: its clients get 'session lost' through the others", async () => {
  const sub = await canal(urlA).subscribe({ destination: "example", clientId: "orphan" });
  const b = canal(urlB);
  await b.get({ destination: "example", clientId: "orphan", batchSize: 1, session: sub.session });
  const killedAt = Date.now();
  await gwA.kill();
  // Valid through B until A's ZooKeeper session (2 s) expires, then lost.
  let lost: ConnectError | undefined;
  while (!lost && Date.now() - killedAt < 20_000) {
    lost = await b
      .get({ destination: "example", clientId: "orphan", batchSize: 1, session: sub.session })
      .then(() => undefined)
      .catch((e) => ConnectError.from(e));
    if (!lost) await sleep(100);
  }
  assert.ok(lost, "the session outlived its gateway");
  assert.equal(lost.code, Code.FailedPrecondition);
  assert.match(lost.message, /session lost/);
  process.stdout.write(
    `# session lost ${Date.now() - killedAt} ms after its gateway was killed (ZooKeeper session timeout 2 s)\n`,
  );
  const again = await b.subscribe({ destination: "example", clientId: "orphan" });
  assert.ok(again.epoch > sub.epoch);
});
