// bench/delivery: how fast row changes reach consumers, against issue 20's targets, in one run.
//
//   node dist/bench/delivery/run.js [--rows N] [--datadir DIR] [--repeat N] [--consumers LIST]
//     [--phases decode,throughput,latency,memory,catchup] [--batch-size N] [--window N]
//     [--json-batch-size N] [--max-bytes SIZE] [--latency-rates 1000,10000]
//     [--latency-seconds S] [--latency-tx-rows N] [--latency-clients ts-grpc,ts-connect]
//     [--slow-seconds S] [--slow-ack-ms MS] [--slow-batch-size N] [--catchup-rows N]
//     [--cpu-prof [LIST]] [--cpu-prof-latency] [--cpu-prof-dir DIR] [--timeout S]
//     [--time-limit S] [--json FILE]
//
// Starts the harness's MariaDB and ZooKeeper on loopback, writes N sysbench-like row changes
// into the binlog (bench/decode/generate.ts; default 500k, or reuses a dataset saved with
// --datadir), then measures, every process a child of its own:
// - decode: the decoder's own reader over the same binlog (bench/decode/reader.ts);
// - throughput: each consumer of --consumers reads the whole dataset from the first binlog
//   file on a server and gateway of its own, and acks every batch; rows/s from the first batch
//   to the last ack; CPU per delivered row of client, server and gateway (/proc, and the
//   consumer's own account); the count and the id sequence are checked against the workload
//   plan, and every consumer's digest of the values it read must agree;
// - latency: commit → consumer p50/p99/max through the gateway at each --latency-rates;
// - memory: the server's RSS with a slow consumer, alone and beside a fast one;
// - catchup: a consumer stopped (SIGSTOP) while --catchup-rows row changes are written into a
//   MariaDB of its own: the server's RSS meanwhile, then rows/s until it has caught up.
// Rounds (--repeat) run every decode and throughput measurement once each, in an order that
// rotates from round to round, so drift on the machine hits all alike; latency runs alternate
// rates and clients the same way. --cpu-prof adds one run per listed consumer with the server,
// the gateway and the (node) consumer under `node --cpu-prof` and prints where each spends CPU
// per row; --cpu-prof-latency profiles one more latency measurement, per batch. Every run and
// the whole bench are time-limited; children are killed however the bench ends. See
// docs/benchmarks.md.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseSize } from "../../src/server/config/units.js";
import { makeTempDir, removeDir } from "../../test/harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../../test/harness/zookeeper.js";
import { type Dataset, parseArgs, parseCount } from "../decode/common.js";
import { DEFAULT_MAX_BINLOG_SIZE, describeDataset, generate, planWorkload } from "../decode/generate.js";
import {
  type BenchServer,
  readSavedDataset,
  saveDataset,
  startFreshServer,
  startSavedServer,
} from "../decode/server.js";
import { catchupRun } from "./catchup.js";
import { expectedRuns } from "./check.js";
import { buildGoConsumer, type ClientKind, label, parseConsumers } from "./consumers.js";
import { latencyPhase } from "./latency.js";
import { memoryRun } from "./memory.js";
import { type ProcessProfile, profileOf } from "./profile.js";
import { formatReport, type Report } from "./report.js";
import { deployDescription, quiet } from "./sluice-procs.js";
import { decodeRun, type RunContext, startRunCluster, throughputRun } from "./throughput.js";

const DEFAULT_CONSUMERS =
  "ts-grpc:gateway,ts-connect:gateway,ts-grpc:direct,ts-connect:direct,python:gateway,go:gateway,json:gateway";
const PROFILED = "ts-grpc:gateway,ts-connect:gateway,json:gateway";
const PHASES = ["decode", "throughput", "latency", "memory", "catchup"] as const;
const ROOT = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");
const log = (s: string) => process.stderr.write(`[bench/delivery] ${s}\n`);

function options() {
  const a = parseArgs(process.argv.slice(2), [
    ...["rows", "datadir", "repeat", "consumers", "phases", "batch-size", "window", "json-batch-size"],
    ...["max-bytes", "latency-rates", "latency-seconds", "latency-tx-rows", "latency-clients"],
    ...["slow-seconds", "slow-ack-ms", "slow-batch-size", "cpu-prof", "cpu-prof-dir", "timeout"],
    ...["time-limit", "json", "no-verify", "cpu-prof-latency", "catchup-rows"],
  ]);
  const count = (name: string, def: number) => (a.has(name) ? parseCount(a.get(name) as string) : def);
  const list = (name: string, def: string) => (a.get(name) || def).split(",").map((s) => s.trim());
  const rows = count("rows", 500_000);
  const phases = list("phases", PHASES.join(","));
  for (const p of phases)
    if (!(PHASES as readonly string[]).includes(p))
      throw new Error(`--phases: unknown "${p}" (${PHASES.join(",")})`);
  const latencyClients = list("latency-clients", "ts-grpc,ts-connect");
  for (const c of latencyClients)
    if (c !== "ts-grpc" && c !== "ts-connect") throw new Error("--latency-clients: ts-grpc, ts-connect");
  return {
    rows,
    datadir: a.get("datadir") || undefined,
    repeat: Math.max(1, count("repeat", 1)),
    consumers: parseConsumers(a.get("consumers") || DEFAULT_CONSUMERS),
    phases: new Set(phases),
    batchSize: count("batch-size", 1000),
    window: count("window", 4),
    jsonBatchSize: count("json-batch-size", 100),
    maxBytes: parseSize(a.get("max-bytes") || "64MiB"),
    latencyRates: list("latency-rates", "1000,10000").map((s) => parseCount(s)),
    latencySeconds: count("latency-seconds", 10),
    latencyTxRows: count("latency-tx-rows", 10),
    latencyClients: latencyClients as ClientKind[],
    slowSeconds: count("slow-seconds", 30),
    slowAckMs: count("slow-ack-ms", 1000),
    slowBatchSize: count("slow-batch-size", 100),
    catchupRows: count("catchup-rows", 1_000_000),
    profiled: a.has("cpu-prof") ? parseConsumers(a.get("cpu-prof") || PROFILED) : [],
    profileKeep: a.get("cpu-prof-dir") || undefined,
    profileLatency: a.has("cpu-prof-latency"),
    timeoutMs: count("timeout", 120 + Math.ceil(rows / 5000)) * 1000,
    timeLimitMs: count("time-limit", 3600) * 1000,
    json: a.get("json") || undefined,
    verify: !a.has("no-verify"),
  };
}

async function dataset(o: ReturnType<typeof options>): Promise<{ db: BenchServer; ds: Dataset }> {
  const saved = o.datadir ? readSavedDataset(o.datadir) : undefined;
  if (o.datadir && saved) {
    log(`reusing the dataset in ${o.datadir}: ${describeDataset(saved)}`);
    return { db: await startSavedServer(o.datadir, saved), ds: saved };
  }
  log(`starting MariaDB and generating ${o.rows.toLocaleString("en-US")} row changes`);
  let db = await startFreshServer({
    maxBinlogSize: DEFAULT_MAX_BINLOG_SIZE,
    keepDataDir: o.datadir !== undefined,
  });
  const ds = await generate(db, { rows: o.rows, verify: o.verify, maxBinlogSize: DEFAULT_MAX_BINLOG_SIZE });
  log(`generated in ${ds.generationSeconds.toFixed(1)} s: ${describeDataset(ds)}`);
  if (o.datadir) {
    await db.stop();
    saveDataset(db, ds, o.datadir);
    log(`dataset saved in ${o.datadir}`);
    db = await startSavedServer(o.datadir, ds);
  }
  return { db, ds };
}

/** The workload plan of the dataset, as runs of ids; checked against the dataset's counts. */
function expected(ds: Dataset) {
  const plan = planWorkload(ds.rows, ds.wideEvery ?? 10);
  const count = (kind: string) => plan.filter((s) => s.kind === kind).length * 100;
  const planned = `${plan.length * 100}: ${count("I")}/${count("U")}/${count("D")}`;
  const held = `${ds.rows}: ${ds.inserts}/${ds.updates}/${ds.deletes}`;
  if (planned !== held) throw new Error(`the workload plan (${planned}) is not the dataset's (${held})`);
  return expectedRuns(plan, 100);
}

/** Rotates a list by `by` places: round r starts with a different item. */
const rotate = <T>(xs: T[], by: number) => xs.map((_, i) => xs[(i + by) % xs.length] as T);

async function main(): Promise<number> {
  const t0 = performance.now();
  const o = options();
  const limit = setTimeout(() => {
    log(`the bench ran past --time-limit ${o.timeLimitMs / 1000} s: stopping (children are killed)`);
    process.exit(2);
  }, o.timeLimitMs);
  limit.unref();
  const dir = makeTempDir("bench-delivery");
  let db: BenchServer | undefined;
  let zk: ZooKeeper | undefined;
  let keepLogs = true;
  try {
    const [data, zooKeeper] = await Promise.all([dataset(o), startZooKeeper()]);
    db = data.db;
    zk = zooKeeper;
    const { ds } = data;
    let runNumber = 0;
    const ctx: RunContext = {
      dir,
      zk,
      db,
      ds,
      expected: expected(ds),
      tables: ["sbtest1", "wide16"],
      maxBytes: o.maxBytes,
      batchSize: o.batchSize,
      jsonBatchSize: o.jsonBatchSize,
      window: o.window,
      timeoutMs: o.timeoutMs,
      serverStartCpu: 0,
      nextRun: () => ++runNumber,
    };
    const needsGo = [...o.consumers, ...o.profiled].some((c) => c.client === "go");
    if (needsGo && o.phases.has("throughput")) {
      log("building the Go consumer");
      ctx.goBinary = await buildGoConsumer(dir);
    }
    // What a server costs to start and take the destination with nothing to read: subtracted
    // from each run's server CPU, which counts from the server's start (its store fills at once).
    {
      const c = await startRunCluster(ctx, { gateway: false, tag: "idle", start: "head" });
      ctx.serverStartCpu = await quiet(c.server);
      await c.stop();
      log(`a server's start-up: ${ctx.serverStartCpu.toFixed(2)} CPU s`);
    }
    const report: Report = {
      header: [
        `bench/delivery: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), node ${process.version}, MariaDB ${ds.serverVersion}`,
        `dataset: ${describeDataset(ds)}`,
        `store.maxBytes ${o.maxBytes} bytes; streams: batchSize ${o.batchSize} entries, window ${o.window}; JSON Get: batchSize ${o.jsonBatchSize}; a server's start-up CPU (subtracted): ${ctx.serverStartCpu.toFixed(2)} s`,
        `sluice processes run with ${deployDescription()}, as the deploy files set (docs/deploy.md)`,
        `load average at the start: ${loadavg()
          .map((x) => x.toFixed(2))
          .join(" ")}`,
      ],
      maxBytes: o.maxBytes,
      decode: [],
      throughput: [],
      latency: [],
      memory: [],
      catchup: [],
      profiles: [],
      seconds: 0,
    };
    for (let round = 1; round <= o.repeat; round++) {
      type Step = { kind: "decode" } | { kind: "consumer"; spec: (typeof o.consumers)[number] };
      const steps: Step[] = [
        ...(o.phases.has("decode") ? [{ kind: "decode" } as Step] : []),
        ...(o.phases.has("throughput") ? o.consumers.map((spec): Step => ({ kind: "consumer", spec })) : []),
      ];
      for (const step of rotate(steps, round - 1)) {
        if (step.kind === "decode") {
          const d = await decodeRun(ctx, round);
          log(
            `round ${round} decode only: ${d.ok ? `${Math.round(d.rowsPerSec)} rows/s` : `FAILED ${d.error}`}`,
          );
          report.decode.push(d);
          continue;
        }
        const t = await throughputRun(ctx, step.spec, round);
        log(
          `round ${round} ${label(step.spec)}: ${t.ok ? `${Math.round(t.rowsPerSec)} rows/s, µs/row client ${t.clientCpuUs.toFixed(1)} server ${t.serverCpuUs.toFixed(1)} gateway ${t.gatewayCpuUs?.toFixed(1) ?? "-"}` : `FAILED ${t.error}`} (load ${t.loadBefore.toFixed(1)})`,
        );
        report.throughput.push(t);
      }
    }
    // Every consumer read the same values: their digests must agree.
    const digests = new Set(report.throughput.filter((t) => t.ok).map((t) => t.digest));
    if (digests.size > 1) {
      for (const t of report.throughput) {
        if (!t.ok) continue;
        t.ok = false;
        t.error = `the consumers' value digests differ (${[...digests].join(", ")}): this one has ${t.digest}`;
      }
    }
    if (o.phases.has("latency")) {
      report.latency = await latencyPhase(
        ctx,
        {
          rates: o.latencyRates,
          seconds: o.latencySeconds,
          txRows: o.latencyTxRows,
          clients: o.latencyClients,
          rounds: o.repeat,
          warmupSeconds: 1,
        },
        log,
      );
    }
    if (o.phases.has("memory")) {
      for (const scenario of ["slow", "slow + fast"] as const) {
        const m = await memoryRun(
          ctx,
          { seconds: o.slowSeconds, ackDelayMs: o.slowAckMs, batchSize: o.slowBatchSize },
          scenario,
        );
        log(`memory, ${scenario}: ${m.ok ? `peak ${m.peakMB.toFixed(0)} MB` : `FAILED ${m.error}`}`);
        report.memory.push(m);
      }
    }
    if (o.phases.has("catchup")) {
      const timeoutMs = o.timeoutMs + Math.ceil(o.catchupRows / 2000) * 1000;
      const c = await catchupRun(ctx, { rows: o.catchupRows, timeoutMs }, log);
      log(
        `catch-up of ${c.stoppedRows} rows: ${c.ok ? `${Math.round(c.rowsPerSec)} rows/s, server peak RSS ${c.serverPeakStoppedMB.toFixed(0)} MB stopped, ${c.serverPeakCatchupMB.toFixed(0)} MB catching up` : `FAILED ${c.error}`}`,
      );
      report.catchup.push(c);
    }
    for (const spec of o.profiled) {
      const profDir = join(dir, `profile-${ctx.nextRun()}`);
      log(`profiling ${label(spec)} (node --cpu-prof)`);
      const t = await throughputRun(ctx, spec, 0, profDir);
      if (!t.ok) {
        log(`profiled run of ${label(spec)} FAILED: ${t.error}`);
        continue;
      }
      const processes = readProfiles(profDir, t, t.rows, "delivered row", o.profileKeep, label(spec));
      report.profiles.push({ title: `${label(spec)} (${t.rows} rows delivered)`, processes });
    }
    if (o.profileLatency) {
      // Where the fixed cost of a small batch goes: one latency measurement, profiled.
      const rate = o.latencyRates[0] as number;
      const profDir = join(dir, `profile-${ctx.nextRun()}`);
      log(`profiling the latency path: ts-grpc at ${rate} rows/s (node --cpu-prof)`);
      const [l] = await latencyPhase(
        ctx,
        {
          rates: [rate],
          seconds: o.latencySeconds,
          txRows: o.latencyTxRows,
          clients: ["ts-grpc"],
          rounds: 1,
          warmupSeconds: 1,
          profileDir: profDir,
        },
        log,
      );
      if (l?.ok) {
        report.profiles.push({
          title: `latency path, ts-grpc through the gateway at ${rate} rows/s, ${o.latencyTxRows}-row transactions (${l.batches} batches of ${(l.rows / l.batches).toFixed(1)} rows; per batch)`,
          processes: readProfiles(profDir, l, l.batches, "batch", o.profileKeep, "latency"),
        });
      } else log(`the profiled latency run FAILED: ${l?.error}`);
    }
    report.seconds = (performance.now() - t0) / 1000;
    process.stdout.write(`\n${formatReport(report)}\n`);
    if (o.json) {
      writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
      log(`JSON written to ${o.json}`);
    }
    const failed =
      report.decode.some((d) => !d.ok) ||
      report.throughput.some((t) => !t.ok) ||
      report.latency.some((l) => !l.ok) ||
      report.memory.some((m) => !m.ok) ||
      report.catchup.some((c) => !c.ok);
    keepLogs = failed;
    return failed ? 1 : 0;
  } finally {
    await db?.stop();
    await zk?.stop();
    if (keepLogs) log(`something failed: the processes' logs are kept in ${dir}`);
    else removeDir(dir);
  }
}

process.exitCode = await main();

/** The server's, gateway's and client's profiles of a run, per `per` (rows or batches). */
function readProfiles(
  profDir: string,
  run: {
    windows?: Record<"server" | "gateway" | "client", [number, number]>;
    windowCpu?: Record<"server" | "gateway" | "client", number>;
  },
  count: number,
  per: string,
  keep: string | undefined,
  tag: string,
): ProcessProfile[] {
  const out: ProcessProfile[] = [];
  for (const who of ["server", "gateway", "client"] as const) {
    let files: string[] = [];
    try {
      files = readdirSync(join(profDir, who)).filter((f) => f.endsWith(".cpuprofile"));
    } catch {
      continue;
    }
    const file = files[0];
    if (!file) continue;
    const path = join(profDir, who, file);
    if (keep) {
      mkdirSync(keep, { recursive: true });
      copyFileSync(path, join(keep, `${tag.replace(":", "-")}-${who}.cpuprofile`));
    }
    out.push(profileOf(path, who, count, ROOT, run.windows?.[who], run.windowCpu?.[who], per));
  }
  return out;
}
