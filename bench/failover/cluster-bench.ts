// The cluster bench (issue 22): pauses consumers see when one thing fails, through two
// gateways behind haproxy, under a steady load; and the check that nothing was lost and
// nothing acked came back. run.ts's header says what it does and how to run it.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { prng, sleep } from "../../test/harness/entries.js";
import { makeTempDir, removeDir, waitFor } from "../../test/harness/processes.js";
import { Cluster } from "./cluster.js";
import { Consumer, consumerScript } from "./consumers.js";
import { FAULTS, type FaultContext, type FaultKind } from "./faults.js";
import type { BenchOptions } from "./options.js";
import { type Gap, largestGap } from "./pauses.js";
import { type FailoverReport, type FaultRecord, resultTable } from "./report.js";
import { timeline } from "./timeline.js";
import { Writer } from "./writer.js";

const log = (line: string) => process.stdout.write(`${line}\n`);
const clock = (t: number) => new Date(t).toISOString().slice(11, 23);

/** Runs the bench; resolves with the exit code (0: the rows were exact). */
export async function runClusterBench(opts: BenchOptions): Promise<number> {
  const dir = makeTempDir("bench-failover");
  const state: RunState = { dir, consumers: [], records: [] };
  let keep = opts.keep;
  const limit = new Promise<never>((_, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the bench did not finish within --time-limit ${opts.timeLimitS} s`)),
      opts.timeLimitS * 1000,
    );
    timer.unref();
  });
  try {
    const exact = await Promise.race([run(opts, state), limit]);
    return exact ? 0 : 1;
  } catch (err) {
    keep = true;
    throw err;
  } finally {
    await state.writer?.stop().catch(() => {});
    for (const c of state.consumers) await c.stop().catch(() => {});
    await state.cluster?.stop().catch((err: Error) => log(`# stopping the cluster: ${err.message}`));
    if (keep) {
      writeTimelines(dir, state.records);
      log(`# logs kept in ${dir} (timeline/ has each fault's lines from every process)`);
    } else removeDir(dir);
  }
}

interface RunState {
  dir: string;
  cluster?: Cluster;
  writer?: Writer;
  consumers: Consumer[];
  records: FaultRecord[];
}

async function run(opts: BenchOptions, state: RunState): Promise<boolean> {
  const kinds = FAULTS.filter((f) => opts.faults.includes(f.name));
  log(header(opts, kinds));
  const cluster = await Cluster.start(
    {
      dir: state.dir,
      servers: 3,
      gateways: 2,
      sessionTimeoutMs: opts.sessionTimeoutMs,
      regrabDelayMs: opts.regrabDelayMs,
      gatewaySessionTimeoutMs: opts.gatewaySessionTimeoutMs,
      logLevel: opts.logLevel,
      checkIntervalMs: opts.checkIntervalMs,
      shutdownSessions: opts.shutdownSessions,
    },
    log,
  );
  state.cluster = cluster;
  const consumers = makeConsumers(cluster, opts, state.dir);
  state.consumers = consumers;
  for (const c of consumers) c.start();
  // A new clientId starts at the head: both subscribe before the first row is written.
  await waitFor(
    "both consumers to subscribe",
    async () => (consumers.every((c) => c.ledger.subscriptions > 0) ? true : undefined),
    { timeoutMs: 60_000, failIf: () => consumers.find((c) => c.failure)?.failure },
  );
  const writer = new Writer(cluster.db, opts.rowsPerSecond, opts.txRows);
  state.writer = writer;
  for (const c of consumers) await c.deliveredAfter(0, 60_000, "at all");

  const random = prng(opts.seed);
  let n = 0;
  for (let round = 0; round < opts.rounds; round++) {
    for (const kind of kinds) {
      n++;
      await steady(cluster, consumers, writer);
      const rec = await runFault(kind, { cluster, consumers, writer, round, random, opts });
      state.records.push(rec);
      log(faultLine(n, opts.rounds * kinds.length, rec));
    }
  }

  const { committed, checks } = await checkExact(cluster, consumers, writer);
  state.consumers = [];
  log("");
  for (const line of resultTable(state.records, kinds, opts)) log(line);
  log("");
  for (const { consumer: c, problem } of checks) {
    const l = c.ledger;
    log(
      `consumer ${c.name}: ${problem ? `NOT EXACT: ${problem}` : `acked exactly the ${committed} committed rows, in order`}; ` +
        `${l.redelivered} rows delivered again (unacked when a fault hit), ${l.subscriptions} subscriptions, ${l.errors.length} errors seen`,
    );
  }
  log(
    `writer: ${committed} rows in ${writer.commits.length} transactions, ${writer.failures.length} failed tries; ` +
      `load average after ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
  );
  if (opts.json) {
    const exact = checks.map((c) => ({
      consumer: c.consumer.name,
      exact: !c.problem,
      problem: c.problem,
      redelivered: c.consumer.ledger.redelivered,
    }));
    const report: FailoverReport = {
      options: opts,
      cores: cpus().length,
      faults: state.records,
      rows: committed,
      checks: exact,
    };
    writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  return checks.every((c) => !c.problem);
}

function header(opts: BenchOptions, kinds: FaultKind[]): string {
  return (
    `# bench/failover: ${opts.rounds} round(s) of ${kinds.map((k) => k.name).join(", ")}; ` +
    `3 servers (session timeout ${opts.sessionTimeoutMs} ms, regrab delay ${opts.regrabDelayMs} ms), ` +
    `2 gateways (ZooKeeper session timeout ${opts.gatewaySessionTimeoutMs} ms) behind haproxy ` +
    `(check every ${opts.checkIntervalMs} ms, down after 2 failures, ` +
    `${opts.shutdownSessions ? "on-marked-down shutdown-sessions" : "connections kept when marked down"}), ` +
    `3-node ZooKeeper (tickTime 200 ms); ${opts.rowsPerSecond} rows/s in ${opts.txRows}-row transactions; ` +
    `A streams (TypeScript client, ${opts.streamTransport}), B calls Get/Ack as HTTP/JSON ` +
    `(Get wait ${opts.getWaitMs} ms, call timeout ${opts.callTimeoutMs} ms); ` +
    `${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`
  );
}

/** Consumer A (streams) and B (unary calls), child processes going through haproxy. */
function makeConsumers(cluster: Cluster, opts: BenchOptions, dir: string): Consumer[] {
  const common = ["--url", cluster.url, "--filter", "fo\\.t", "--batch-size", String(opts.batchSize)];
  const a = new Consumer(
    "A",
    "bench-a",
    consumerScript("consumer-stream"),
    [...common, "--client-id", "bench-a", "--transport", opts.streamTransport],
    join(dir, "consumer-A.log"),
  );
  const b = new Consumer(
    "B",
    "bench-b",
    consumerScript("consumer-unary"),
    [
      ...common,
      "--client-id",
      "bench-b",
      "--state",
      join(dir, "consumer-B.session"),
      "--get-wait",
      String(opts.getWaitMs),
      "--call-timeout",
      String(opts.callTimeoutMs),
    ],
    join(dir, "consumer-B.log"),
  );
  return [a, b];
}

/**
 * Stops the writer, waits until both consumers acked every committed row, stops them, and
 * checks each one's acked rows against the committed ones.
 */
async function checkExact(
  cluster: Cluster,
  consumers: Consumer[],
  writer: Writer,
): Promise<{ committed: number; checks: { consumer: Consumer; problem: string | undefined }[] }> {
  await writer.stop();
  const rows = await cluster.db.query<{ id: number }[]>("SELECT id FROM fo.t ORDER BY id");
  const committed = rows.map((r) => Number(r.id));
  for (const c of consumers) {
    await waitFor(
      `consumer ${c.name} to ack all ${committed.length} rows`,
      async () => (c.ledger.ackedCount >= committed.length ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 50, failIf: () => c.failure },
    );
  }
  await sleep(3000); // an ack of unknown fate that did not take effect shows as its rows again
  for (const c of consumers) await c.stop();
  const checks = consumers.map((c) => {
    c.ledger.settle();
    return { consumer: c, problem: c.ledger.exactly(committed) };
  });
  return { committed: committed.length, checks };
}

/** Waits until the cluster is whole again and both consumers receive batches. */
async function steady(cluster: Cluster, consumers: Consumer[], writer: Writer): Promise<void> {
  let why: string | undefined;
  await waitFor(
    "the cluster to be whole again",
    async () => {
      why = await cluster.healthy();
      return why === undefined ? true : undefined;
    },
    {
      timeoutMs: 90_000,
      intervalMs: 250,
      failIf: () => consumers.find((c) => c.failure)?.failure ?? writer.error ?? undefined,
    },
  ).catch((err: Error) => {
    throw new Error(`${err.message} (last: ${why})`);
  });
  const now = Date.now();
  for (const c of consumers) await c.deliveredAfter(now, 30_000, "before the next fault");
  await sleep(1000);
}

interface FaultRun {
  cluster: Cluster;
  consumers: Consumer[];
  writer: Writer;
  round: number;
  random: () => number;
  opts: BenchOptions;
}

async function runFault(kind: FaultKind, r: FaultRun): Promise<FaultRecord> {
  let t0 = 0;
  const actions: { at: number; what: string }[] = [];
  const ctx: FaultContext = {
    cluster: r.cluster,
    consumers: r.consumers,
    round: r.round,
    random: r.random,
    sessionTimeoutMs: r.opts.sessionTimeoutMs,
    inject(what) {
      t0 = Date.now();
      actions.push({ at: t0, what });
    },
    act(what) {
      actions.push({ at: Date.now(), what });
    },
  };
  const load = loadavg()[0] as number;
  const target = await kind.run(ctx);
  const undone = Date.now();
  for (const c of r.consumers) await c.deliveredAfter(undone, 60_000, `after ${kind.name} was undone`);
  // Late effects (a dead gateway's holds expiring, a thawed server finding its session gone)
  // come within a session timeout of the fault being undone.
  const settled = undone + Math.max(r.opts.sessionTimeoutMs, r.opts.gatewaySessionTimeoutMs) + 1000;
  await sleep(Math.max(0, settled - Date.now()));
  for (const c of r.consumers) await c.deliveredAfter(settled, 60_000, `after ${kind.name} settled`);
  const end = Date.now();
  const pauses: Record<string, Gap> = {};
  const noticed: Record<string, string[]> = {};
  for (const c of r.consumers) {
    pauses[c.name] = largestGap(c.ledger.deliveries, t0, end) as Gap;
    noticed[c.name] = c.ledger.errors
      .filter((e) => e.t >= t0 && e.t <= end)
      .map((e) => `+${e.t - t0} ${e.call} ${e.code}: ${e.message.slice(0, 160)}`);
  }
  return {
    kind: kind.name,
    round: r.round + 1,
    target,
    t0,
    end,
    load,
    actions: actions.map((a) => ({ at: a.at - t0, what: a.what })),
    pauses,
    commitGap: largestGap(r.writer.commits, t0, end),
    noticed,
  };
}

function faultLine(n: number, of: number, rec: FaultRecord): string {
  const gap = (g: Gap | undefined) => (g ? `${g.ms} ms (+${g.from - rec.t0}..+${g.to - rec.t0})` : "none");
  const parts = [
    `# ${n}/${of} ${rec.kind} ${rec.target} at ${clock(rec.t0)} (load ${rec.load.toFixed(1)}):`,
    ...Object.entries(rec.pauses).map(([name, g]) => `${name} ${gap(g)}`),
    `commits ${gap(rec.commitGap)}`,
  ];
  const lines = [parts.join(" ")];
  for (const a of rec.actions.slice(1)) lines.push(`#     +${a.at} ${a.what}`);
  for (const [name, errors] of Object.entries(rec.noticed)) {
    for (const e of errors.slice(0, 4)) lines.push(`#     ${name} saw ${e}`);
    if (errors.length > 4) lines.push(`#     ${name} saw ${errors.length - 4} more errors`);
  }
  return lines.join("\n");
}

/** Each fault's lines from every process's log, into dir/timeline/. */
function writeTimelines(dir: string, records: FaultRecord[]): void {
  const logs = readdirSync(dir)
    .filter((f) => f.endsWith(".log"))
    .map((f) => join(dir, f));
  mkdirSync(join(dir, "timeline"), { recursive: true });
  records.forEach((rec, i) => {
    const to = Math.max(...Object.values(rec.pauses).map((g) => g?.to ?? rec.end)) + 1000;
    const lines = timeline(logs, rec.t0, rec.t0 - 1000, Math.min(to, rec.end));
    const name = `${String(i + 1).padStart(2, "0")}-${rec.kind}-r${rec.round}.txt`;
    writeFileSync(join(dir, "timeline", name), `${lines.join("\n")}\n`);
  });
}
