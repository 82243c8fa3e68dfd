// ZooKeeper leader loss under a live stream, on a 3-node ensemble with two servers: a consumer
// streams and acks while a writer commits rows; the ensemble's leader is SIGKILLed, then
// restarted, then the new leader is SIGKILLed. What the consumer acked must be exactly the
// rows MySQL committed, in order. Prints, per round, whether the stream stayed open through the
// leader election or had to be reopened, and how long delivery and acks paused.
//
// When the leader dies every follower drops its clients and the ensemble elects again; the
// servers' ZooKeeper sessions survive (the C client reconnects within the session) and the
// runner's session lease (cluster/session-lease.ts) keeps serving for 2/3 of the session
// timeout T after the last answered probe (probes every T/6): at least T/2 after the kill.
// Measured here: the ensemble leads again after 0.4-0.8 s (tickTime 200 ms), but the native
// client (node `zookeeper` 7.3.0) reconnects only on its timer's ticks, about T/3 apart (its
// yield() does not re-arm the timer when it has no socket; see docs/benchmarks.md,
// bench/failover): one tick usually, so the stream pauses about T/3 and the lease has at least
// T/2 - T/3 = T/6 to spare; two ticks (a reconnect that lands on a node still syncing) can
// exceed the lease. T = 6 s is chosen for that spare (1 s, for a loaded machine) at the cost of
// a 2 s pause; with T = 2 s the pause is 0.7 s and the spare 0.33 s
// (SLUICE_ZKL_SESSION_TIMEOUT_MS=2000 runs it so). If the lease does run out, the stream ends
// with unavailable and the consumer reopens it; the rows must be exact either way.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { Position } from "../../src/gen/sluice/v1/position_pb.js";
import { startSluiceGateway, startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import { cursorKey, rowIds, sleep } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { startZooKeeperEnsemble, type ZooKeeper } from "../harness/zookeeper.js";

const SESSION_TIMEOUT_MS = Number(process.env.SLUICE_ZKL_SESSION_TIMEOUT_MS ?? 6000);
const ROWS_PER_TX = 20;
const TX_EVERY_MS = 50;
/** How long to watch the stream after each kill. */
const WATCH_MS = 12_000;

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeperEnsemble(3)]);
  await db.query("CREATE DATABASE zkl; CREATE TABLE zkl.t (id INT PRIMARY KEY, pad VARCHAR(40))");
  dir = makeTempDir("ha-zk-leader");
  writeServerConfig(dir, zk, db, SESSION_TIMEOUT_MS);
});
after(async () => {
  await Promise.all([db?.stop(), zk?.stop()]);
  removeDir(dir);
});

type Canal = Client<typeof CanalService>;

interface Node {
  name: string;
  port: number;
  process?: ManagedProcess;
}

async function start(node: Node): Promise<void> {
  node.process = await startSluiceServer(dir, node.name, node.port, join(dir, "sluice.yaml"), {
    readyPath: "/healthz",
  });
}

/** The server's log lines about ZooKeeper between two times, each as "+ms message". */
function zkLines(node: Node, from: number, to: number): string[] {
  const out: string[] = [];
  const text = readFileSync(join(dir, `${node.name}.log`), "utf8");
  for (const line of text.split("\n")) {
    const at = Date.parse(line.slice(0, 24));
    if (!(at >= from && at <= to) || !/zookeeper|lease|elected|standing by|stopped running/i.test(line))
      continue;
    out.push(`+${at - from} ms ${line.slice(25, 260)}`);
  }
  return out;
}

/** The largest gap between consecutive times in [from, to], counting from `from`. */
function largestGap(times: number[], from: number, to: number): number {
  let prev = from;
  let gap = 0;
  for (const t of times) {
    if (t < from) continue;
    if (t > to) break;
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.max(gap, to - prev);
}

test("ZooKeeper leader killed mid-stream: no data lost, stream continues", { timeout: 300_000 }, async () => {
  const nodes: Node[] = [
    { name: "zkl-a", port: await freePort() },
    { name: "zkl-b", port: await freePort() },
  ];
  for (const n of nodes) await start(n);
  const sessions = nodes.map((n) => new Http2SessionManager(`http://127.0.0.1:${n.port}`));
  const clients = nodes.map((n, i) =>
    createClient(
      CanalService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${n.port}`, sessionManager: sessions[i] }),
    ),
  );
  const gatewayPort = await freePort();
  const gateway = await startSluiceGateway(dir, "zkl-gateway", gatewayPort, zk);
  const gatewayClient = createClient(
    CanalService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${gatewayPort}` }),
  );
  const stopAt = Date.now() + 240_000;
  const done = new AbortController();

  // Take the clientId before writing: a new clientId starts at the head.
  await waitFor(
    "the first subscription",
    async () => {
      for (const c of clients) {
        const ok = await c.subscribe({ destination: "example", clientId: "zkl" }).catch(() => undefined);
        // The gateway's consumer's clientId too (a direct Subscribe takes no gateway hold).
        if (ok) return c.subscribe({ destination: "example", clientId: "zkl-gw" });
      }
      return undefined;
    },
    { timeoutMs: 20_000 },
  );

  // A steady trickle of small transactions, so that a pause in delivery shows.
  let written = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      const values = Array.from(
        { length: ROWS_PER_TX },
        (_, i) => `(${written + i + 1}, REPEAT('p', ${1 + ((written + i) % 40)}))`,
      );
      await db.query(`INSERT INTO zkl.t VALUES ${values.join(",")}`);
      written += ROWS_PER_TX;
      await sleep(TX_EVERY_MS);
    }
  })();

  // Two consumers, one talking to the servers directly and one through a gateway, each with its
  // own clientId: both must ride through the leader loss the same way.
  const direct = consume("direct", clients, "zkl", stopAt);
  const viaGateway = consume("gateway", [gatewayClient], "zkl-gw", stopAt);
  const consumers = [direct, viaGateway];
  const consumerFailed = Promise.race(
    consumers.map((c) =>
      c.done.then(
        () => new Promise<never>(() => {}),
        (err: unknown) => Promise.reject(err),
      ),
    ),
  );

  const rounds: string[] = [];
  try {
    await Promise.race([
      consumerFailed,
      (async () => {
        await waitFor(
          "rows acked before the first kill",
          async () => (consumers.every((c) => c.acked.length >= 200) ? true : undefined),
          {
            timeoutMs: 30_000,
          },
        );
        for (let round = 1; round <= 2; round++) {
          await sleep(2000);
          const leader = await zk.leader();
          const before = consumers.map((c) => c.snapshot());
          const killedAt = Date.now();
          await leader.kill();
          // How long the ensemble itself was without a leader (as its nodes answer `srvr`).
          const newLeader = await waitFor(
            "a new ZooKeeper leader",
            async () => zk.leader().catch(() => undefined),
            {
              timeoutMs: 30_000,
              intervalMs: 20,
            },
          );
          const ensembleMs = Date.now() - killedAt;
          await sleep(Math.max(0, killedAt + WATCH_MS - Date.now()));
          for (const [i, c] of consumers.entries()) {
            const line = c.report(before[i] as Snapshot, killedAt, WATCH_MS);
            rounds.push(
              `round ${round}, ${c.name}: killed leader zk${leader.id} (new leader zk${newLeader.id}); ${line}`,
            );
            process.stdout.write(
              `# ${rounds[rounds.length - 1]}; the ensemble had a leader again after ${ensembleMs} ms\n`,
            );
          }
          // What the servers' ZooKeeper clients and leases saw (why a stream ended, if it did).
          for (const n of nodes) {
            for (const line of zkLines(n, killedAt, killedAt + WATCH_MS))
              process.stdout.write(`#   ${n.name} ${line}\n`);
          }
          // Back to three nodes, so that the next round kills a leader of a full ensemble.
          await leader.restart();
        }
        writing = false;
        await writer;
        for (const c of consumers) {
          await waitFor(
            `the ${c.name} consumer to ack every row`,
            async () => (c.acked.length >= written ? true : undefined),
            {
              timeoutMs: 60_000,
              failIf: () =>
                c.acked.length > written ? `acked ${c.acked.length} rows of ${written}` : undefined,
            },
          );
        }
        done.abort();
        for (const c of consumers) await c.done;
      })(),
    ]);
  } finally {
    writing = false;
    done.abort();
    for (const s of sessions) s.abort();
    await gateway.stop();
    for (const n of nodes) await n.process?.stop();
  }
  for (const c of consumers) {
    assert.equal(c.acked.length, written, `${c.name}: acked ${c.acked.length} rows of ${written}`);
    for (let i = 0; i < written; i++) {
      if (c.acked[i] !== i + 1) assert.fail(`${c.name}: acked[${i}] is ${c.acked[i]}, expected ${i + 1}`);
    }
  }
  process.stdout.write(
    `# ZooKeeper leader loss: ${written} rows exact for both consumers; session timeout ${SESSION_TIMEOUT_MS} ms; ` +
      `${direct.opens.length} stream opens direct, ${viaGateway.opens.length} through the gateway\n`,
  );

  /**
   * A consumer: streams, acks every batch. A failed ack leaves the batch outstanding on the
   * server (the cursor write did not take effect, or did and its answer was lost): retry the
   * same ack on the open stream. Only if the stream itself ends does it resubscribe; then the
   * cursor the new subscription starts from tells whether the last uncertain ack took effect.
   */
  function consume(name: string, canals: Canal[], clientId: string, stopAt: number) {
    const acked: number[] = [];
    const batchTimes: number[] = [];
    const ackTimes: number[] = [];
    const opens: number[] = [];
    const ackRetries: { at: number; error: string }[] = [];
    const streamEnds: { at: number; error: string }[] = [];
    let lastCursor: Position | undefined;
    let uncertain: number[] | undefined;
    const run = async () => {
      let which = 0;
      // Kept across streams: reopening with it takes the hold over at once through a gateway.
      let session = "";
      while (!done.signal.aborted) {
        if (Date.now() > stopAt)
          throw new Error(`${name}: timed out with ${acked.length}/${written} rows acked`);
        const canal = canals[which % canals.length] as Canal;
        try {
          for await (const msg of canal.stream(
            { destination: "example", clientId, batchSize: 200, window: 4, session },
            { signal: done.signal },
          )) {
            if (msg.message.case === "subscribed") {
              opens.push(Date.now());
              session = msg.message.value.session;
              const cursor = msg.message.value.cursor;
              if (uncertain && cursorKey(cursor) !== cursorKey(lastCursor)) acked.push(...uncertain);
              uncertain = undefined;
              lastCursor = cursor;
              continue;
            }
            if (msg.message.case !== "batch") continue;
            const ids = rowIds(msg.message.value.entries);
            batchTimes.push(Date.now());
            const batchId = msg.message.value.batchId;
            for (;;) {
              try {
                const res = await canal.ack({ destination: "example", clientId, batchId, session });
                acked.push(...ids);
                ackTimes.push(Date.now());
                lastCursor = res.cursor;
                break;
              } catch (err) {
                if (!(err instanceof ConnectError) || err.code !== Code.Unavailable || Date.now() > stopAt) {
                  uncertain = ids;
                  throw err;
                }
                ackRetries.push({ at: Date.now(), error: err.message });
                await sleep(50);
              }
            }
          }
        } catch (err) {
          if (done.signal.aborted) return;
          if (!(err instanceof ConnectError)) throw err;
          const transient = [
            Code.Unavailable,
            Code.Canceled,
            Code.Internal,
            Code.Aborted,
            Code.Unknown,
            Code.FailedPrecondition,
          ];
          if (!transient.includes(err.code)) throw err;
          streamEnds.push({ at: Date.now(), error: `${Code[err.code]}: ${err.message}` });
          which++;
          await sleep(25);
        }
      }
    };
    return {
      name,
      acked,
      opens,
      done: run(),
      snapshot: (): Snapshot => ({
        opens: opens.length,
        ends: streamEnds.length,
        retries: ackRetries.length,
      }),
      /** What happened after a kill: whether the stream stayed open, the pauses, the ack retries. */
      report(before: Snapshot, killedAt: number, watchMs: number): string {
        const firstAck = ackTimes.find((t) => t > killedAt);
        assert.ok(firstAck, `${name}: nothing was acked within ${watchMs} ms of the kill`);
        const reopened = opens.length - before.opens;
        const ends = streamEnds.slice(before.ends).map((e) => `+${e.at - killedAt} ms ${e.error}`);
        const retries = ackRetries.slice(before.retries);
        return (
          (reopened === 0
            ? "the stream stayed open"
            : `the stream ended ${ends.length}x and was reopened ${reopened}x [${ends.join("; ")}]`) +
          `; largest pause after the kill: batches ${largestGap(batchTimes, killedAt, killedAt + watchMs)} ms, ` +
          `acks ${largestGap(ackTimes, killedAt, killedAt + watchMs)} ms; ` +
          `${retries.length} ack retries` +
          (retries.length
            ? ` (+${(retries[0] as { at: number }).at - killedAt}..+${(retries[retries.length - 1] as { at: number }).at - killedAt} ms, first: ${(retries[0] as { error: string }).error})`
            : "")
        );
      },
    };
  }
});

interface Snapshot {
  opens: number;
  ends: number;
  retries: number;
}
