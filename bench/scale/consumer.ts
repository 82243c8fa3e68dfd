// A consumer process of bench/scale: many streams of the TypeScript client (one client, so one
// HTTP/2 connection to the gateway, gRPC) in one Node process, each a (destination, clientId)
// pair written as a user would: client.stream(), batch.rows(), every value read, batch.ack().
// Configured by BENCH_SCALE_CONFIG (JSON, ConsumerConfig); prints "subscribed" when a stream
// first subscribes and "first" when it first receives rows (the bench counts them), and one
// ConsumerResult as its last line of stdout.
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { type IdRun, RunRecorder } from "../delivery/check.js";
import { type HistogramBuckets, histogramAt, LatencyHistogram } from "./histogram.js";

export interface ConsumerConfig {
  url: string;
  /** [destination, clientId] of each stream. */
  streams: Array<[string, string]>;
  /** Rows each stream must receive (ids 1 .. rowsEach of its destination's table t). */
  rowsEach: number;
  /** Rows with ids up to this are left out of the latencies (the consumers' warm-up). */
  warmIds: number;
  batchSize: number;
  window: number;
  timeoutMs: number;
}

export interface StreamResult {
  destination: string;
  clientId: string;
  rows: number;
  /** Batches acked (each one Ack through the gateway, a cursor written to ZooKeeper). */
  batches: number;
  /** The first runs of ids it acked (all of them unless something is wrong). */
  runs: IdRun[];
  subscriptions: number;
  retries: string[];
  /** When it acked its last row, ms since the epoch. */
  lastAckEpochMs: number;
  /** Sum of the lengths of every value of its acked rows: equal for every stream of a destination. */
  valueChars: number;
}

export interface ConsumerResult {
  ok: boolean;
  error?: string;
  streams: StreamResult[];
  /** Commit → receive, µs, of every acked row past warmIds. */
  latencyUs: HistogramBuckets;
  latencyMaxUs: number;
  /** The same by SLICE_MS of commit time: [slice's start, ms since the epoch; buckets; max]. */
  latencyBySlice: Array<[number, HistogramBuckets, number]>;
  /** The process's CPU (user + system) from its start to its last ack, as /proc counts it. */
  cpuSeconds: number;
}

/** Latencies are also kept by slices of this much commit time (is a lag steady, or a spell?). */
export const SLICE_MS = 5000;

/** Commit → receive of every row, in all and by the SLICE_MS its commit fell in. */
class Latencies {
  readonly all = new LatencyHistogram();
  readonly bySlice = new Map<number, LatencyHistogram>();

  add(commitUs: number, us: number): void {
    this.all.add(us);
    histogramAt(this.bySlice, Math.floor(commitUs / 1000 / SLICE_MS)).add(us);
  }
}

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

async function consume(
  client: ReturnType<typeof createSluiceClient>,
  c: ConsumerConfig,
  [destination, clientId]: [string, string],
  latency: Latencies,
  signal: AbortSignal,
): Promise<StreamResult> {
  const recorder = new RunRecorder();
  const r: StreamResult = {
    destination,
    clientId,
    rows: 0,
    batches: 0,
    runs: [],
    subscriptions: 0,
    retries: [],
    lastAckEpochMs: 0,
    valueChars: 0,
  };
  let first = true;
  for await (const batch of client.stream({
    destination,
    clientId,
    batchSize: c.batchSize,
    window: c.window,
    signal,
    onSubscribed: () => {
      if (++r.subscriptions === 1) process.stdout.write("subscribed\n");
    },
    onRetry: ({ error }) => {
      if (r.retries.length < 5) r.retries.push(`${error.code}: ${error.rawMessage}`);
    },
  })) {
    const received = nowUs();
    const before = recorder.mark();
    const rowsBefore = r.rows;
    const charsBefore = r.valueChars;
    const lat: Array<[number, number]> = [];
    for (const row of batch.rows()) {
      const image = row.after;
      if (!image || row.table !== "t") continue;
      const id = Number(image.id);
      // Every value read, as a user's code would.
      for (const k in image) r.valueChars += image[k]?.length ?? 0;
      recorder.add(row.table, row.type.charAt(0), id);
      if (id > c.warmIds) lat.push([Number(image.t_us), received - Number(image.t_us)]);
      r.rows++;
    }
    if (r.rows > rowsBefore && first) {
      first = false;
      process.stdout.write("first\n");
    }
    if (!(await batch.ack())) {
      // The subscription ended under the batch: its rows come again.
      recorder.reset(before);
      r.rows = rowsBefore;
      r.valueChars = charsBefore;
      continue;
    }
    r.batches++;
    for (const [commitUs, us] of lat) latency.add(commitUs, us);
    r.lastAckEpochMs = performance.timeOrigin + performance.now();
    if (r.rows >= c.rowsEach) break;
  }
  if (signal.aborted) throw new Error(`${destination}/${clientId}: time limit after ${r.rows} rows`);
  r.runs = recorder.runs.slice(0, 20);
  return r;
}

async function main(): Promise<ConsumerResult> {
  const c = JSON.parse(process.env.BENCH_SCALE_CONFIG ?? "") as ConsumerConfig;
  const client = createSluiceClient({ baseUrl: c.url, transport: "grpc" });
  const latency = new Latencies();
  const signal = AbortSignal.timeout(c.timeoutMs);
  // Every stream listens to it.
  setMaxListeners(0, signal);
  const streams = await Promise.all(c.streams.map((s) => consume(client, c, s, latency, signal)));
  const cpu = process.cpuUsage();
  return {
    ok: true,
    streams,
    latencyUs: latency.all.buckets(),
    latencyMaxUs: latency.all.max,
    latencyBySlice: [...latency.bySlice.entries()].map(([slice, h]) => [
      slice * SLICE_MS,
      h.buckets(),
      h.max,
    ]),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

const result = await main().catch(
  (err: Error): ConsumerResult => ({
    ok: false,
    error: err.stack ?? String(err),
    streams: [],
    latencyUs: [],
    latencyMaxUs: Number.NaN,
    latencyBySlice: [],
    cpuSeconds: 0,
  }),
);
process.stdout.write(`\n${JSON.stringify(result)}\n`, () => process.exit(result.ok ? 0 : 1));
