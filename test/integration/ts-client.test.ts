// The TypeScript client (src/clients/typescript) and its examples against a live `sluice
// server` process and a real MariaDB: each consumes a known workload, and the test checks the
// exact sequence of rows acked, also across a server crash in the middle of a stream.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  AckOrderError,
  columnValues,
  createSluiceClient,
  flatRows,
  StaleBatchError,
  type StreamBatch,
  typed,
} from "../../src/clients/typescript/index.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir } from "../harness/processes.js";
import { type SluiceServerProcess, startSluiceServer } from "../harness/sluice-server.js";

const execFileAsync = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

let db: MariaDB;
let dataDir: string;
let server: SluiceServerProcess;
let nextId = 1;

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

function idsOf(batch: StreamBatch): number[] {
  return batch.rows().map((r) => Number(r.after?.id));
}

before(async () => {
  db = await startMariaDB();
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dataDir = makeTempDir("ts-client");
  server = await startSluiceServer({ name: "server", sourceUrl: db.sourceUrl, dataDir });
});
after(async () => {
  await server?.stop();
  await db?.stop();
  removeDir(dataDir);
});

describe("examples, run as a user runs them", () => {
  test("the README shows examples/stream.ts verbatim", () => {
    const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
    const source = readFileSync(
      fileURLToPath(new URL("../../../examples/stream.ts", import.meta.url)),
      "utf8",
    );
    const m = /<!-- example: examples\/stream\.ts -->\n```ts\n([\s\S]*?)```\n<!-- \/example -->/.exec(readme);
    assert.ok(m, "README has the example block");
    assert.equal(m[1], source);
  });

  async function runExample(file: string, env: Record<string, string>): Promise<unknown[]> {
    const { stdout } = await execFileAsync(process.execPath, [`${EXAMPLES}${file}`], {
      env: { ...process.env, SLUICE_URL: server.url, ...env },
      timeout: 60_000,
    });
    return stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
  }

  test("examples/stream.js prints exactly the workload's rows, acked, in order", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "ex-stream" });
    const ids = await insertRows(250, 7);
    const rows = (await runExample("stream.js", {
      SLUICE_CLIENT_ID: "ex-stream",
      SLUICE_MAX_ROWS: String(ids.length),
    })) as Array<{ type: string; table: string; after: Record<string, string> }>;
    assert.deepEqual(
      rows.map((r) => Number(r.after.id)),
      ids,
    );
    assert.deepEqual(rows[0], {
      type: "INSERT",
      table: "shop.orders",
      after: { id: String(ids[0]), item: `item-${ids[0]}` },
    });
    // Everything was acked: nothing is outstanding and a new stream starts after the last row.
    const status = await client.admin.getDestination({ destination: "example" });
    const me = status.destination?.clients.find((c) => c.clientId === "ex-stream");
    assert.equal(me?.outstandingBatches, 0);
  });

  test("examples/canal-style.js: the canal loop acks exactly the workload, typed values", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "ex-canal", filter: "shop\\.orders" });
    const ids = await insertRows(120, 5);
    const rows = (await runExample("canal-style.js", {
      SLUICE_CLIENT_ID: "ex-canal",
      SLUICE_FILTER: "shop\\.orders",
      SLUICE_MAX_ROWS: String(ids.length),
    })) as Array<{ table: string; after: { id: number; item: string } }>;
    assert.deepEqual(
      rows.map((r) => r.after.id),
      ids,
      "ids are numbers (typed INT) in exactly the workload's order",
    );
    assert.equal(rows[0]?.table, "shop.orders");
  });
});

describe("client.stream", () => {
  test("over connect (HTTP/1.1 and 2), grpc and grpc-web, binary and JSON: the exact rows, acked once each", async () => {
    // Binary batches keep their entries' bytes (rows read from them, entries decoded when
    // asked); JSON ones come decoded: both give the same rows and entries.
    const variants = [
      { transport: "connect", httpVersion: "1.1" },
      { transport: "connect", httpVersion: "2" },
      { transport: "grpc", httpVersion: "2" },
      { transport: "grpc-web", httpVersion: "1.1" },
      { transport: "connect", httpVersion: "1.1", useBinaryFormat: false },
      { transport: "grpc-web", httpVersion: "1.1", useBinaryFormat: false },
    ] as const;
    for (const v of variants) {
      const json = "useBinaryFormat" in v ? "-json" : "";
      const clientId = `t-${v.transport}-${v.httpVersion.replace(".", "")}${json}`;
      const client = createSluiceClient({ baseUrl: server.url, ...v });
      await client.canal.subscribe({ destination: "example", clientId });
      const ids = await insertRows(40, 3);
      const acked: number[] = [];
      for await (const batch of client.stream({
        destination: "example",
        clientId,
        batchSize: 5,
        window: 3,
      })) {
        const got = idsOf(batch);
        assert.deepEqual(
          flatRows(batch.entries).map((r) => [r.type, r.table, r.after, r.keys]),
          batch.rows().map((r) => [r.type, r.table, r.after, r.keys]),
        );
        assert.equal(await batch.ack(), true);
        assert.equal(await batch.ack(), true, "a second ack() is the same ack, not another one");
        assert.equal(batch.state, "acked");
        acked.push(...got);
        if (acked.length >= ids.length) break;
      }
      assert.deepEqual(acked, ids, `${v.transport} over HTTP/${v.httpVersion}${json}`);
    }
  });

  test("acks go out oldest first; a window of batches can be acked later, in order", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "window" });
    const ids = await insertRows(12, 1);
    const held: StreamBatch[] = [];
    const acked: number[] = [];
    for await (const batch of client.stream({
      destination: "example",
      clientId: "window",
      batchSize: 3,
      window: 3,
    })) {
      held.push(batch);
      if (held.length === 2) {
        await assert.rejects((held[1] as StreamBatch).ack(), AckOrderError);
      }
      if (held.length < 3) continue;
      // Three unacked batches (the window): ack them without waiting, in order.
      const results = await Promise.all(held.map((b) => b.ack()));
      assert.deepEqual(results, [true, true, true]);
      for (const b of held) acked.push(...idsOf(b));
      held.length = 0;
      if (acked.length >= ids.length) break;
    }
    assert.deepEqual(acked, ids);
  });

  test("a server crash mid-stream: resubscribes, never acks a stale batch, acked rows are exact", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "crash" });
    const ids = await insertRows(300, 10);
    const acked: number[] = [];
    const subscriptions: number[] = [];
    let staleSeen = false;
    let crashed = false;
    for await (const batch of client.stream({
      destination: "example",
      clientId: "crash",
      batchSize: 25,
      window: 4,
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
      onSubscribed: (s) => subscriptions.push(s.subscription),
    })) {
      const got = idsOf(batch);
      if (!crashed && acked.length >= 100) {
        // Crash the server while this batch is unacked, then start it again on the same port.
        crashed = true;
        await server.kill();
        assert.equal(await batch.ack(), false, "the ack of a batch whose subscription died is refused");
        assert.equal(batch.state, "stale");
        staleSeen = true;
        server = await startSluiceServer({
          name: "server-2",
          sourceUrl: db.sourceUrl,
          dataDir,
          port: server.port,
        });
        continue;
      }
      if (await batch.ack()) acked.push(...got);
      if (acked.length >= ids.length) break;
    }
    assert.ok(staleSeen);
    assert.deepEqual(subscriptions, [1, 2], "subscribed again once after the crash");
    assert.deepEqual(acked, ids, "every row acked exactly once, in order");
  });

  test("break ends the stream and gives back unacked batches; the next stream gets them", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "leave" });
    const ids = await insertRows(6, 1);
    let first: number[] = [];
    // One transaction (BEGIN, row, END) per batch.
    for await (const batch of client.stream({ destination: "example", clientId: "leave", batchSize: 3 })) {
      first = idsOf(batch); // not acked
      break;
    }
    assert.deepEqual(first, ids.slice(0, 1));
    const acked: number[] = [];
    for await (const batch of client.stream({ destination: "example", clientId: "leave", batchSize: 3 })) {
      if (await batch.ack()) acked.push(...idsOf(batch));
      if (acked.length >= ids.length) break;
    }
    assert.deepEqual(acked, ids);
  });

  test("a stop signal while a batch is held: that batch can still be acked, then the loop ends", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "graceful" });
    const ids = await insertRows(4, 1);
    const stop = new AbortController();
    const acked: number[] = [];
    let loops = 0;
    for await (const batch of client.stream({
      destination: "example",
      clientId: "graceful",
      batchSize: 3,
      signal: stop.signal,
    })) {
      loops++;
      stop.abort(); // e.g. SIGINT while this batch is being processed
      assert.equal(await batch.ack(), true, "the held batch is acked");
      acked.push(...idsOf(batch));
    }
    assert.equal(loops, 1, "no batch after the signal");
    assert.deepEqual(acked, ids.slice(0, 1));
    const rest: number[] = [];
    for await (const batch of client.stream({ destination: "example", clientId: "graceful", batchSize: 3 })) {
      if (await batch.ack()) rest.push(...idsOf(batch));
      if (rest.length >= 3) break;
    }
    assert.deepEqual(rest, ids.slice(1), "the next stream goes on after it");
  });

  test("a refusal that will not go away is thrown, not retried", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    const stream = client.stream({ destination: "no-such", clientId: "x" });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) break;
      })(),
      /destination "no-such"/,
    );
  });
});

describe("client.connector (canal-shaped)", () => {
  test("getWithoutAck / ack / rollback / get, then a restart: stale batches cannot be acked", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    const connector = client.connector({
      destination: "example",
      clientId: "canal",
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    await connector.connect();
    await connector.subscribe("shop\\.orders");
    const ids = await insertRows(4, 1);
    const m1 = await connector.getWithoutAck(3, { timeoutMs: 5000 });
    assert.deepEqual(
      flatRows(m1.entries).map((r) => Number(r.after?.id)),
      [ids[0]],
    );
    await connector.ack(m1.id);
    const m2 = await connector.getWithoutAck(3, { timeoutMs: 5000 });
    assert.deepEqual(await connector.rollback(), [m2.id]);
    const m3 = await connector.get(3, { timeoutMs: 5000 });
    assert.deepEqual(
      m3.rows().map((r) => Number(r.after?.id)),
      [ids[1]],
      "rolled back, delivered again",
    );
    const m4 = await connector.getWithoutAck(3, { timeoutMs: 5000 });
    assert.deepEqual(
      m4.rows().map((r) => Number(r.after?.id)),
      [ids[2]],
    );

    await server.kill();
    server = await startSluiceServer({
      name: "server-3",
      sourceUrl: db.sourceUrl,
      dataDir,
      port: server.port,
    });
    // The next get notices the lost subscription, subscribes again and resumes after the cursor.
    const m5 = await connector.getWithoutAck(3, { timeoutMs: 5000 });
    assert.deepEqual(
      m5.rows().map((r) => Number(r.after?.id)),
      [ids[2]],
      "the unacked batch comes again",
    );
    await assert.rejects(connector.ack(m4.id), StaleBatchError);
    await connector.ack(m5.id);
    const m6 = await connector.get(3, { timeoutMs: 5000 });
    assert.deepEqual(
      m6.rows().map((r) => Number(r.after?.id)),
      [ids[3]],
    );
    const empty = await connector.getWithoutAck(3, { timeoutMs: 0 });
    assert.equal(empty.id, "");
    await connector.disconnect();
  });

  test("typed values: numbers, bigint, exact decimals, Date, Buffer, null, and the text kept", async () => {
    await db.query(
      `CREATE TABLE shop.kinds (id INT PRIMARY KEY, big BIGINT UNSIGNED, amount DECIMAL(20,4), ratio DOUBLE,
        born DATE, seen DATETIME(6), yr YEAR, blob_col BLOB, note VARCHAR(10), gone INT, t TIME, bits BIT(8))`,
    );
    const client = createSluiceClient({ baseUrl: server.url });
    const connector = client.connector({ destination: "example", clientId: "kinds", filter: "shop\\.kinds" });
    await connector.connect();
    await db.query(
      `INSERT INTO shop.kinds VALUES (7, 18446744073709551615, '12345678901234.5678', 0.5, '2024-02-29',
        '2024-02-29 13:14:15.123456', 2024, x'00ff10', 'héllo', NULL, '-838:59:59', b'101')`,
    );
    const m = await connector.get(10, { timeoutMs: 5000 });
    const [row] = m.rows();
    assert.ok(row);
    // Read from the entries' bytes: the same rows, raw columns included, as from the decoded entries.
    assert.deepStrictEqual(
      m.rows().map((r) => ({ ...r })),
      flatRows(m.entries),
    );
    assert.equal(row.after?.seen, "2024-02-29 13:14:15.123456", "the text is kept");
    const v = typed(row).after ?? {};
    assert.equal(v.id, 7);
    assert.equal(v.big, 18446744073709551615n);
    assert.equal(v.amount, "12345678901234.5678");
    assert.equal(v.ratio, 0.5);
    assert.deepEqual(v.born, new Date("2024-02-29T00:00:00Z"));
    assert.deepEqual(v.seen, new Date("2024-02-29T13:14:15.123Z"));
    assert.equal(v.yr, 2024);
    assert.deepEqual(v.blob_col, Buffer.from([0x00, 0xff, 0x10]));
    assert.equal(v.note, "héllo");
    assert.equal(v.gone, null);
    assert.equal(v.t, "-838:59:59");
    assert.equal(v.bits, 5n);
    assert.deepEqual(
      columnValues(row.afterColumns, { timeZone: "+08:00" }).seen,
      new Date("2024-02-29T05:14:15.123Z"),
    );
    await connector.disconnect();
  });
});
