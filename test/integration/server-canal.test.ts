// The canal server in standalone mode against a real MariaDB: get / ack / rollback, cursors
// that survive restarts, filters per client, streams with a window, and clear errors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { silentLogger } from "../../src/common/log.js";
import { ZkClient } from "../../src/common/zk/client.js";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService, GetResponseSchema } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { type Entry, EntryType } from "../../src/gen/sluice/v1/entry_pb.js";
import { DEFAULT_LIMITS } from "../../src/security/limits.js";
import type { ServerConfig } from "../../src/server/config/types.js";
import { entryJsonFormsMade } from "../../src/server/encode/json-responses.js";
import { parseSourceUrl, redact } from "../../src/server/replication/source.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

function config(db: MariaDB, dataDir: string, port = 0): ServerConfig {
  return {
    host: "127.0.0.1",
    port,
    advertise: "127.0.0.1:0",
    advertiseConfigured: false,
    dataDir,
    maxRequest: 4 << 20,
    metrics: { enabled: false, host: "127.0.0.1", port: 0 },
    store: { maxEntries: 1000, maxBytes: 16 << 20, catchUpReaders: 4 },
    stream: { window: 4, maxBatchSize: 10_000 },
    limits: DEFAULT_LIMITS,
    destinations: [
      {
        name: "example",
        source: parseSourceUrl(db.sourceUrl),
        redactedSourceUrl: redact(db.sourceUrl),
        filter: "",
        blackFilter: "",
        fieldFilter: "",
        fieldBlackFilter: "",
        filterQueryDdl: false,
        filterTableError: false,
        heartbeatMs: 1000,
        schemaLookup: "auto",
      },
    ],
  };
}

/** Row ids of INSERT entries in order. */
function ids(entries: Entry[]): number[] {
  const out: number[] = [];
  for (const e of entries) {
    if (e.payload.case !== "rowChange" || e.payload.value.isDdl) continue;
    for (const r of e.payload.value.rowDatas) {
      const id = r.afterColumns.find((c) => c.name === "id") ?? r.beforeColumns.find((c) => c.name === "id");
      if (id) out.push(Number(id.value));
    }
  }
  return out;
}

describe("canal server, standalone", () => {
  let db: MariaDB;
  let dataDir: string;
  let server: RunningServer;
  let canal: Client<typeof CanalService>;
  let admin: Client<typeof AdminService>;

  async function boot(): Promise<void> {
    server = await startServer(config(db, dataDir), silentLogger);
    const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
    canal = createClient(CanalService, transport);
    admin = createClient(AdminService, transport);
  }

  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
    await db.query("CREATE TABLE shop.audit (id INT PRIMARY KEY, note VARCHAR(20))");
    dataDir = makeTempDir("server-data");
    await boot();
  });
  after(async () => {
    await server?.close();
    await db?.stop();
    removeDir(dataDir);
  });

  test("get, ack in order, rollback, and cursors that survive a restart", async () => {
    const sub = await canal.subscribe({ destination: "example", clientId: "1001" });
    assert.ok(sub.cursor?.journalName.startsWith("mysql-bin."));
    assert.equal(sub.epoch, 1n);
    const empty = await canal.get({ destination: "example", clientId: "1001", batchSize: 10, timeoutMs: 0n });
    assert.equal(empty.batchId, "");
    assert.equal(empty.entries.length, 0);

    for (let i = 1; i <= 6; i++) await db.query("INSERT INTO shop.orders VALUES (?, 'x')", [i]);
    // One transaction is BEGIN, ROWDATA, END: batches of 3 entries hold one transaction each.
    const b1 = await canal.get({ destination: "example", clientId: "1001", batchSize: 3, timeoutMs: 5000n });
    const b2 = await canal.get({ destination: "example", clientId: "1001", batchSize: 3, timeoutMs: 5000n });
    assert.deepEqual(ids(b1.entries), [1]);
    assert.deepEqual(
      b1.entries.map((e) => e.entryType),
      [EntryType.TRANSACTION_BEGIN, EntryType.ROWDATA, EntryType.TRANSACTION_END],
    );
    assert.deepEqual(ids(b2.entries), [2]);

    const outOfOrder = await canal
      .ack({ destination: "example", clientId: "1001", batchId: b2.batchId })
      .catch((e: unknown) => e);
    assert.ok(outOfOrder instanceof ConnectError);
    assert.equal(outOfOrder.code, Code.FailedPrecondition);
    assert.match(outOfOrder.message, new RegExp(`oldest outstanding is "${b1.batchId}"`));

    const acked = await canal.ack({ destination: "example", clientId: "1001", batchId: b1.batchId });
    assert.ok(acked.cursor);
    const onDisk = JSON.parse(readFileSync(join(dataDir, "destinations/example/1001/cursor"), "utf8"));
    assert.equal(onDisk["@type"], "com.alibaba.otter.canal.protocol.position.LogPosition");
    assert.equal(onDisk.postion.position, Number(acked.cursor.position), "the ack's cursor is on disk");

    const rolled = await canal.rollback({ destination: "example", clientId: "1001" });
    assert.deepEqual(rolled.rolledBackBatchIds, [b2.batchId]);
    const again = await canal.get({
      destination: "example",
      clientId: "1001",
      batchSize: 3,
      timeoutMs: 5000n,
    });
    assert.deepEqual(ids(again.entries), [2], "a rolled back batch is delivered again");
    assert.notEqual(again.batchId, b2.batchId, "batch ids are never reused");
    await canal.ack({ destination: "example", clientId: "1001", batchId: again.batchId });

    // A batch that ends inside a transaction: ack it, restart, and get the rest only.
    await db.query(
      "BEGIN; INSERT INTO shop.orders VALUES (100, 'a'); INSERT INTO shop.audit VALUES (100, 'b'); COMMIT",
    );
    let seen: number[] = [];
    for (;;) {
      const b = await canal.get({ destination: "example", clientId: "1001", batchSize: 2, timeoutMs: 5000n });
      assert.notEqual(b.batchId, "");
      seen = seen.concat(ids(b.entries));
      await canal.ack({ destination: "example", clientId: "1001", batchId: b.batchId });
      if (seen.includes(100)) break;
    }
    const unacked = await canal.get({
      destination: "example",
      clientId: "1001",
      batchSize: 1,
      timeoutMs: 5000n,
    });
    assert.ok(unacked.batchId, "one entry left unacked");

    await server.close();
    await boot();
    const sub2 = await canal.subscribe({ destination: "example", clientId: "1001" });
    assert.equal(sub2.epoch, 2n, "each start has a new epoch");
    const after: Entry[] = [];
    for (;;) {
      const b = await canal.get({
        destination: "example",
        clientId: "1001",
        batchSize: 100,
        timeoutMs: 1500n,
      });
      if (!b.batchId) break;
      assert.ok(b.batchId.startsWith("2-"));
      after.push(...b.entries);
      await canal.ack({ destination: "example", clientId: "1001", batchId: b.batchId });
    }
    const delivered = seen.concat(ids(after));
    assert.deepEqual(
      delivered,
      [3, 4, 5, 6, 100, 100],
      "acked rows never again, unacked ones again, none lost",
    );
  });

  test("two clients with different filters read one stream independently", async () => {
    await canal.subscribe({ destination: "example", clientId: "orders", filter: "shop\\.orders" });
    await canal.subscribe({ destination: "example", clientId: "audit", filter: "shop\\.audit" });
    await db.query("INSERT INTO shop.orders VALUES (200, 'o')");
    await db.query("INSERT INTO shop.audit VALUES (200, 'a')");
    await db.query(
      "BEGIN; INSERT INTO shop.orders VALUES (201, 'o'); INSERT INTO shop.audit VALUES (201, 'a'); COMMIT",
    );
    const drain = async (clientId: string) => {
      const got: Entry[] = [];
      for (;;) {
        const b = await canal.get({ destination: "example", clientId, batchSize: 50, timeoutMs: 1500n });
        if (!b.batchId) return got;
        got.push(...b.entries);
        await canal.ack({ destination: "example", clientId, batchId: b.batchId });
      }
    };
    const orders = await drain("orders");
    const audit = await drain("audit");
    assert.deepEqual(ids(orders), [200, 201]);
    assert.deepEqual(ids(audit), [200, 201]);
    assert.ok(orders.every((e) => e.header?.tableName === "orders" || e.entryType !== EntryType.ROWDATA));
    // The audit-only transaction is not delivered to "orders" at all, not even as BEGIN/END.
    assert.equal(orders.filter((e) => e.entryType === EntryType.TRANSACTION_BEGIN).length, 2);
    const list = await admin.listDestinations({});
    const clients = list.destinations[0]?.clients.map((c) => c.clientId).sort();
    assert.deepEqual(clients, ["1001", "audit", "orders"]);
  });

  test("a stream sends at most `window` unacked batches and goes on after acks", async () => {
    await canal.subscribe({ destination: "example", clientId: "streamer" });
    for (let i = 300; i < 306; i++) await db.query("INSERT INTO shop.orders VALUES (?, 's')", [i]);
    const abort = new AbortController();
    const stream = canal.stream(
      { destination: "example", clientId: "streamer", batchSize: 3, window: 2 },
      { signal: abort.signal },
    );
    const got: number[] = [];
    let subscribed = false;
    const unacked: string[] = [];
    try {
      for await (const msg of stream) {
        if (msg.message.case === "subscribed") {
          subscribed = true;
          continue;
        }
        if (msg.message.case !== "batch") continue;
        unacked.push(msg.message.value.batchId);
        got.push(...ids(msg.message.value.entries));
        if (unacked.length === 2) {
          // The window is full: nothing more comes until an ack.
          await new Promise((r) => setTimeout(r, 300));
          await canal.ack({
            destination: "example",
            clientId: "streamer",
            batchId: unacked.shift() as string,
          });
        }
        if (got.length >= 6) break;
      }
    } finally {
      abort.abort();
    }
    assert.ok(subscribed);
    assert.deepEqual(got, [300, 301, 302, 303, 304, 305]);
  });

  test("auto-ack, unsubscribe, and an ack whose cursor cannot be written", async () => {
    await canal.subscribe({ destination: "example", clientId: "hose" });
    await db.query("INSERT INTO shop.orders VALUES (400, 'h')");
    const got = await canal.get({
      destination: "example",
      clientId: "hose",
      batchSize: 10,
      timeoutMs: 5000n,
      autoAck: true,
    });
    assert.deepEqual(ids(got.entries), [400]);
    assert.equal(got.batchId, "", "an auto-acked batch has no id to ack");
    const none = await canal.rollback({ destination: "example", clientId: "hose" });
    assert.deepEqual(none.rolledBackBatchIds, [], "nothing outstanding after auto-ack");

    // The cursor store fails (its directory is replaced by a file): the ack fails, the batch
    // stays outstanding, and once the store works again the same ack succeeds.
    const { rmSync, writeFileSync } = await import("node:fs");
    await db.query("INSERT INTO shop.orders VALUES (401, 'h')");
    const b = await canal.get({ destination: "example", clientId: "hose", batchSize: 10, timeoutMs: 5000n });
    const clientDir = join(dataDir, "destinations/example/hose");
    rmSync(clientDir, { recursive: true });
    writeFileSync(clientDir, "not a directory");
    const failed = await canal
      .ack({ destination: "example", clientId: "hose", batchId: b.batchId })
      .catch((e) => e);
    assert.ok(failed instanceof ConnectError);
    assert.equal(failed.code, Code.Unavailable);
    assert.match(failed.message, /did not take effect/);
    rmSync(clientDir);
    const ok = await canal.ack({ destination: "example", clientId: "hose", batchId: b.batchId });
    assert.ok(ok.cursor);

    await canal.unsubscribe({ destination: "example", clientId: "hose" });
    const gone = await canal.get({ destination: "example", clientId: "hose", batchSize: 1 }).catch((e) => e);
    assert.ok(gone instanceof ConnectError);
    assert.equal(gone.code, Code.FailedPrecondition);
    const list = await admin.getDestination({ destination: "example" });
    assert.ok(!list.destination?.clients.some((c) => c.clientId === "hose"));
  });

  test("a Connect JSON Get answers with each entry's JSON made once for every JSON client, as connect-es would", async () => {
    const client = (httpVersion: "1.1" | "2", useBinaryFormat: boolean) =>
      createClient(
        CanalService,
        createConnectTransport({ baseUrl: server.url, httpVersion, useBinaryFormat }),
      );
    const http2 = client("2", false);
    const binary = client("1.1", true);
    for (const clientId of ["json-1", "json-2", "json-bin"])
      await binary.subscribe({ destination: "example", clientId, filter: "shop\\.audit" });
    const made = entryJsonFormsMade();
    for (const [i, note] of ["plain", 'q" \\ \t é', "ctl \u0001"].entries())
      await db.query("INSERT INTO shop.audit VALUES (?, ?)", [700 + i, note]);
    await new Promise((r) => setTimeout(r, 500)); // all three transactions in the store
    // The raw body over HTTP/1.1, as a JSON client gets it.
    const res = await fetch(`${server.url}/sluice.v1.CanalService/Get`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        destination: "example",
        clientId: "json-1",
        batchSize: 10,
        timeoutMs: "5000",
        flat: true,
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const first = Buffer.from(await res.arrayBuffer());
    // A second JSON client, over HTTP/2.
    const second = await http2.get({
      destination: "example",
      clientId: "json-2",
      batchSize: 10,
      timeoutMs: 5000n,
    });
    assert.equal(second.entries.length, 9, "three transactions of BEGIN, ROWDATA, END");
    assert.equal(entryJsonFormsMade() - made, 9, "each entry's JSON made once, for both JSON clients");
    // Byte for byte what connect-es writes for the same GetResponse made the typed way: the
    // same entries through a binary Get, with the JSON answer's batchId and flat timestamps.
    const typed = await binary.get({
      destination: "example",
      clientId: "json-bin",
      batchSize: 10,
      timeoutMs: 5000n,
      flat: true,
    });
    const ours = fromJsonString(GetResponseSchema, first.toString("utf8"));
    typed.batchId = ours.batchId;
    typed.flatMessages.forEach((m, i) => {
      m.ts = ours.flatMessages[i]?.ts ?? 0n;
      m.id = ours.flatMessages[i]?.id ?? 0n;
    });
    assert.equal(typed.flatMessages.length, 3);
    assert.ok(typed.epoch > 0n && typed.batchId !== "", "epoch and batchId are in the JSON too");
    const expected = Buffer.from(new TextEncoder().encode(toJsonString(GetResponseSchema, typed)));
    assert.equal(first.toString("utf8"), expected.toString("utf8"));
    assert.ok(first.equals(expected));
    assert.deepEqual(second.entries, typed.entries, "over HTTP/2 too");
  });

  test("bad input gets the documented error and the server keeps serving", async () => {
    // Over Connect (HTTP/1.1) and over gRPC and Connect JSON, whose Get, Ack and Rollback take
    // the lean path (src/protocol/server/grpc-unary.ts, connect-json-unary.ts): the same codes
    // and messages.
    const sessions = new Http2SessionManager(server.url);
    try {
      const grpc = createClient(
        CanalService,
        createGrpcTransport({ baseUrl: server.url, sessionManager: sessions }),
      );
      // Connect JSON: Get, Ack and Rollback take the lean path too (connect-json-unary.ts).
      const json = createClient(
        CanalService,
        createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }),
      );
      for (const c of [canal, grpc, json]) await badInput(c);
      // Over the 4 MiB message limit (the lean path): refused with a code, not a reset stream;
      // the same connection serves the calls below.
      const big = await grpc
        .get({ destination: "example", clientId: "x".repeat(5 << 20), batchSize: 1 })
        .catch((e: unknown) => e);
      assert.ok(big instanceof ConnectError);
      assert.equal(big.code, Code.ResourceExhausted, big.message);
      assert.match(big.message, /larger than 4194304 bytes/);
      // A Get whose deadline ends before its timeout_ms: deadline_exceeded, in time.
      await grpc.subscribe({ destination: "example", clientId: "grpc-idle", filter: "shop\\.nothing" });
      const started = Date.now();
      const late = await grpc
        .get(
          { destination: "example", clientId: "grpc-idle", batchSize: 1, timeoutMs: 5000n },
          { timeoutMs: 300 },
        )
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      assert.equal(late?.code, Code.DeadlineExceeded, late?.message);
      assert.ok(Date.now() - started < 2000, `deadline_exceeded after ${Date.now() - started} ms`);
      // And a whole round over gRPC: subscribe, get, rollback, get again, ack.
      await grpc.subscribe({ destination: "example", clientId: "grpc-1", filter: "shop\\.audit" });
      await db.query("INSERT INTO shop.audit VALUES (900, 'g')");
      const first = await grpc.get({
        destination: "example",
        clientId: "grpc-1",
        batchSize: 10,
        timeoutMs: 5000n,
      });
      assert.deepEqual(ids(first.entries), [900]);
      const back = await grpc.rollback({
        destination: "example",
        clientId: "grpc-1",
        batchId: first.batchId,
      });
      assert.deepEqual(back.rolledBackBatchIds, [first.batchId]);
      const again = await grpc.get({
        destination: "example",
        clientId: "grpc-1",
        batchSize: 10,
        timeoutMs: 5000n,
      });
      assert.deepEqual(ids(again.entries), [900]);
      const acked = await grpc.ack({ destination: "example", clientId: "grpc-1", batchId: again.batchId });
      assert.ok(acked.cursor?.journalName);
    } finally {
      sessions.abort();
    }
    // Malformed JSON over plain HTTP/1.1.
    const res = await fetch(`${server.url}/sluice.v1.CanalService/Get`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"destination": "example", "clientId": ',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, "invalid_argument");
    const ok = await admin.getDestination({ destination: "example" });
    assert.equal(ok.destination?.name, "example");
  });

  async function badInput(canal: Client<typeof CanalService>): Promise<void> {
    const cases: Array<[() => Promise<unknown>, Code, RegExp]> = [
      [
        () => canal.get({ destination: "nope", clientId: "1001", batchSize: 1 }),
        Code.NotFound,
        /destination "nope"/,
      ],
      [
        () => canal.get({ destination: "example", clientId: "1001", batchSize: 0 }),
        Code.InvalidArgument,
        /^\[invalid_argument\] batchSize: /,
      ],
      [
        () => canal.get({ destination: "example", clientId: "1001", batchSize: 20_000 }),
        Code.InvalidArgument,
        /^\[invalid_argument\] batchSize: /,
      ],
      [
        () => canal.get({ destination: "example", clientId: "1001", batchSize: 1, timeoutMs: -1n }),
        Code.InvalidArgument,
        /^\[invalid_argument\] timeoutMs: /,
      ],

      [
        () => canal.subscribe({ destination: "example", clientId: "x", filter: "shop.(orders" }),
        Code.InvalidArgument,
        /filter/,
      ],
      [
        () => canal.subscribe({ destination: "example", clientId: "a/b" }),
        Code.InvalidArgument,
        /^\[invalid_argument\] clientId: /,
      ],
      // Names of canal's ZooKeeper layout, and "." and "..", are not clientIds: a clientId
      // "running" would name the destination's running node, ".." a directory above the cursors.
      ...["running", "cluster", "cursor", "filter", ".", ".."].map(
        (clientId): [() => Promise<unknown>, Code, RegExp] => [
          () => canal.unsubscribe({ destination: "example", clientId }),
          Code.InvalidArgument,
          /^\[invalid_argument\] clientId: ".*" is reserved/,
        ],
      ),
      [
        () => canal.ack({ destination: "example", clientId: "1001", batchId: "1-999" }),
        Code.FailedPrecondition,
        /1-999/,
      ],
      [
        () => canal.ack({ destination: "example", clientId: "1001", batchId: "" }),
        Code.InvalidArgument,
        /^\[invalid_argument\] batchId: /,
      ],
      [
        () => canal.get({ destination: "example", clientId: "never-subscribed", batchSize: 1 }),
        Code.FailedPrecondition,
        /Subscribe first/,
      ],
    ];
    for (const [call, code, message] of cases) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectError, `expected an error for ${call}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
    }
  }
});

describe("canal server with ZooKeeper", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dataDir: string;
  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
    dataDir = makeTempDir("server-zk");
  });
  after(async () => {
    await Promise.all([db?.stop(), zk?.stop()]);
    removeDir(dataDir);
  });

  test("cursors live in ZooKeeper in canal's JSON; the running node's czxid is the epoch", async () => {
    const cfg: ServerConfig = {
      ...config(db, dataDir),
      advertise: "127.0.0.1:0",
      zk: {
        connect: zk.connectString,
        root: "/otter/canal",
        sessionTimeoutMs: 4000,
        regrabDelayMs: 500,
        balance: false,
      },
    };
    const server = await startServer(cfg, silentLogger);
    const watcher = await ZkClient.connect(zk.connectString);
    try {
      const canal = createClient(
        CanalService,
        createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
      );
      const sub = await canal.subscribe({ destination: "example", clientId: "1001", filter: "shop\\..*" });
      const running = await watcher.get("/otter/canal/destinations/example/running");
      assert.deepEqual(JSON.parse(running.data.toString()), {
        active: true,
        address: `127.0.0.1:${server.port}`,
        cid: 1,
      });
      assert.equal(sub.epoch, BigInt(running.stat.czxid));
      assert.ok(await watcher.exists(`/otter/canal/cluster/127.0.0.1:${server.port}`));
      assert.ok(await watcher.exists(`/otter/canal/destinations/example/cluster/127.0.0.1:${server.port}`));
      assert.equal(
        (await watcher.get("/otter/canal/destinations/example/1001/filter")).data.toString(),
        "shop\\..*",
      );

      await db.query("INSERT INTO shop.orders VALUES (1, 'kettle')");
      const b = await canal.get({
        destination: "example",
        clientId: "1001",
        batchSize: 10,
        timeoutMs: 5000n,
      });
      assert.deepEqual(ids(b.entries), [1]);
      assert.ok(b.batchId.startsWith(`${sub.epoch}-`));
      const acked = await canal.ack({ destination: "example", clientId: "1001", batchId: b.batchId });
      const cursor = JSON.parse(
        (await watcher.get("/otter/canal/destinations/example/1001/cursor")).data.toString(),
      );
      assert.equal(cursor["@type"], "com.alibaba.otter.canal.protocol.position.LogPosition");
      assert.deepEqual(cursor.identity.sourceAddress, { address: "127.0.0.1", port: db.port });
      assert.equal(cursor.postion.journalName, acked.cursor?.journalName);
      assert.equal(cursor.postion.position, Number(acked.cursor?.position));
      assert.match(cursor.postion.gtid, /^0-1-\d+$/);

      // One destination, one runner: a second server stands by and says who runs it.
      const standby = await startServer({ ...cfg, advertise: "127.0.0.1:0" }, silentLogger);
      try {
        const viaStandby = createClient(
          CanalService,
          createConnectTransport({ baseUrl: standby.url, httpVersion: "1.1" }),
        );
        const refused = await viaStandby
          .subscribe({ destination: "example", clientId: "1001" })
          .catch((e) => e);
        assert.ok(refused instanceof ConnectError);
        assert.equal(refused.code, Code.Unavailable);
        assert.match(
          refused.message,
          new RegExp(`runs on 127\\.0\\.0\\.1:${server.port}; this server stands by`),
        );

        // A graceful stop hands over at once: the standby runs it under a newer epoch and the
        // consumer goes on from its cursor.
        await db.query("INSERT INTO shop.orders VALUES (2, 'mug')");
        const t0 = Date.now();
        await server.close();
        let sub2: Awaited<ReturnType<typeof viaStandby.subscribe>> | undefined;
        while (!sub2) {
          sub2 = await viaStandby.subscribe({ destination: "example", clientId: "1001" }).catch((e) => {
            if (!(e instanceof ConnectError && e.code === Code.Unavailable) || Date.now() - t0 > 10_000)
              throw e;
            return undefined;
          });
          if (!sub2) await new Promise((r) => setTimeout(r, 50));
        }
        const takeoverMs = Date.now() - t0;
        assert.ok(sub2.epoch > sub.epoch, "a newer epoch");
        const b2 = await viaStandby.get({
          destination: "example",
          clientId: "1001",
          batchSize: 10,
          timeoutMs: 5000n,
        });
        assert.deepEqual(ids(b2.entries), [2], "nothing acked again, nothing lost");
        assert.ok(b2.batchId.startsWith(`${sub2.epoch}-`));
        process.stdout.write(`# graceful handover to the standby: ${takeoverMs} ms\n`);
      } finally {
        await standby.close();
      }
    } finally {
      await server.close();
    }
    try {
      // A graceful stop releases the running node at once (no session timeout to wait for).
      assert.equal(await watcher.exists("/otter/canal/destinations/example/running"), undefined);
    } finally {
      watcher.close();
    }
  });
});

describe("canal server fencing", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dataDir: string;
  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
    dataDir = makeTempDir("server-fence");
  });
  after(async () => {
    await Promise.all([db?.stop(), zk?.stop()]);
    removeDir(dataDir);
  });

  test("a runner that finds a cursor written under a newer epoch refuses the ack and stops serving", async () => {
    const cfg: ServerConfig = {
      ...config(db, dataDir),
      zk: {
        connect: zk.connectString,
        root: "/otter/canal",
        sessionTimeoutMs: 4000,
        regrabDelayMs: 500,
        balance: false,
      },
    };
    const server = await startServer(cfg, silentLogger);
    const other = await ZkClient.connect(zk.connectString);
    try {
      const canal = createClient(
        CanalService,
        createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      );
      const sub = await canal.subscribe({ destination: "example", clientId: "1001" });
      await db.query("INSERT INTO shop.orders VALUES (1, 'a'), (2, 'b')");
      const b1 = await canal.get({
        destination: "example",
        clientId: "1001",
        batchSize: 3,
        timeoutMs: 5000n,
      });
      await canal.ack({ destination: "example", clientId: "1001", batchId: b1.batchId });
      await db.query("INSERT INTO shop.orders VALUES (3, 'c')");
      const b2 = await canal.get({
        destination: "example",
        clientId: "1001",
        batchSize: 3,
        timeoutMs: 5000n,
      });

      // A newer runner (as after a failover this server did not notice) wrote the cursor.
      const path = "/otter/canal/destinations/example/1001/cursor";
      const newer = JSON.parse((await other.get(path)).data.toString());
      assert.equal(newer.sluice.epoch, String(sub.epoch), "cursors carry their writer's epoch");
      newer.sluice.epoch = String(sub.epoch + 1000n);
      await other.set(path, JSON.stringify(newer));

      const refused = await canal
        .ack({ destination: "example", clientId: "1001", batchId: b2.batchId })
        .catch((e) => e);
      assert.ok(refused instanceof ConnectError);
      assert.equal(refused.code, Code.Unavailable);
      assert.match(refused.message, /newer runner/);
      const stored = JSON.parse((await other.get(path)).data.toString());
      assert.equal(
        stored.sluice.epoch,
        String(sub.epoch + 1000n),
        "the newer runner's cursor was not overwritten",
      );
      const after = await canal
        .get({ destination: "example", clientId: "1001", batchSize: 1 })
        .catch((e) => e);
      assert.ok(after instanceof ConnectError && after.code === Code.Unavailable, "and it serves no more");
    } finally {
      other.close();
      await server.close();
    }
  });
});

describe("canal server, a client that stops", () => {
  let db: MariaDB;
  let dataDir: string;
  let server: RunningServer;
  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
    dataDir = makeTempDir("server-laggard");
    const cfg = config(db, dataDir);
    cfg.store = { maxEntries: 300, maxBytes: 64 << 20, catchUpReaders: 4 };
    server = await startServer(cfg, silentLogger);
  });
  after(async () => {
    await server?.close();
    await db?.stop();
    removeDir(dataDir);
  });

  test("neither blocks the others nor grows memory, and later catches up completely", async () => {
    const canal = createClient(
      CanalService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
    );
    const destination = server.registry.require("example");
    const ring = destination.pipeline?.ring;
    assert.ok(ring);
    await canal.subscribe({ destination: "example", clientId: "fast" });
    await canal.subscribe({ destination: "example", clientId: "stopped", filter: "shop\\.orders" });
    await db.query("INSERT INTO shop.orders VALUES (0, 'first')");
    const held = await canal.get({
      destination: "example",
      clientId: "stopped",
      batchSize: 10,
      timeoutMs: 5000n,
    });
    assert.deepEqual(ids(held.entries), [0]);
    // "stopped" now holds an unacked batch and reads nothing more while 200k rows go by.

    const total = 200_000;
    const writer = (async () => {
      for (let t = 0; t < total / 100; t++) {
        const base = 1 + t * 100;
        const values = Array.from({ length: 100 }, (_, i) => `(${base + i}, 'r')`).join(",");
        await db.query(`INSERT INTO shop.orders VALUES ${values}`);
      }
    })();
    let maxEntries = 0;
    let maxBytes = 0;
    const fast: number[] = [];
    while (fast.length < total + 1) {
      const b = await canal.get({
        destination: "example",
        clientId: "fast",
        batchSize: 200,
        timeoutMs: 5000n,
      });
      assert.ok(b.batchId, `the fast client starved at ${fast.length} rows`);
      fast.push(...ids(b.entries));
      await canal.ack({ destination: "example", clientId: "fast", batchId: b.batchId });
      maxEntries = Math.max(maxEntries, ring.count);
      maxBytes = Math.max(maxBytes, ring.bytes);
    }
    await writer;
    assert.deepEqual(
      fast,
      Array.from({ length: total + 1 }, (_, i) => i),
      "the fast client got every row in order",
    );
    assert.ok(maxEntries <= 300, `the ring held ${maxEntries} entries (limit 300)`);

    // The stopped client wakes up: its old batch was given back, with a clear error.
    const late = await canal
      .ack({ destination: "example", clientId: "stopped", batchId: held.batchId })
      .catch((e) => e);
    assert.ok(late instanceof ConnectError);
    assert.equal(late.code, Code.FailedPrecondition);
    assert.match(late.message, /given back.*fell more than half the store's window/);
    const slow: number[] = [];
    while (slow.length < total + 1) {
      const b = await canal.get({
        destination: "example",
        clientId: "stopped",
        batchSize: 500,
        timeoutMs: 5000n,
      });
      assert.ok(b.batchId, `the stopped client starved at ${slow.length} rows`);
      slow.push(...ids(b.entries));
      await canal.ack({ destination: "example", clientId: "stopped", batchId: b.batchId });
    }
    assert.deepEqual(
      slow,
      Array.from({ length: total + 1 }, (_, i) => i),
      "and it caught up completely, in order",
    );
    const stopped = destination.clients.find((c) => c.clientId === "stopped");
    // Once caught up it reads the shared window again.
    await canal.get({ destination: "example", clientId: "stopped", batchSize: 1, timeoutMs: 100n });
    assert.equal(stopped?.ring, ring, "it rejoined the shared ring");
    process.stdout.write(
      `# laggard: ring peak ${maxEntries} entries, ${(maxBytes / 1048576).toFixed(1)} MiB\n`,
    );
  });
});

describe("canal server, configured start positions", () => {
  let db: MariaDB;
  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  });
  after(async () => {
    await db?.stop();
  });

  async function firstIds(start: DestinationConfigStart): Promise<number[]> {
    const dataDir = makeTempDir("server-start");
    const cfg = config(db, dataDir);
    (cfg.destinations[0] as { start?: DestinationConfigStart }).start = start;
    const server = await startServer(cfg, silentLogger);
    try {
      const canal = createClient(
        CanalService,
        createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      );
      await canal.subscribe({ destination: "example", clientId: "first" });
      const got: number[] = [];
      for (;;) {
        const b = await canal.get({
          destination: "example",
          clientId: "first",
          batchSize: 100,
          timeoutMs: 1500n,
        });
        if (!b.batchId) return got;
        got.push(...ids(b.entries));
        await canal.ack({ destination: "example", clientId: "first", batchId: b.batchId });
      }
    } finally {
      await server.close();
      removeDir(dataDir);
    }
  }

  test("by timestamp, file/position or GTID, the first client gets every change from there", async () => {
    await db.query("INSERT INTO shop.orders VALUES (1, 'before')");
    const [{ pos: gtidState }] = await db.query<Array<{ pos: string }>>("SELECT @@gtid_binlog_pos AS pos");
    await new Promise((r) => setTimeout(r, 2100));
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    const [{ File: file, Position: position }] =
      await db.query<Array<{ File: string; Position: number }>>("SHOW MASTER STATUS");
    await db.query("INSERT INTO shop.orders VALUES (2, 'after')");
    await db.query("FLUSH BINARY LOGS");
    await db.query("INSERT INTO shop.orders VALUES (3, 'next file')");
    assert.deepEqual(await firstIds({ kind: "timestamp", ms: t }), [2, 3]);
    assert.deepEqual(await firstIds({ kind: "file", file, position: Number(position) }), [2, 3]);
    assert.deepEqual(await firstIds({ kind: "mariadb-gtid", state: gtidState }), [2, 3]);
  });
});

type DestinationConfigStart = NonNullable<ServerConfig["destinations"][number]["start"]>;
