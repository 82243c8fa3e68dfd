// Clients that fell behind the store's window read from their cursors on binlog connections
// of their own, but never more than store.catchUpReaders at once: idle ones open none, and
// ones that ask take turns. Counted on the source itself (its Binlog Dump threads).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { silentLogger } from "../../src/common/log.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { ServerConfig } from "../../src/server/config/types.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { rowIds, sleep } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir } from "../harness/processes.js";
import { serverConfig } from "../harness/server-config.js";

const LAGGARDS = 12;
const LIMIT = 2;
const ROWS = 20_000;

function config(db: MariaDB, dataDir: string): ServerConfig {
  return serverConfig(db, dataDir, {
    server: { store: { maxEntries: 200, maxBytes: 64 << 20, catchUpReaders: LIMIT } },
    destination: { schemaLookup: "never" },
  });
}

async function dumpThreads(db: MariaDB): Promise<number> {
  const rows = await db.query<Array<{ Command: string }>>("SHOW PROCESSLIST");
  return rows.filter((r) => r.Command === "Binlog Dump").length;
}

async function drain(canal: Client<typeof CanalService>, clientId: string, want: number): Promise<number[]> {
  const ids: number[] = [];
  const deadline = Date.now() + 120_000;
  while (ids.length < want && Date.now() < deadline) {
    const b = await canal.get({ destination: "example", clientId, batchSize: 500, timeoutMs: 200n });
    ids.push(...rowIds(b.entries, "t"));
    if (b.batchId) await canal.ack({ destination: "example", clientId, batchId: b.batchId });
  }
  return ids;
}

describe("catch-up readers", () => {
  let db: MariaDB;
  let dataDir: string;
  let server: RunningServer | undefined;
  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY)");
    dataDir = makeTempDir("catch-up");
  });
  after(async () => {
    await server?.close();
    await db?.stop();
    removeDir(dataDir);
  });

  test(`${LAGGARDS} clients fall behind: idle ones open no connection; asking, at most ${LIMIT} read at once, and each gets every row`, async () => {
    server = await startServer(config(db, dataDir), silentLogger);
    const canal = createClient(
      CanalService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
    );
    const laggards = Array.from({ length: LAGGARDS }, (_, i) => `lag${i}`);
    for (const c of ["fast", ...laggards]) await canal.subscribe({ destination: "example", clientId: c });
    const expected = Array.from({ length: ROWS }, (_, i) => i + 1);
    for (let from = 1; from <= ROWS; from += 100) {
      const values = Array.from({ length: 100 }, (_, i) => `(${from + i})`).join(",");
      await db.query(`INSERT INTO shop.t VALUES ${values}`);
    }
    // The fast client reads everything: the idle ones fall out of the window behind it.
    assert.deepEqual(await drain(canal, "fast", ROWS), expected);
    await sleep(500);
    assert.equal(await dumpThreads(db), 1, "only the shared reader: idle laggards open nothing");

    // All of them ask at once: never more than LIMIT catch-up readers read.
    const destination = server.registry.require("example");
    let peak = 0;
    let waited = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, destination.catchUpReaders.running);
      waited = Math.max(waited, destination.catchUpReaders.waiting);
    }, 5);
    const got = await Promise.all(laggards.map((c) => drain(canal, c, ROWS)));
    clearInterval(sampler);
    for (const [i, ids] of got.entries())
      assert.deepEqual(ids, expected, `${laggards[i]} got every row in order`);
    assert.equal(peak, LIMIT, `at most ${LIMIT} catch-up readers read at once, and that many did`);
    assert.ok(waited > 0, "the others waited for a slot");
  });
});
