// bench/scale's report: what it prints, and (as JSON, --json) what the bench command reads.
export interface ScaleReport {
  header: string[];
  options: Record<string, unknown>;
  ok: boolean;
  /** What failed: a stream not exact, a consumer or process that died, a time limit. */
  errors: string[];
  balance: {
    /** From the servers' start until every destination had a runner / the spread was balanced. */
    allRunningS?: number;
    balancedS?: number;
    /** Destinations per server when every one first ran, when balanced, and at the end. */
    firstSpread?: Record<string, number>;
    perServer?: Record<string, number>;
    perServerAtEnd?: Record<string, number>;
    /** Runner changes seen while polling (handovers of the balancer). */
    runnerChanges: number;
  };
  streams: {
    count: number;
    processes: number;
    /** Consumers launched → every stream subscribed; first row written → every stream had it. */
    launchToAllSubscribedS?: number;
    seedToAllFirstS?: number;
  };
  load: {
    rate: number;
    seconds: number;
    txRows: number;
    achievedRate?: number;
    writeSeconds?: number;
    rowsPerDestination?: number;
    /** The writer's round trips (statements due together share one), mean and max ms. */
    queries?: number;
    queryMeanMs?: number;
    queryMaxMs?: number;
  };
  delivery?: {
    /** Rows acked over all streams (the first rows left out), and from the load's start to the last ack. */
    rows: number;
    seconds: number;
    rowsPerSec: number;
    /** Last ack minus the writer's end: how far behind the streams finished. */
    tailS: number;
    /** Batches acked over all streams (each an Ack call and a cursor write). */
    batches: number;
    /** Streams that subscribed more than once, and why (the first few reasons). */
    reopened: number;
    retries: string[];
    latencySamples: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    /** The same by 5 s of commit time (slices of the clock), each from its start in the load. */
    bySlice: Array<{ fromS: number; rows: number; p50Ms: number; p99Ms: number; maxMs: number }>;
  };
  gateway?: { cpuUsPerRow: number; cores: number; peakRssMB: number };
  servers?: Array<{
    name: string;
    address: string;
    destinations: number;
    cpuSeconds: number;
    cores: number;
    cpuUsPerRow: number;
    peakRssMB: number;
  }>;
  consumers?: { cpuUsPerRow: number; cores: number; peakRssMB: number };
  /** MariaDB's CPU (a binlog dump per destination), and the whole machine's busy cores (/proc/stat). */
  mariadb?: { cores: number };
  zookeeper?: { cores: number };
  machineBusyCores?: number;
  loadAverage: { start: number[]; end: number[] };
  seconds: number;
}

const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(1));
const f2 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(2));
const spread = (s: Record<string, number> | undefined) => (s ? Object.values(s).join("/") : "-");

export function formatReport(r: ScaleReport): string {
  const o = r.options;
  const out = [
    ...r.header,
    `${o.destinations} destinations on ${o.servers} servers, ${r.streams.count} streams through one gateway in ${r.streams.processes} consumer processes; load ${r.load.rate} rows/s for ${r.load.seconds} s in ${r.load.txRows}-row transactions`,
    "",
    "| step | seconds | |",
    "|---|---|---|",
    `| servers started → every destination running | ${f1(r.balance.allRunningS)} | per server ${spread(r.balance.firstSpread)} |`,
    `| servers started → balanced | ${f1(r.balance.balancedS)} | per server ${spread(r.balance.perServer)}; ${r.balance.runnerChanges} runner changes seen |`,
    `| consumers launched → every stream subscribed | ${f1(r.streams.launchToAllSubscribedS)} | |`,
    `| a first row written → every stream received it | ${f2(r.streams.seedToAllFirstS)} | |`,
    "",
  ];
  const d = r.delivery;
  if (d) {
    out.push(
      "| delivered rows/s (all streams) | batches (acks)/s | commit → consumer p50 / p99 / max ms | last ack after the writer's end s | writer rows/s | streams reopened |",
      "|---|---|---|---|---|---|",
      `| ${d.rowsPerSec.toFixed(0)} (${d.rows} rows in ${f1(d.seconds)} s) | ${(d.batches / d.seconds).toFixed(0)} | ${f1(d.p50Ms)} / ${f1(d.p99Ms)} / ${f1(d.maxMs)} (${d.latencySamples} rows) | ${f2(d.tailS)} | ${f1(r.load.achievedRate)} | ${d.reopened}${d.retries.length ? ` (${d.retries.join("; ")})` : ""} |`,
      `p50 / p99 / max ms by 5 s of commit time: ${d.bySlice.map((x) => `${x.fromS.toFixed(0)} s: ${f1(x.p50Ms)} / ${f1(x.p99Ms)} / ${f1(x.maxMs)}`).join("; ")}`,
      `the writer: ${r.load.queries} round trips to MariaDB, ${f1(r.load.queryMeanMs)} ms on average, ${f1(r.load.queryMaxMs)} at the most`,
      "",
      "| process | destinations | CPU µs per delivered row | cores used | peak RSS MB |",
      "|---|---|---|---|---|",
      `| gateway | - | ${f2(r.gateway?.cpuUsPerRow)} | ${f2(r.gateway?.cores)} | ${f1(r.gateway?.peakRssMB)} |`,
      ...(r.servers ?? []).map(
        (s) =>
          `| ${s.name} (${s.address}) | ${s.destinations} | ${f2(s.cpuUsPerRow)} | ${f2(s.cores)} | ${f1(s.peakRssMB)} |`,
      ),
      `| consumers (all ${r.streams.processes}; RSS: the largest) | - | ${f2(r.consumers?.cpuUsPerRow)} | ${f2(r.consumers?.cores)} | ${f1(r.consumers?.peakRssMB)} |`,
      `| mariadbd (${o.destinations} binlog dumps) | - | - | ${f2(r.mariadb?.cores)} | - |`,
      `| ZooKeeper (cursors) | - | - | ${f2(r.zookeeper?.cores)} | - |`,
      `| the whole machine (busy, /proc/stat; other work too) | - | - | ${f2(r.machineBusyCores)} | - |`,
      "",
      `destinations per server at the end: ${spread(r.balance.perServerAtEnd)}`,
    );
  }
  out.push(
    r.ok ? "every stream exact: its destination's rows, in order" : `FAILED:\n  ${r.errors.join("\n  ")}`,
    `load average ${r.loadAverage.start.map((x) => x.toFixed(2)).join(" ")} → ${r.loadAverage.end.map((x) => x.toFixed(2)).join(" ")}; whole run ${(r.seconds / 60).toFixed(1)} min`,
  );
  return out.join("\n");
}
