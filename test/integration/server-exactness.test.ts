// The delivery contract under abuse: a random workload (small and large transactions, DDL)
// runs while a consumer does random Get / Ack / Rollback and the server process is killed
// with SIGKILL or stopped with SIGTERM at random moments. What the consumer acked must be
// exactly what MySQL committed, in order: no gaps, no duplicates.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { Entry } from "../../src/gen/sluice/v1/entry_pb.js";
import { prng, rowIds } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  spawnManaged,
  waitFor,
} from "../harness/processes.js";

const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const ROWS = Number(process.env.SLUICE_EXACTNESS_ROWS ?? 50_000);

let db: MariaDB;
let dataDir: string;
before(async () => {
  db = await startMariaDB();
  await db.query("CREATE DATABASE w; CREATE TABLE w.t (id INT PRIMARY KEY, pad VARCHAR(64))");
  dataDir = makeTempDir("exactness");
});
after(async () => {
  await db?.stop();
  removeDir(dataDir);
});

test(`acked rows equal committed rows through random kills (${ROWS} rows)`, {
  timeout: 600_000,
}, async () => {
  const seed = Number(process.env.SLUICE_SEED ?? Date.now() % 1_000_000);
  const rand = prng(seed);
  const port = await freePort();
  let server: ManagedProcess | undefined;
  let starts = 0;
  const startServer = async () => {
    starts++;
    server = spawnManaged(
      "sluice-server",
      process.execPath,
      [
        SLUICE,
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--source",
        db.sourceUrl,
        "--destination",
        "w",
        "--data-dir",
        dataDir,
        "--metrics-port",
        "off",
      ],
      { logFile: join(dataDir, "server.log"), env: { ...process.env, SLUICE_LOG_LEVEL: "warn" } },
    );
    const s = server;
    await waitFor("sluice server to listen", async () => (await ping(port)) || undefined, {
      timeoutMs: 30_000,
      failIf: () => (s.child.exitCode !== null ? `exited; see ${s.logFile}` : undefined),
    });
  };
  await startServer();
  const canal = createClient(
    CanalService,
    createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }),
  );
  await canal.subscribe({ destination: "w", clientId: "exact" });

  // The workload: transactions of 1..200 rows, some of 3000, and DDL now and then.
  let written = 0;
  const writer = (async () => {
    let n = 0;
    while (written < ROWS) {
      const size = Math.min(ROWS - written, rand() < 0.02 ? 3000 : 1 + Math.floor(rand() * 200));
      const values = Array.from(
        { length: size },
        (_, i) => `(${written + i + 1}, REPEAT('p', ${1 + ((written + i) % 60)}))`,
      );
      await db.query(`BEGIN; INSERT INTO w.t VALUES ${values.join(",")}; COMMIT`);
      written += size;
      if (++n % 50 === 0) await db.query(`CREATE TABLE w.ddl_${n} (x INT)`);
    }
  })();

  const acked: number[] = [];
  const outstanding: Entry[][] = [];
  let kills = 0;
  let terms = 0;
  const deadline = Date.now() + 540_000;
  // Operations between two server deaths: random, so that deaths land at random points of
  // the workload and of the consumer's batches.
  const nextDeath = () => ops + 3 + Math.floor(rand() * 25);
  let ops = 0;
  let deathAt = nextDeath();
  while (acked.length < ROWS) {
    if (Date.now() > deadline)
      throw new Error(`timed out with ${acked.length}/${ROWS} rows acked (seed ${seed})`);
    const r = rand();
    ops++;
    try {
      if (ops >= deathAt) {
        deathAt = nextDeath();
        // Crash or graceful stop between calls; unacked batches die with the server.
        if (rand() < 0.75) {
          await server?.kill();
          kills++;
        } else {
          await server?.stop();
          terms++;
        }
        outstanding.length = 0;
        await startServer();
        await canal.subscribe({ destination: "w", clientId: "exact" });
      } else if (r < 0.03 && outstanding.length > 0) {
        await canal.rollback({ destination: "w", clientId: "exact" });
        outstanding.length = 0;
      } else if (outstanding.length > 0 && (r < 0.55 || outstanding.length >= 5)) {
        const b = outstanding[0] as Entry[] & { batchId?: string };
        await canal.ack({ destination: "w", clientId: "exact", batchId: b.batchId as string });
        acked.push(...rowIds(b, "t"));
        outstanding.shift();
      } else {
        const res = await canal.get({
          destination: "w",
          clientId: "exact",
          batchSize: 1 + Math.floor(rand() * 20),
          timeoutMs: 200n,
        });
        if (res.batchId) outstanding.push(Object.assign(res.entries, { batchId: res.batchId }));
      }
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.FailedPrecondition) throw err;
      throw new Error(`seed ${seed}: ${(err as Error).message}`);
    }
  }
  await writer;
  await server?.stop();

  assert.equal(acked.length, ROWS, `seed ${seed}`);
  for (let i = 0; i < ROWS; i++) {
    if (acked[i] !== i + 1) assert.fail(`seed ${seed}: acked[${i}] is ${acked[i]}, expected ${i + 1}`);
  }
  assert.ok(
    kills + terms >= 3,
    `only ${kills} kills and ${terms} stops happened in ${ops} operations (seed ${seed})`,
  );
  process.stdout.write(
    `# exactness: ${ROWS} rows, ${kills} SIGKILLs, ${terms} SIGTERMs, ${starts} starts, seed ${seed}\n`,
  );
});

async function ping(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return res.ok;
  } catch {
    return false;
  }
}
