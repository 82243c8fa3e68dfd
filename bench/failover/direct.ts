// bench/failover --direct: how long a consumer waits when the runner of its destination goes,
// talking to the servers directly (no gateway, no load balancer): the server side of a
// takeover alone. The cluster bench (cluster-bench.ts, the default) measures what consumers
// see through gateways and haproxy.
//
//   node dist/bench/failover/run.js --direct [--rounds N] [--session-timeout MS] [--regrab-delay MS]
//                                   [--servers N] [--crash-restart-delay MS] [--json FILE] [--keep]
//
// Starts a private MariaDB, a 3-node ZooKeeper ensemble (test harness, loopback only) and
// --servers sluice servers (default 2) sharing one destination, and a consumer that streams
// and acks a steady workload (20-row transactions every 50 ms) from whichever server runs it.
// Then, --rounds times each (default 10):
//   graceful  SIGTERM the runner (it releases its running node) → the first batch the consumer
//             gets from another server; the stopped server is started again to stand by.
//   crash     SIGKILL the runner and start it again at once, or --crash-restart-delay MS later
//             → the first batch the consumer gets after the killed process is gone, from
//             whichever server runs the destination then.
// Prints every value, the median and the worst for each case, with the session timeout and
// regrab delay, and checks the consumer acked exactly the committed rows. See
// docs/benchmarks.md.
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { Position } from "../../src/gen/sluice/v1/position_pb.js";
import { cursorKey, rowIds, sleep } from "../../test/harness/entries.js";
import { startMariaDB } from "../../test/harness/mariadb.js";
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  spawnManaged,
  waitFor,
} from "../../test/harness/processes.js";
import { startZooKeeperEnsemble } from "../../test/harness/zookeeper.js";

const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const ROWS_PER_TX = 20;
const TX_EVERY_MS = 50;

const OPTIONS = {
  rounds: { type: "string", default: "10" },
  "session-timeout": { type: "string", default: "2000" },
  "regrab-delay": { type: "string", default: "200" },
  "crash-restart-delay": { type: "string", default: "0" },
  servers: { type: "string", default: "2" },
  json: { type: "string" },
  keep: { type: "boolean", default: false },
} as const;
let args = parseArgs({ args: [], options: OPTIONS }).values;
function count(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name}: must be an integer of at least ${min}, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}
let ROUNDS = 0;
let SESSION_TIMEOUT_MS = 0;
let REGRAB_DELAY_MS = 0;
let SERVERS = 0;
let CRASH_RESTART_DELAY_MS = 0;

/** Runs the direct bench with its command-line options (`--direct` already taken off). */
export async function runDirectBench(argv: string[]): Promise<void> {
  args = parseArgs({ args: argv, options: OPTIONS, strict: true }).values;
  ROUNDS = count("rounds", args.rounds, 1);
  SESSION_TIMEOUT_MS = count("session-timeout", args["session-timeout"], 400);
  REGRAB_DELAY_MS = count("regrab-delay", args["regrab-delay"], 0);
  SERVERS = count("servers", args.servers, 2);
  CRASH_RESTART_DELAY_MS = count("crash-restart-delay", args["crash-restart-delay"], 0);
  await main();
}

const log = (line: string) => process.stdout.write(`${line}\n`);

interface Node {
  name: string;
  port: number;
  process?: ManagedProcess;
}

interface Summary {
  values: number[];
  median: number;
  worst: number;
}

function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    values,
    median: sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)] as number) : Number.NaN,
    worst: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  log(
    `# bench/failover: ${ROUNDS} rounds each, ${SERVERS} servers, 3-node ZooKeeper ensemble (tickTime 200 ms), ` +
      `session timeout ${SESSION_TIMEOUT_MS} ms, regrab delay ${REGRAB_DELAY_MS} ms, ` +
      `killed server restarted ${CRASH_RESTART_DELAY_MS} ms after a crash; ` +
      `${cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );
  const [db, zk] = await Promise.all([startMariaDB(), startZooKeeperEnsemble(3)]);
  const dir = makeTempDir("bench-failover");
  const nodes: Node[] = [];
  const sessions: Http2SessionManager[] = [];
  const done = new AbortController();
  let writing = true;
  try {
    await db.query("CREATE DATABASE fo; CREATE TABLE fo.t (id INT PRIMARY KEY, pad VARCHAR(40))");
    writeFileSync(
      join(dir, "sluice.yaml"),
      [
        "host: 127.0.0.1",
        "metrics: { enabled: false }",
        "zk:",
        `  connect: "${zk.connectString}"`,
        `  sessionTimeout: ${SESSION_TIMEOUT_MS}ms`,
        `  regrabDelay: ${REGRAB_DELAY_MS}ms`,
        "destinations:",
        "  - name: example",
        `    source: "${db.sourceUrl}"`,
        "    heartbeat: 1s",
        "",
      ].join("\n"),
    );
    const start = async (node: Node) => {
      const p = spawnManaged(
        node.name,
        process.execPath,
        [SLUICE, "server", "--config", join(dir, "sluice.yaml"), "--port", String(node.port)],
        { logFile: join(dir, `${node.name}.log`), env: { ...process.env, SLUICE_LOG_LEVEL: "info" } },
      );
      node.process = p;
      await waitFor(
        `${node.name} to listen`,
        async () =>
          (await fetch(`http://127.0.0.1:${node.port}/healthz`).catch(() => undefined))?.ok
            ? true
            : undefined,
        {
          timeoutMs: 30_000,
          failIf: () => (p.child.exitCode !== null ? `exited; see ${p.logFile}` : undefined),
        },
      );
    };
    for (let i = 0; i < SERVERS; i++) nodes.push({ name: `fo-${i + 1}`, port: await freePort() });
    for (const n of nodes) await start(n);
    for (const n of nodes) sessions.push(new Http2SessionManager(`http://127.0.0.1:${n.port}`));
    const clients = nodes.map((n, i) =>
      createClient(
        CanalService,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${n.port}`, sessionManager: sessions[i] }),
      ),
    );
    const runner = async (): Promise<number | undefined> => {
      for (const [i, n] of nodes.entries()) {
        const res = await fetch(`http://127.0.0.1:${n.port}/sluice.v1.AdminService/ListDestinations`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        }).catch(() => undefined);
        const body = res?.ok ? ((await res.json()) as { destinations?: { name: string }[] }) : {};
        if (body.destinations?.some((d) => d.name === "example")) return i;
      }
      return undefined;
    };

    await waitFor(
      "the first subscription",
      async () => {
        for (const c of clients) {
          const ok = await c.subscribe({ destination: "example", clientId: "bench" }).catch(() => undefined);
          if (ok) return ok;
        }
        return undefined;
      },
      { timeoutMs: 30_000 },
    );

    let written = 0;
    const writer = (async () => {
      while (writing) {
        const values = Array.from(
          { length: ROWS_PER_TX },
          (_, i) => `(${written + i + 1}, REPEAT('p', ${1 + ((written + i) % 40)}))`,
        );
        await db.query(`INSERT INTO fo.t VALUES ${values.join(",")}`);
        written += ROWS_PER_TX;
        await sleep(TX_EVERY_MS);
      }
    })();

    // The consumer, as in test/integration/ha-failover-load.test.ts: streams from whichever
    // server answers, acks every batch, and after a broken ack lets the next subscription's
    // cursor tell whether it took effect. Every batch is recorded with the server it came from.
    const acked: number[] = [];
    const batches: { at: number; from: number }[] = [];
    let reconnects = 0;
    const consumer = (async () => {
      let which = 0;
      let lastCursor: Position | undefined;
      let uncertain: number[] | undefined;
      while (!done.signal.aborted) {
        const from = which % clients.length;
        const canal = clients[from] as (typeof clients)[number];
        // One signal per stream (ended with the bench), so that streams to a dead server do
        // not pile listeners onto one long-lived signal.
        const one = new AbortController();
        const end = () => one.abort();
        done.signal.addEventListener("abort", end, { once: true });
        try {
          for await (const msg of canal.stream(
            { destination: "example", clientId: "bench", batchSize: 200, window: 4 },
            { signal: one.signal },
          )) {
            if (msg.message.case === "subscribed") {
              const cursor = msg.message.value.cursor;
              if (uncertain && cursorKey(cursor) !== cursorKey(lastCursor)) acked.push(...uncertain);
              uncertain = undefined;
              lastCursor = cursor;
              continue;
            }
            if (msg.message.case !== "batch") continue;
            batches.push({ at: Date.now(), from });
            const ids = rowIds(msg.message.value.entries);
            try {
              const res = await canal.ack({
                destination: "example",
                clientId: "bench",
                batchId: msg.message.value.batchId,
              });
              acked.push(...ids);
              lastCursor = res.cursor;
            } catch (err) {
              uncertain = ids;
              throw err;
            }
          }
        } catch (err) {
          if (done.signal.aborted) return;
          if (!(err instanceof ConnectError) || err.code === Code.InvalidArgument) throw err;
          reconnects++;
          which++;
          await sleep(25);
        } finally {
          done.signal.removeEventListener("abort", end);
        }
      }
    })();
    const consumerFailed = consumer.then(
      () => new Promise<never>(() => {}),
      (err: unknown) => Promise.reject(err),
    );

    /** Waits for a batch delivered after `after` (from a server other than `notFrom`). */
    const firstBatch = (after: number, notFrom?: number) =>
      waitFor(
        "a batch from the new runner",
        async () => batches.find((b) => b.at > after && b.from !== notFrom)?.at,
        { timeoutMs: 120_000, intervalMs: 5 },
      );

    const graceful: number[] = [];
    const crash: number[] = [];
    const crashWinner: string[] = [];
    await Promise.race([
      consumerFailed,
      (async () => {
        await firstBatch(0);
        for (const kind of ["graceful", "crash"] as const) {
          for (let r = 0; r < ROUNDS; r++) {
            await sleep(1500);
            const victimIndex = await waitFor("a runner", runner, { timeoutMs: 60_000 });
            const victim = nodes[victimIndex] as Node;
            // The consumer must be on the runner now, so that the kill is what it waits through.
            await firstBatch(Date.now());
            const at = Date.now();
            if (kind === "graceful") {
              await victim.process?.stop(30_000);
              const got = await firstBatch(at, victimIndex);
              graceful.push(got - at);
              log(
                `# graceful ${r + 1}/${ROUNDS}: ${new Date(at).toISOString()} SIGTERM ${victim.name} → first batch from another server in ${got - at} ms`,
              );
              await start(victim);
            } else {
              await victim.process?.kill();
              const gone = Date.now();
              const restarted = sleep(CRASH_RESTART_DELAY_MS).then(() => start(victim));
              const got = await firstBatch(gone);
              await restarted;
              crash.push(got - at);
              const b = batches.find((x) => x.at === got);
              const by = nodes[b?.from ?? -1]?.name ?? "?";
              crashWinner.push(by === victim.name ? "restarted" : "standby");
              log(
                `# crash ${r + 1}/${ROUNDS}: ${new Date(at).toISOString()} SIGKILL ${victim.name} → first batch in ${got - at} ms, from ${by}` +
                  (by === victim.name ? " (restarted, took its destination back)" : " (the standby)"),
              );
            }
          }
        }
        writing = false;
        await writer;
        await waitFor(
          "the consumer to ack every row",
          async () => (acked.length >= written ? true : undefined),
          {
            timeoutMs: 120_000,
            failIf: () => (acked.length > written ? `acked ${acked.length} rows of ${written}` : undefined),
          },
        );
        done.abort();
        await consumer;
      })(),
    ]);
    let exact = acked.length === written;
    for (let i = 0; exact && i < written; i++) exact = acked[i] === i + 1;
    if (!exact)
      throw new Error(`the acked sequence (${acked.length} rows) is not the ${written} committed rows`);

    const g = summarize(graceful);
    const c = summarize(crash);
    const loadAfter = loadavg();
    log("");
    log(
      `session timeout ${SESSION_TIMEOUT_MS} ms, regrab delay ${REGRAB_DELAY_MS} ms, ${SERVERS} servers, ` +
        `killed server restarted ${CRASH_RESTART_DELAY_MS} ms after a crash`,
    );
    log(`graceful (SIGTERM → first batch from the new runner): median ${g.median} ms, worst ${g.worst} ms`);
    log(`  all: ${g.values.join(", ")}`);
    log(`crash (SIGKILL → first batch after the takeover):     median ${c.median} ms, worst ${c.worst} ms`);
    log(`  all: ${c.values.join(", ")}`);
    log(`  taken over by: ${crashWinner.join(", ")}`);
    log(
      `consumer: ${written} rows acked exactly, ${reconnects} stream reopenings; ` +
        `load average after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`,
    );
    log(
      `targets (issue 5): graceful under 1000 ms: ${g.worst < 1000 ? "met" : "not met"} (worst); ` +
        `crash under session timeout + 1000 ms = ${SESSION_TIMEOUT_MS + 1000} ms: ` +
        `${c.worst < SESSION_TIMEOUT_MS + 1000 ? "met" : "not met"} (worst)`,
    );
    if (args.json) {
      writeFileSync(
        args.json,
        `${JSON.stringify(
          {
            sessionTimeoutMs: SESSION_TIMEOUT_MS,
            regrabDelayMs: REGRAB_DELAY_MS,
            crashRestartDelayMs: CRASH_RESTART_DELAY_MS,
            servers: SERVERS,
            rounds: ROUNDS,
            cores: cpus().length,
            loadAverageBefore: loadBefore,
            loadAverageAfter: loadAfter,
            graceful: g,
            crash: { ...c, takenOverBy: crashWinner },
            rows: written,
            reconnects,
          },
          null,
          2,
        )}\n`,
      );
    }
  } finally {
    writing = false;
    done.abort();
    for (const s of sessions) s.abort();
    for (const n of nodes) await n.process?.stop().catch(() => {});
    await Promise.all([db.stop(), zk.stop()]);
    if (args.keep) log(`server logs kept in ${dir}`);
    else removeDir(dir);
  }
}
