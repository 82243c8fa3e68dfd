// A consumer of bench/delivery written as a user of the TypeScript client would write it:
// client.stream(), batch.rows() (flat rows), every value of every image read, batch.ack().
// A child process of run.ts, configured by environment (consumer-env.ts), printing one
// ConsumerResult as its last line of stdout.
//
// Modes: "throughput" stops after BENCH_ROWS row changes of BENCH_TABLES; "latency" does the
// same and also takes, per row, its receive time minus the commit time in its t_us column;
// "slow" acks each batch BENCH_ACK_DELAY_MS after it came and stops after BENCH_DURATION_MS;
// "catchup" is "throughput" that prints "acked N" (row changes counted so far) after each ack,
// so the bench knows when to stop (SIGSTOP) it.
import { performance } from "node:perf_hooks";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { type ConsumerResult, RunRecorder } from "./check.js";
import { readConsumerEnv } from "./consumer-env.js";

const env = readConsumerEnv();
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

async function main(): Promise<ConsumerResult> {
  const client = createSluiceClient({
    baseUrl: env.url,
    transport: env.transport === "grpc" ? "grpc" : "connect",
    httpVersion: env.transport === "grpc" ? "2" : "1.1",
  });
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new Error("time limit")), env.timeoutMs);
  // Slow mode ends after its duration, batches or not.
  const duration = env.mode === "slow" ? setTimeout(() => stop.abort("duration"), env.durationMs) : undefined;
  const counted = new Set(env.tables);
  const recorder = new RunRecorder();
  const latencies: number[] = [];
  let rows = 0;
  let batches = 0;
  let digest = 0;
  let first = 0;
  let last = 0;
  let subscriptions = 0;
  const retries: string[] = [];
  const cpu0 = process.cpuUsage();
  try {
    for await (const batch of client.stream({
      destination: env.destination,
      clientId: env.clientId,
      batchSize: env.batchSize,
      window: env.window,
      signal: stop.signal,
      onSubscribed: () => {
        if (++subscriptions === 1) process.stdout.write("subscribed\n");
      },
      onRetry: ({ error }) => {
        if (retries.length < 5) retries.push(`${error.code}: ${error.rawMessage}`);
      },
    })) {
      const received = nowUs();
      if (first === 0) first = performance.now();
      batches++;
      const before = recorder.mark();
      const counts = { rows, digest, latencies: latencies.length };
      for (const row of batch.rows()) {
        // Every value of both images, as a user's code would read them.
        let d = 0;
        for (const k in row.after) d += row.after[k]?.length ?? 0;
        for (const k in row.before) d += row.before[k]?.length ?? 0;
        const image = row.after ?? row.before;
        // Statements (DDL) come as rows without images.
        if (!image || !counted.has(row.table) || rows >= env.rows) continue;
        digest += d;
        recorder.add(row.table, row.type.charAt(0), Number(image.id));
        if (env.mode === "latency") latencies.push(received - Number(image.t_us));
        rows++;
      }
      if (env.mode === "slow") await new Promise((r) => setTimeout(r, env.ackDelayMs));
      if (!(await batch.ack())) {
        // The subscription ended under the batch (the client subscribes again by itself): its
        // rows come again from the durable cursor, so this delivery does not count.
        recorder.reset(before);
        ({ rows, digest } = counts);
        latencies.length = counts.latencies;
        continue;
      }
      last = performance.now();
      if (env.mode === "catchup") process.stdout.write(`acked ${rows}\n`);
      if (rows >= env.rows) break;
    }
    if (stop.signal.aborted && stop.signal.reason !== "duration")
      throw new Error(`time limit (${env.timeoutMs} ms) reached after ${rows} rows`);
  } finally {
    clearTimeout(timer);
    clearTimeout(duration);
  }
  const used = process.cpuUsage(cpu0);
  return {
    ok: true,
    rows,
    batches,
    runs: recorder.runs,
    digest,
    seconds: (last - first) / 1000,
    lastAckEpochMs: performance.timeOrigin + last,
    cpuSeconds: (used.user + used.system) / 1e6,
    subscriptions,
    retries,
    ...(env.mode === "latency" ? { latenciesUs: latencies } : {}),
  };
}

const result = await main().catch(
  (err: Error): ConsumerResult => ({
    ok: false,
    error: err.stack ?? String(err),
    rows: 0,
    batches: 0,
    runs: [],
    digest: 0,
    seconds: 0,
    cpuSeconds: 0,
  }),
);
process.stdout.write(`\n${JSON.stringify(result)}\n`, () => process.exit(result.ok ? 0 : 1));
