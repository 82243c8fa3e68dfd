// Throughput runs: every consumer reads the whole dataset (N row changes already in the binlog)
// from the first binlog file, on a server and gateway of its own (a fresh ZooKeeper root), and
// the bench checks the count, the id sequence and the values digest. The decode-only run reads
// the same binlog with the decoder's own reader (bench/decode/reader.ts).
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ZooKeeper } from "../../test/harness/zookeeper.js";
import type { Dataset, ReaderResult } from "../decode/common.js";
import { runMeasured } from "../decode/measure.js";
import type { ReaderConfig } from "../decode/reader.js";
import type { BenchServer } from "../decode/server.js";
import { compareRuns, type IdRun } from "./check.js";
import { type ConsumerSpec, label, launchConsumer } from "./consumers.js";
import {
  DESTINATION,
  destinationRunning,
  quiet,
  type SluiceProcess,
  startGateway,
  startServer,
} from "./sluice-procs.js";

export interface RunContext {
  dir: string;
  zk: ZooKeeper;
  db: BenchServer;
  ds: Dataset;
  expected: IdRun[];
  tables: string[];
  maxBytes: number;
  batchSize: number;
  jsonBatchSize: number;
  window: number;
  goBinary?: string;
  timeoutMs: number;
  /** CPU seconds a server uses to start and take the destination with nothing to read. */
  serverStartCpu: number;
  /** Numbers ZooKeeper roots and log files. */
  nextRun(): number;
}

export interface ThroughputRun {
  consumer: string;
  round: number;
  ok: boolean;
  error?: string;
  rows: number;
  batches: number;
  /** First batch received to last ack answered. */
  seconds: number;
  rowsPerSec: number;
  /** CPU µs per delivered row. Server: from its start, less serverStartCpu (see run.ts). */
  clientCpuUs: number;
  serverCpuUs: number;
  /** Of the server's: what it spent filling its store before the consumer started. */
  serverPrefillCpuUs: number;
  gatewayCpuUs?: number;
  serverPeakRssMB: number;
  digest: number;
  loadBefore: number;
  loadAfter: number;
  /**
   * Profiled runs: per process, the CLOCK_MONOTONIC µs (V8's profile clock) from which its
   * samples count (server and gateway: ready, module loading done; client: subscribed) to the
   * consumer's end.
   */
  windows?: Record<"server" | "gateway" | "client", [number, number]>;
  /** Profiled runs: CPU seconds each process used in its window (/proc; the client's own). */
  windowCpu?: Record<"server" | "gateway" | "client", number>;
  /** The TypeScript consumer's subscriptions (more than 1: its stream was ended and reopened). */
  subscriptions?: number;
  retries?: string[];
}

/** CLOCK_MONOTONIC in µs: the clock of V8's CPU profiles. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export interface DecodeRun {
  round: number;
  ok: boolean;
  error?: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  cpuUsPerRow: number;
  loadBefore: number;
  loadAfter: number;
}

/** The server (and gateway) of one run, started and ready, the store full. */
export async function startRunCluster(
  ctx: RunContext,
  opts: { gateway: boolean; tag: string; start: "dataset" | "head"; profileDir?: string },
): Promise<{ server: SluiceProcess; gateway?: SluiceProcess; stop(): Promise<void> }> {
  const n = ctx.nextRun();
  const zkRoot = `/bench-delivery-${process.pid}-${n}`;
  const common = { dir: ctx.dir, zk: ctx.zk, zkRoot };
  const prof = (who: string) =>
    opts.profileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(opts.profileDir, who)}`] } : {};
  const [server, gateway] = await Promise.all([
    startServer({
      ...common,
      ...prof("server"),
      name: `${n}-${opts.tag}-server`,
      sourceUrl: ctx.db.sourceUrl,
      start: opts.start === "dataset" ? ctx.ds.start : undefined,
      maxBytes: ctx.maxBytes,
    }),
    opts.gateway
      ? startGateway({ ...common, ...prof("gateway"), name: `${n}-${opts.tag}-gateway` })
      : undefined,
  ]);
  const stop = async () => {
    await Promise.all([server.stop(), gateway?.stop()]);
  };
  try {
    await destinationRunning(gateway ?? server);
  } catch (err) {
    await stop();
    throw err;
  }
  return { server, ...(gateway ? { gateway } : {}), stop };
}

/** Samples a process's RSS every 250 ms; stop() returns the peak and the samples (MB). */
export function sampleRss(p: SluiceProcess): { stop(): { peakMB: number; samplesMB: number[] } } {
  const samples: number[] = [];
  const take = () => {
    const b = p.rssBytes();
    if (Number.isFinite(b)) samples.push(b / 1e6);
  };
  take();
  const timer = setInterval(take, 250);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakMB: Math.max(0, ...samples), samplesMB: samples };
    },
  };
}

/** One consumer reads the dataset. With profileDir, every node process runs under --cpu-prof. */
export async function throughputRun(
  ctx: RunContext,
  spec: ConsumerSpec,
  round: number,
  profileDir?: string,
): Promise<ThroughputRun> {
  const loadBefore = loadavg()[0] as number;
  const run: ThroughputRun = {
    consumer: label(spec),
    round,
    ok: false,
    rows: 0,
    batches: 0,
    seconds: 0,
    rowsPerSec: 0,
    clientCpuUs: 0,
    serverCpuUs: 0,
    serverPrefillCpuUs: 0,
    serverPeakRssMB: 0,
    digest: 0,
    loadBefore,
    loadAfter: 0,
  };
  const cluster = await startRunCluster(ctx, {
    gateway: spec.path === "gateway",
    tag: label(spec).replace(":", "-"),
    start: "dataset",
    ...(profileDir ? { profileDir } : {}),
  });
  try {
    const { server, gateway } = cluster;
    const readyAt = monotonicUs();
    const readyCpu = [server.cpuSeconds(), gateway?.cpuSeconds() ?? 0] as const;
    let subscribedAt = 0;
    // The server fills its store from the binlog as soon as it runs the destination: let it
    // finish, so every consumer starts against the same full store.
    const serverCpuQuiet = await quiet(server);
    const gatewayCpu0 = gateway?.cpuSeconds();
    const rss = sampleRss(server);
    const launched = launchConsumer(spec.client, {
      dir: ctx.dir,
      name: `${ctx.nextRun()}-${label(spec).replace(":", "-")}-consumer`,
      url: (gateway ?? server).url,
      config: {
        mode: "throughput",
        destination: DESTINATION,
        clientId: `bench-${spec.client}`,
        rows: ctx.ds.rows,
        tables: ctx.tables,
        batchSize: spec.client === "json" ? ctx.jsonBatchSize : ctx.batchSize,
        window: ctx.window,
        ackDelayMs: 0,
        durationMs: 0,
        timeoutMs: ctx.timeoutMs,
      },
      ...(ctx.goBinary ? { goBinary: ctx.goBinary } : {}),
      ...(profileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, "client")}`] } : {}),
      onLine: (line) => {
        if (line === "subscribed" && subscribedAt === 0) subscribedAt = monotonicUs();
      },
    });
    const r = await launched.result;
    const endAt = monotonicUs();
    if (profileDir) {
      run.windows = { server: [readyAt, endAt], gateway: [readyAt, endAt], client: [subscribedAt, endAt] };
      run.windowCpu = {
        server: server.cpuSeconds() - readyCpu[0],
        gateway: (gateway?.cpuSeconds() ?? 0) - readyCpu[1],
        client: r.cpuSeconds,
      };
    }
    if (r.subscriptions !== undefined) run.subscriptions = r.subscriptions;
    if (r.retries?.length) run.retries = r.retries;
    const serverCpu = server.cpuSeconds();
    const gatewayCpu = gateway?.cpuSeconds();
    run.serverPeakRssMB = rss.stop().peakMB;
    run.rows = r.rows;
    run.batches = r.batches;
    run.seconds = r.seconds;
    run.digest = r.digest;
    run.rowsPerSec = r.seconds > 0 ? r.rows / r.seconds : 0;
    const perRow = (s: number) => (r.rows > 0 ? (s * 1e6) / r.rows : 0);
    run.clientCpuUs = perRow(r.cpuSeconds);
    run.serverCpuUs = perRow(serverCpu - ctx.serverStartCpu);
    run.serverPrefillCpuUs = perRow(serverCpuQuiet - ctx.serverStartCpu);
    if (gatewayCpu !== undefined && gatewayCpu0 !== undefined)
      run.gatewayCpuUs = perRow(gatewayCpu - gatewayCpu0);
    run.error = r.ok ? verify(ctx, r.rows, r.runs) : r.error;
    run.ok = run.error === undefined;
  } catch (err) {
    run.error = (err as Error).message;
  } finally {
    await cluster.stop();
    run.loadAfter = loadavg()[0] as number;
  }
  return run;
}

/** Undefined when the consumer got exactly the dataset's rows in order, else what is wrong. */
function verify(ctx: RunContext, rows: number, runs: IdRun[]): string | undefined {
  if (rows !== ctx.ds.rows) return `counted ${rows} row changes, the binlog holds ${ctx.ds.rows}`;
  const wrong = compareRuns(ctx.expected, runs);
  return wrong ? `ids out of sequence: ${wrong}` : undefined;
}

const READER = fileURLToPath(new URL("../decode/reader.js", import.meta.url));

/** The decoder's own reader over the same binlog range, in a child process (as bench/decode). */
export async function decodeRun(ctx: RunContext, round: number): Promise<DecodeRun> {
  const loadBefore = loadavg()[0] as number;
  const cfg: ReaderConfig = {
    reader: "sluice",
    sourceUrl: ctx.db.sourceUrl,
    start: ctx.ds.start,
    end: ctx.ds.end,
    timeoutMs: ctx.timeoutMs,
  };
  const m = await runMeasured(process.execPath, [READER, JSON.stringify(cfg)], {
    timeoutMs: ctx.timeoutMs + 10_000,
    captureStdout: true,
    serverPid: ctx.db.pid,
    tmpDir: ctx.dir,
  });
  const line = m.stdout.trim().split("\n").pop() ?? "";
  let res: ReaderResult | undefined;
  try {
    res = JSON.parse(line) as ReaderResult;
  } catch {
    res = undefined;
  }
  const rows = res?.rows ?? 0;
  const error = !res
    ? `the reader printed no result (exit ${m.exit}): ${m.stderr.slice(-500)}`
    : !res.ok
      ? res.error
      : rows !== ctx.ds.rows
        ? `counted ${rows} row changes, the binlog holds ${ctx.ds.rows}`
        : undefined;
  const cpu = res ? res.cpuUser + res.cpuSystem : 0;
  return {
    round,
    ok: error === undefined,
    ...(error ? { error } : {}),
    rows,
    seconds: res?.seconds ?? 0,
    rowsPerSec: res && res.seconds > 0 ? rows / res.seconds : 0,
    cpuUsPerRow: rows > 0 ? (cpu * 1e6) / rows : 0,
    loadBefore,
    loadAfter: loadavg()[0] as number,
  };
}
