// bench/scale: many destinations over a few servers, many streams through one gateway.
//
//   node dist/bench/scale/run.js [--destinations 50] [--streams 500] [--servers 3]
//     [--processes 5] [--rate 5000] [--seconds 30] [--tx-rows 10] [--batch-size 1000]
//     [--window 4] [--max-bytes 64MiB] [--balance-timeout S] [--time-limit S] [--json FILE]
//
// The harness's MariaDB (a database per destination) and ZooKeeper, --servers servers started
// together with balancing on, one gateway (cluster.ts). It measures: the time until every
// destination has a runner and the runners are balanced; the time until --streams streams
// (TypeScript client, gRPC, spread over --processes consumer processes: consumers.ts) have all
// subscribed and then all received a first row; then a steady load of --rate rows/s in all for
// --seconds (writer.ts) and: rows/s delivered over all streams, commit → consumer latency
// p50/p99/max across streams, CPU per delivered row and peak RSS of the gateway, the servers
// and the consumers. Every stream's rows are checked exact (check.ts); exit 1 when one is not,
// or anything failed. Everything on 127.0.0.1, a child of the bench, killed however it ends.

import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { parseSize } from "../../src/server/config/units.js";
import { makeTempDir, removeDir, waitFor } from "../../test/harness/processes.js";
import { parseArgs, parseCount } from "../decode/common.js";
import { machineBusySeconds, processCpuSeconds } from "../decode/measure.js";
import { deployDescription } from "../delivery/sluice-procs.js";
import { sampleRss } from "../delivery/throughput.js";
import { spreadOf } from "./balance.js";
import { checkStreams } from "./check.js";
import { type ScaleCluster, startScaleCluster } from "./cluster.js";
import { type ConsumerFleet, launchConsumers, streamPairs } from "./consumers.js";
import { deliveryOf } from "./figures.js";
import { formatReport, type ScaleReport } from "./report.js";
import { roundSql, writeLoad } from "./writer.js";

const log = (s: string) => process.stderr.write(`[bench/scale] ${s}\n`);

export type Options = ReturnType<typeof options>;

function options() {
  const a = parseArgs(process.argv.slice(2), [
    ...["destinations", "streams", "servers", "processes", "rate", "seconds", "tx-rows"],
    ...["batch-size", "window", "max-bytes", "balance-timeout", "time-limit", "json", "keep"],
  ]);
  const count = (name: string, def: number) => {
    const n = a.has(name) ? parseCount(a.get(name) as string) : def;
    if (!(n > 0)) throw new Error(`--${name}: a positive number, got ${a.get(name)}`);
    return n;
  };
  const o = {
    destinations: count("destinations", 50),
    streams: count("streams", 500),
    servers: count("servers", 3),
    processes: count("processes", 5),
    rate: count("rate", 5000),
    seconds: count("seconds", 30),
    txRows: count("tx-rows", 10),
    batchSize: count("batch-size", 1000),
    window: count("window", 4),
    maxBytes: parseSize(a.get("max-bytes") || "64MiB"),
    balanceTimeoutS: count("balance-timeout", 300),
    timeLimitS: count("time-limit", 900),
    json: a.get("json") || undefined,
    keep: a.has("keep"),
  };
  if (o.streams < o.destinations) throw new Error("--streams: at least one per destination (--destinations)");
  return o;
}

/** Polls the runners until every destination runs and the spread is balanced. */
async function settle(c: ScaleCluster, r: ScaleReport, timeoutMs: number): Promise<void> {
  const servers = c.servers.map((s) => `127.0.0.1:${s.port}`);
  let last: Array<string | undefined> = [];
  r.balance.runnerChanges = 0;
  await waitFor(
    "every destination running, balanced over the servers",
    async () => {
      const runners = await c.runners().catch(() => undefined);
      if (!runners) return undefined;
      r.balance.runnerChanges += runners.filter((x, i) => x && last[i] && x !== last[i]).length;
      last = runners;
      const s = spreadOf(runners, servers);
      const at = (performance.now() - c.startedAt) / 1000;
      if (s.unassigned === 0 && r.balance.allRunningS === undefined) {
        r.balance.allRunningS = at;
        r.balance.firstSpread = s.perServer;
        log(`every destination running after ${at.toFixed(1)} s: ${JSON.stringify(s.perServer)}`);
      }
      if (!s.balanced) return undefined;
      r.balance.balancedS = at;
      r.balance.perServer = s.perServer;
      return true;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Waits until `done()` or the fleet's processes have all ended (then fails). */
async function fleetReaches(fleet: ConsumerFleet, done: () => boolean, what: string, timeoutMs: number) {
  let ended = false;
  void fleet.results.then(() => {
    ended = true;
  });
  await waitFor(what, async () => (done() ? true : undefined), {
    timeoutMs,
    intervalMs: 20,
    failIf: () => (ended ? "the consumers ended" : undefined),
  });
}

/** The CPU seconds of the servers, the gateway and the consumers now. */
function cpuNow(c: ScaleCluster, fleet: ConsumerFleet) {
  return {
    servers: c.servers.map((s) => s.cpuSeconds()),
    gateway: c.gateway.cpuSeconds(),
    consumers: fleet.cpuSeconds(),
    mariadb: processCpuSeconds(c.db.process.child.pid as number) ?? Number.NaN,
    zookeeper: processCpuSeconds(c.zk.nodes[0]?.process.child.pid as number) ?? Number.NaN,
    machine: machineBusySeconds() ?? Number.NaN,
  };
}

async function measure(c: ScaleCluster, o: Options, r: ScaleReport, dir: string): Promise<void> {
  await settle(c, r, o.balanceTimeoutS * 1000);
  log(`balanced after ${r.balance.balancedS?.toFixed(1)} s: ${JSON.stringify(r.balance.perServer)}`);
  // Whole transactions per destination; the first row (id 1) comes before the load.
  const txEach = Math.max(1, Math.round((o.rate * o.seconds) / (o.destinations * o.txRows)));
  const rowsEach = 1 + txEach * o.txRows;
  const pairs = streamPairs(c.destinations, o.streams);
  const launchedAt = performance.now();
  const fleet = launchConsumers(dir, pairs, o.processes, {
    url: c.gateway.url,
    rowsEach,
    warmIds: 1 + Math.round(o.rate / o.destinations),
    batchSize: o.batchSize,
    window: o.window,
    timeoutMs: o.timeLimitS * 1000,
  });
  try {
    await fleetReaches(fleet, () => fleet.subscribed() === o.streams, "every stream subscribed", 300_000);
    r.streams.launchToAllSubscribedS = (fleet.allSubscribedAt() - launchedAt) / 1000;
    log(
      `${o.streams} streams subscribed after ${r.streams.launchToAllSubscribedS.toFixed(1)} s; one row each`,
    );
    // A first row per destination, written once every stream is subscribed (a new clientId
    // starts at the head).
    const seedAt = performance.now();
    await c.db.query(roundSql(c.destinations, 1, 1));
    await fleetReaches(fleet, () => fleet.firsts() === o.streams, "every stream's first row", 120_000);
    r.streams.seedToAllFirstS = (fleet.allFirstAt() - seedAt) / 1000;
    log(`every stream had its first row ${r.streams.seedToAllFirstS.toFixed(2)} s after it was written`);
    await steadyLoad(c, o, r, fleet, { rowsEach, pairs });
  } finally {
    await fleet.kill();
  }
}

type Cpu = ReturnType<typeof cpuNow>;

/** CPU per delivered row, cores used and peak RSS of each process, over the load's `window` s. */
function processFigures(
  c: ScaleCluster,
  r: ScaleReport,
  m: { cpu0: Cpu; cpu1: Cpu; peaks: number[]; consumerRss: number[]; delivered: number; window: number },
): void {
  const { cpu0, cpu1, peaks, consumerRss, delivered, window } = m;
  const perRow = (cpu: number) => (cpu * 1e6) / delivered;
  r.gateway = {
    cpuUsPerRow: perRow(cpu1.gateway - cpu0.gateway),
    cores: (cpu1.gateway - cpu0.gateway) / window,
    peakRssMB: peaks[c.servers.length] as number,
  };
  r.servers = c.servers.map((s, i) => {
    const cpu = (cpu1.servers[i] as number) - (cpu0.servers[i] as number);
    return {
      name: s.name,
      address: `127.0.0.1:${s.port}`,
      destinations: r.balance.perServer?.[`127.0.0.1:${s.port}`] ?? 0,
      cpuSeconds: cpu,
      cores: cpu / window,
      cpuUsPerRow: perRow(cpu),
      peakRssMB: peaks[i] as number,
    };
  });
  r.mariadb = { cores: (cpu1.mariadb - cpu0.mariadb) / window };
  r.zookeeper = { cores: (cpu1.zookeeper - cpu0.zookeeper) / window };
  r.machineBusyCores = (cpu1.machine - cpu0.machine) / window;
  r.consumers = {
    cpuUsPerRow: perRow(cpu1.consumers - cpu0.consumers),
    cores: (cpu1.consumers - cpu0.consumers) / window,
    peakRssMB: Math.max(0, ...consumerRss) / 1e6,
  };
}

async function steadyLoad(
  c: ScaleCluster,
  o: Options,
  r: ScaleReport,
  fleet: ConsumerFleet,
  plan: { rowsEach: number; pairs: Array<[string, string]> },
): Promise<void> {
  const rss = [...c.servers, c.gateway].map((s) => sampleRss(s));
  const consumerRss: number[] = [];
  const rssTimer = setInterval(
    () => consumerRss.push(Math.max(0, ...fleet.rssBytes().filter(Number.isFinite))),
    250,
  );
  const cpu0 = cpuNow(c, fleet);
  const loadStart = Date.now();
  log(
    `writing ${o.rate} rows/s for ${o.seconds} s (${(plan.rowsEach - 1) / o.txRows} transactions of ${o.txRows} rows per destination)`,
  );
  const w = await writeLoad(c.db, {
    destinations: c.destinations,
    firstId: 2,
    rowsEach: plan.rowsEach - 1,
    txRows: o.txRows,
    rate: o.rate,
  });
  r.load = {
    ...r.load,
    achievedRate: w.achievedRate,
    writeSeconds: w.seconds,
    rowsPerDestination: w.rowsEach,
    queries: w.queries,
    queryMeanMs: w.queryMeanMs,
    queryMaxMs: w.queryMaxMs,
  };
  const results = await fleet.results;
  // The consumers have exited: their CPU is what they reported (the whole process's, as /proc's).
  const cpu1 = { ...cpuNow(c, fleet), consumers: results.reduce((s, x) => s + x.cpuSeconds, 0) };
  clearInterval(rssTimer);
  const peaks = rss.map((s) => s.stop().peakMB);
  for (const bad of results.filter((x) => !x.ok))
    r.errors.push(`a consumer failed: ${bad.error?.split("\n")[0]}`);
  const streams = results.flatMap((x) => x.streams);
  r.errors.push(...checkStreams(streams, plan.pairs, plan.rowsEach).slice(0, 20));
  r.delivery = deliveryOf(results, loadStart, w.seconds);
  const delivered = r.delivery.rows;
  const window = (Date.now() - loadStart) / 1000;
  processFigures(c, r, { cpu0, cpu1, peaks, consumerRss, delivered, window });
  const end = await c.runners().catch(() => []);
  const servers = c.servers.map((s) => `127.0.0.1:${s.port}`);
  r.balance.perServerAtEnd = spreadOf(end, servers).perServer;
}

/** Prints the report and writes its JSON (also when the time limit cuts the run short). */
function finish(r: ScaleReport, o: Options, t0: number): void {
  r.ok = r.errors.length === 0;
  r.loadAverage.end = loadavg();
  r.seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`\n${formatReport(r)}\n`);
  if (o.json) {
    writeFileSync(o.json, `${JSON.stringify(r, null, 2)}\n`);
    log(`JSON written to ${o.json}`);
  }
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const o = options();
  const dir = makeTempDir("bench-scale");
  const r: ScaleReport = {
    header: [
      `bench/scale: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), node ${process.version}`,
      `sluice processes run with ${deployDescription()}, as the deploy files set (docs/deploy.md)`,
      `load average at the start: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    ],
    options: { ...o, json: undefined },
    ok: false,
    errors: [],
    balance: { runnerChanges: 0 },
    streams: { count: o.streams, processes: Math.min(o.processes, o.streams) },
    load: { rate: o.rate, seconds: o.seconds, txRows: o.txRows },
    loadAverage: { start: loadavg(), end: [] },
    seconds: 0,
  };
  const limit = setTimeout(() => {
    log(`the bench ran past --time-limit ${o.timeLimitS} s: stopping (children are killed)`);
    r.errors.push(`ran past --time-limit ${o.timeLimitS} s`);
    finish(r, o, t0);
    process.exit(2);
  }, o.timeLimitS * 1000);
  limit.unref();
  let cluster: ScaleCluster | undefined;
  try {
    log(
      `starting MariaDB, ZooKeeper, the gateway and ${o.servers} servers of ${o.destinations} destinations`,
    );
    cluster = await startScaleCluster({
      dir,
      destinations: o.destinations,
      servers: o.servers,
      streams: o.streams,
      maxBytes: o.maxBytes,
    });
    await measure(cluster, o, r, dir);
  } catch (err) {
    r.errors.push((err as Error).message);
  } finally {
    await cluster?.stop();
  }
  finish(r, o, t0);
  if (r.ok && !o.keep) removeDir(dir);
  else log(`the processes' logs are kept in ${dir}`);
  return r.ok ? 0 : 1;
}

process.exitCode = await main();
