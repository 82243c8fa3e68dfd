// Failover under load, on a 3-node ZooKeeper ensemble with two servers: a consumer streams and
// acks a 200k-row workload while the running server is killed with SIGKILL again and again at
// random moments (and restarted, to stand by). What the consumer acked must be exactly the
// rows MySQL committed, in order: no gap, no row acked twice. Prints the time from each kill
// to the first batch the new runner delivered.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { Position } from "../../src/gen/sluice/v1/position_pb.js";
import { startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import { cursorKey, prng, rowIds, sleep } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { startZooKeeperEnsemble, type ZooKeeper } from "../harness/zookeeper.js";

const ROWS = Number(process.env.SLUICE_FAILOVER_ROWS ?? 200_000);
const KILLS = Number(process.env.SLUICE_FAILOVER_KILLS ?? 10);
const SESSION_TIMEOUT_MS = 2000;
const ROWS_PER_TX = 100;
/** The workload is spread over this long, so that the kills land in it. */
const WRITE_SECONDS = Number(process.env.SLUICE_FAILOVER_SECONDS ?? 60);

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeperEnsemble(3)]);
  await db.query("CREATE DATABASE load_db; CREATE TABLE load_db.t (id INT PRIMARY KEY, pad VARCHAR(40))");
  dir = makeTempDir("failover-load");
  writeServerConfig(dir, zk, db, SESSION_TIMEOUT_MS);
});
after(async () => {
  await Promise.all([db?.stop(), zk?.stop()]);
  if (!process.env.SLUICE_KEEP) removeDir(dir);
});

interface Node {
  name: string;
  port: number;
  process?: ManagedProcess;
  starts: number;
}

async function start(node: Node): Promise<void> {
  node.starts++;
  node.process = await startSluiceServer(dir, node.name, node.port, join(dir, "sluice.yaml"), {
    readyPath: "/healthz",
  });
}

/** The server that says it runs the destination (AdminService.ListDestinations). */
async function runner(nodes: Node[]): Promise<Node | undefined> {
  for (const n of nodes) {
    const res = await fetch(`http://127.0.0.1:${n.port}/sluice.v1.AdminService/ListDestinations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    }).catch(() => undefined);
    const body = res?.ok ? ((await res.json()) as { destinations?: { name: string }[] }) : {};
    if (body.destinations?.some((d) => d.name === "example")) return n;
  }
  return undefined;
}

test(`failover under load: ${ROWS} rows, ${KILLS} SIGKILLs of the runner, 3-node ensemble`, {
  timeout: 600_000,
}, async () => {
  const seed = Number(process.env.SLUICE_SEED ?? Date.now() % 1_000_000);
  const rand = prng(seed);
  const nodes: Node[] = [
    { name: "ha-a", port: await freePort(), starts: 0 },
    { name: "ha-b", port: await freePort(), starts: 0 },
  ];
  for (const n of nodes) await start(n);
  // Own HTTP/2 session managers, so that the test can close their connections (and timers).
  const sessions = nodes.map((n) => new Http2SessionManager(`http://127.0.0.1:${n.port}`));
  const clients = nodes.map((n, i) =>
    createClient(
      CanalService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${n.port}`, sessionManager: sessions[i] }),
    ),
  );
  const stopAt = Date.now() + 300_000;
  const fail = (msg: string) => new Error(`seed ${seed}: ${msg}`);

  // Take the clientId before writing: a new clientId starts at the head.
  await waitFor(
    "the first subscription",
    async () => {
      for (const c of clients) {
        const ok = await c.subscribe({ destination: "example", clientId: "load" }).catch(() => undefined);
        if (ok) return ok;
      }
      return undefined;
    },
    { timeoutMs: 20_000 },
  );

  // The workload, paced so that it spans the kills: 100-row transactions.
  let written = 0;
  let writerDone = false;
  const writer = (async () => {
    const perSecond = ROWS / WRITE_SECONDS;
    const began = Date.now();
    while (written < ROWS) {
      const values = Array.from(
        { length: ROWS_PER_TX },
        (_, i) => `(${written + i + 1}, REPEAT('p', ${1 + ((written + i) % 40)}))`,
      );
      await db.query(`INSERT INTO load_db.t VALUES ${values.join(",")}`);
      written += ROWS_PER_TX;
      const ahead = written / perSecond - (Date.now() - began) / 1000;
      if (ahead > 0) await sleep(ahead * 1000);
    }
    writerDone = true;
  })();

  // The consumer: streams from whichever server runs the destination, acks every batch. An
  // ack that failed in flight may or may not have taken effect: the cursor the next
  // subscription starts from tells (only this consumer moves it).
  const acked: number[] = [];
  let lastError = "";
  let lastCursor: Position | undefined;
  let uncertain: number[] | undefined;
  const uncertainLog: string[] = [];
  let lastBatchAt = 0;
  let reconnects = 0;
  const done = new AbortController();
  const consumer = (async () => {
    let which = 0;
    while (acked.length < ROWS) {
      if (Date.now() > stopAt) throw fail(`timed out with ${acked.length}/${ROWS} rows acked`);
      const canal = clients[which % clients.length] as (typeof clients)[number];
      try {
        for await (const msg of canal.stream(
          { destination: "example", clientId: "load", batchSize: 500, window: 4 },
          { signal: done.signal },
        )) {
          if (msg.message.case === "subscribed") {
            const cursor = msg.message.value.cursor;
            if (uncertain) {
              const took = cursorKey(cursor) !== cursorKey(lastCursor);
              uncertainLog.push(
                `${uncertain[0]}-${uncertain[uncertain.length - 1]}:${took ? "acked" : "not"}(${cursorKey(lastCursor)}→${cursorKey(cursor)})`,
              );
              if (took) acked.push(...uncertain);
              uncertain = undefined;
            }
            lastCursor = cursor;
            continue;
          }
          if (msg.message.case !== "batch") continue;
          const ids = rowIds(msg.message.value.entries);
          lastBatchAt = Date.now();
          try {
            const res = await canal.ack({
              destination: "example",
              clientId: "load",
              batchId: msg.message.value.batchId,
            });
            acked.push(...ids);
            lastCursor = res.cursor;
          } catch (err) {
            uncertain = ids;
            throw err;
          }
          if (acked.length >= ROWS) break;
        }
      } catch (err) {
        if (!(err instanceof ConnectError)) throw err;
        // A killed server's connection ends in one of these, depending on when it died.
        const transient = [Code.Unavailable, Code.Canceled, Code.Internal, Code.Aborted, Code.Unknown];
        if (!transient.includes(err.code)) throw fail(`unexpected ${Code[err.code]}: ${err.message}`);
        reconnects++;
        lastError = `${Code[err.code]}: ${err.message}`;
        which++;
        await sleep(25);
      }
    }
  })();

  // The killer: SIGKILL the runner at a random moment, start it again to stand by, wait for
  // the other to deliver, repeat.
  const takeovers: number[] = [];
  const killer = (async () => {
    for (let k = 0; k < KILLS; k++) {
      await sleep(500 + rand() * 2500);
      // Right after start-up (or on a loaded machine) the election may still be running, or the
      // runner's lease in doubt for a moment: wait for one to answer as the runner.
      const victim = await waitFor("a server that runs the destination", () => runner(nodes), {
        timeoutMs: 15_000,
        intervalMs: 100,
      }).catch(() => undefined);
      if (!victim) throw fail("no server ran the destination for 15 s");
      const killedAt = Date.now();
      await victim.process?.kill();
      // Batches delivered after the process is gone come from the new runner.
      const deadAt = Date.now();
      await start(victim);
      await waitFor("a batch from the new runner", async () => (lastBatchAt > deadAt ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 10,
        failIf: () => (acked.length >= ROWS ? "the consumer finished before the takeover" : undefined),
      }).catch((err) => {
        if (acked.length < ROWS) throw err;
      });
      if (lastBatchAt > deadAt) takeovers.push(lastBatchAt - killedAt);
    }
  })();

  let ackedBefore = -1;
  const progress = setInterval(async () => {
    if (acked.length === ackedBefore && acked.length < ROWS) {
      const at = acked.findIndex((id, i) => id !== i + 1);
      process.stdout.write(
        `# stalled; first wrong index ${at} (${acked.slice(Math.max(0, at - 2), at + 3).join(",")}); uncertain acks: ${uncertainLog.join(" ")}\n`,
      );
      // Stalled: show what each server thinks, to make a hang diagnosable from the output.
      for (const n of nodes) {
        const res = await fetch(`http://127.0.0.1:${n.port}/sluice.v1.AdminService/ListDestinations`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        }).catch((e: Error) => e);
        const text = res instanceof Error ? res.message : await res.text();
        process.stdout.write(`# stalled; ${n.name}: ${text}\n`);
      }
    }
    ackedBefore = acked.length;
    process.stdout.write(
      `# progress: written ${written}, acked ${acked.length}, takeovers ${takeovers.length}, reconnects ${reconnects}, last error: ${lastError}\n`,
    );
  }, 10_000);
  try {
    await Promise.all([writer, consumer, killer]);
  } finally {
    clearInterval(progress);
    done.abort();
    for (const s of sessions) s.abort();
    for (const n of nodes) await n.process?.stop();
  }
  assert.ok(writerDone);
  assert.equal(acked.length, ROWS, `seed ${seed}: acked ${acked.length} rows`);
  for (let i = 0; i < ROWS; i++) {
    if (acked[i] !== i + 1) assert.fail(`seed ${seed}: acked[${i}] is ${acked[i]}, expected ${i + 1}`);
  }
  assert.ok(takeovers.length >= KILLS - 1, `only ${takeovers.length} takeovers were seen`);
  const sorted = [...takeovers].sort((a, b) => a - b);
  process.stdout.write(
    `# failover under load: ${ROWS} rows exact through ${KILLS} SIGKILLs (seed ${seed}, ${reconnects} reconnects); ` +
      `kill → first batch from the new runner: median ${sorted[Math.floor(sorted.length / 2)]} ms, ` +
      `worst ${sorted[sorted.length - 1]} ms, all [${takeovers.join(", ")}] (session timeout ${SESSION_TIMEOUT_MS} ms)\n`,
  );
});
