// Commit → consumer latency through the gateway: the bench writes rows at a steady rate into
// sbtest.lat, each carrying the time its statement ran on the source (NOW(6), in µs since the
// epoch, column t_us), and a TypeScript consumer takes, per row, the time its batch reached the
// loop body minus t_us (same machine, same clock). One server and gateway at the head for the
// whole phase; each measurement a fresh clientId.
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startMariaDB } from "../../test/harness/mariadb.js";
import { type ClientKind, launchConsumer } from "./consumers.js";
import { DESTINATION } from "./sluice-procs.js";
import { monotonicUs, type RunContext, startRunCluster } from "./throughput.js";

export interface LatencyOptions {
  rates: number[];
  seconds: number;
  /** Rows per transaction (one multi-row INSERT each). */
  txRows: number;
  clients: ClientKind[];
  rounds: number;
  /** Samples of the first second are left out (JIT and connection warm-up of the consumer). */
  warmupSeconds: number;
  /** Run server, gateway and consumer under `node --cpu-prof`, profiles in this directory. */
  profileDir?: string;
}

export interface LatencyRun {
  client: ClientKind;
  rate: number;
  round: number;
  ok: boolean;
  error?: string;
  rows: number;
  batches: number;
  /** Rows per second the writer achieved. */
  achievedRate: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpuUs: number;
  gatewayCpuUs: number;
  clientCpuUs: number;
  loadBefore: number;
  loadAfter: number;
  /** Profiled runs: as ThroughputRun's, from the first row written to the consumer's end. */
  windows?: Record<"server" | "gateway" | "client", [number, number]>;
  windowCpu?: Record<"server" | "gateway" | "client", number>;
}

const C = "12345678901-".repeat(10).slice(0, 119);
const PAD = "98765432109-".repeat(5).slice(0, 59);

/** Writes `rows` rows with ids from `firstId` at `rate` rows/s, `txRows` per transaction. */
async function writePaced(ctx: RunContext, firstId: number, rows: number, rate: number, txRows: number) {
  const t0 = performance.now();
  let sent = 0;
  while (sent < rows) {
    const due = Math.min(rows, Math.floor(((performance.now() - t0) / 1000) * rate));
    const txs = Math.floor((due - sent) / txRows) + (due === rows && due > sent ? 1 : 0);
    const statements: string[] = [];
    for (let t = 0; t < txs && sent < rows; t++) {
      const n = Math.min(txRows, rows - sent);
      const values = Array.from({ length: n }, (_, i) => {
        const id = firstId + sent + i;
        return `(${id},CAST(UNIX_TIMESTAMP(NOW(6))*1000000 AS SIGNED),${id % 1000},'${C}','${PAD}')`;
      });
      statements.push(`INSERT INTO sbtest.lat (id,t_us,k,c,pad) VALUES ${values.join(",")}`);
      sent += n;
    }
    if (statements.length > 0) await ctx.db.query(statements.join(";"));
    else await new Promise((r) => setTimeout(r, 2));
  }
  return (performance.now() - t0) / 1000;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export async function latencyPhase(benchCtx: RunContext, o: LatencyOptions, log: (s: string) => void) {
  // A MariaDB of its own: the rows written here never follow the dataset in its binlog, where
  // later throughput runs' servers would read them too.
  const db = await startMariaDB();
  const pid = db.process.child.pid as number;
  const ctx: RunContext = {
    ...benchCtx,
    db: { ...db, pid, query: (sql, params) => db.query(sql, params), stop: () => db.stop() },
  };
  await db.query(
    "CREATE DATABASE sbtest; CREATE TABLE sbtest.lat (id INT PRIMARY KEY, t_us BIGINT NOT NULL, " +
      "k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL)",
  );
  const runs: LatencyRun[] = [];
  const cluster = await startRunCluster(ctx, {
    gateway: true,
    tag: "latency",
    start: "head",
    ...(o.profileDir ? { profileDir: o.profileDir } : {}),
  }).catch(async (err: Error) => {
    await db.stop();
    throw err;
  });
  const { server, gateway } = cluster;
  if (!gateway) throw new Error("no gateway");
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const rate of o.rates) {
        for (const client of o.clients) {
          const run = await latencyRun(ctx, o, { client, rate, round, server, gateway });
          log(
            `latency ${client} ${rate} rows/s round ${round}: ${run.ok ? `p50 ${run.p50Ms.toFixed(1)} p99 ${run.p99Ms.toFixed(1)} max ${run.maxMs.toFixed(1)} ms` : `FAILED ${run.error}`} (load ${run.loadBefore.toFixed(1)})`,
          );
          runs.push(run);
        }
      }
    }
  } finally {
    await cluster.stop();
    await db.stop();
  }
  return runs;
}

async function latencyRun(
  ctx: RunContext,
  o: LatencyOptions,
  at: {
    client: ClientKind;
    rate: number;
    round: number;
    server: { cpuSeconds(): number };
    gateway: { url: string; cpuSeconds(): number };
  },
): Promise<LatencyRun> {
  const run: LatencyRun = {
    client: at.client,
    rate: at.rate,
    round: at.round,
    ok: false,
    rows: 0,
    batches: 0,
    achievedRate: 0,
    samples: 0,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    maxMs: Number.NaN,
    serverCpuUs: 0,
    gatewayCpuUs: 0,
    clientCpuUs: 0,
    loadBefore: loadavg()[0] as number,
    loadAfter: 0,
  };
  const [max] = await ctx.db.query<Array<{ m: number | null }>>("SELECT MAX(id) AS m FROM sbtest.lat");
  const firstId = Number(max?.m ?? 0) + 1;
  const rows = Math.round(at.rate * o.seconds);
  let subscribed!: () => void;
  const isSubscribed = new Promise<void>((r) => {
    subscribed = r;
  });
  const n = ctx.nextRun();
  const launched = launchConsumer(at.client, {
    dir: ctx.dir,
    name: `${n}-latency-${at.client}-${at.rate}`,
    url: at.gateway.url,
    config: {
      mode: "latency",
      destination: DESTINATION,
      clientId: `lat-${n}`,
      rows,
      tables: ["lat"],
      batchSize: ctx.batchSize,
      window: ctx.window,
      ackDelayMs: 0,
      durationMs: 0,
      timeoutMs: o.seconds * 1000 + 60_000,
    },
    onLine: (line) => {
      if (line === "subscribed") subscribed();
    },
    ...(o.profileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(o.profileDir, "client")}`] } : {}),
  });
  try {
    const started = await Promise.race([
      isSubscribed.then(() => true),
      launched.result.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(false), 30_000)),
    ]);
    if (!started) throw new Error("the consumer did not subscribe within 30 s");
    // The stream is open once the first message came; give the consumer a moment to settle.
    await new Promise((r) => setTimeout(r, 500));
    const cpu0 = [at.server.cpuSeconds(), at.gateway.cpuSeconds()] as const;
    const startAt = monotonicUs();
    const seconds = await writePaced(ctx, firstId, rows, at.rate, o.txRows);
    run.achievedRate = rows / seconds;
    const r = await launched.result;
    if (!r.ok) throw new Error(r.error ?? "failed");
    run.rows = r.rows;
    run.batches = r.batches;
    if (o.profileDir) {
      const endAt = monotonicUs();
      run.windows = { server: [startAt, endAt], gateway: [startAt, endAt], client: [startAt, endAt] };
      run.windowCpu = {
        server: at.server.cpuSeconds() - cpu0[0],
        gateway: at.gateway.cpuSeconds() - cpu0[1],
        client: r.cpuSeconds,
      };
    }
    const perRow = (s: number) => (r.rows > 0 ? (s * 1e6) / r.rows : 0);
    run.serverCpuUs = perRow(at.server.cpuSeconds() - cpu0[0]);
    run.gatewayCpuUs = perRow(at.gateway.cpuSeconds() - cpu0[1]);
    run.clientCpuUs = perRow(r.cpuSeconds);
    const want = JSON.stringify([["lat", "I", firstId, rows]]);
    if (r.rows !== rows || JSON.stringify(r.runs) !== want)
      throw new Error(
        `expected ids ${firstId}..${firstId + rows - 1} inserted in order, got ${JSON.stringify(r.runs).slice(0, 300)}`,
      );
    const lat = (r.latenciesUs ?? []).slice(Math.round(at.rate * o.warmupSeconds)).map((us) => us / 1000);
    lat.sort((a, b) => a - b);
    run.samples = lat.length;
    run.p50Ms = percentile(lat, 50);
    run.p99Ms = percentile(lat, 99);
    run.maxMs = lat[lat.length - 1] ?? Number.NaN;
    run.ok = true;
  } catch (err) {
    run.error = (err as Error).message;
    await launched.process.kill();
  }
  run.loadAfter = loadavg()[0] as number;
  return run;
}
