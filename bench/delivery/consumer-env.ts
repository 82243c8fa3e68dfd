// How run.ts configures a consumer child: environment variables (the Go and Python consumers
// read the same ones). consumerEnv() writes them, readConsumerEnv() reads them back.

export type ConsumerMode = "throughput" | "latency" | "slow" | "catchup";

export interface ConsumerConfig {
  mode: ConsumerMode;
  /** http://127.0.0.1:PORT (TypeScript, JSON) or 127.0.0.1:PORT (Go, Python). */
  url: string;
  /** TypeScript client's protocol: "grpc" (HTTP/2) or "connect" (HTTP/1.1, binary). */
  transport: "grpc" | "connect";
  destination: string;
  clientId: string;
  /** Stop after this many row changes of `tables` (throughput, latency and catch-up modes). */
  rows: number;
  /** Tables whose row changes are counted and checked (others are read, not counted). */
  tables: string[];
  batchSize: number;
  window: number;
  /** Slow mode: wait this long before acking each batch, and stop after durationMs. */
  ackDelayMs: number;
  durationMs: number;
  /** The consumer gives up (and reports failure) after this long. */
  timeoutMs: number;
}

export function consumerEnv(c: ConsumerConfig): Record<string, string> {
  return {
    BENCH_MODE: c.mode,
    BENCH_URL: c.url,
    BENCH_TRANSPORT: c.transport,
    BENCH_DESTINATION: c.destination,
    BENCH_CLIENT_ID: c.clientId,
    BENCH_ROWS: String(c.rows),
    BENCH_TABLES: c.tables.join(","),
    BENCH_BATCH_SIZE: String(c.batchSize),
    BENCH_WINDOW: String(c.window),
    BENCH_ACK_DELAY_MS: String(c.ackDelayMs),
    BENCH_DURATION_MS: String(c.durationMs),
    BENCH_TIMEOUT_MS: String(c.timeoutMs),
  };
}

export function readConsumerEnv(e: NodeJS.ProcessEnv = process.env): ConsumerConfig {
  const need = (name: string): string => {
    const v = e[name];
    if (v === undefined || v === "") throw new Error(`${name} is not set`);
    return v;
  };
  const num = (name: string): number => {
    const n = Number(need(name));
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: a number, got ${e[name]}`);
    return n;
  };
  const mode = need("BENCH_MODE");
  if (mode !== "throughput" && mode !== "latency" && mode !== "slow" && mode !== "catchup")
    throw new Error(`BENCH_MODE: ${mode}?`);
  const transport = need("BENCH_TRANSPORT");
  if (transport !== "grpc" && transport !== "connect") throw new Error(`BENCH_TRANSPORT: ${transport}?`);
  return {
    mode,
    url: need("BENCH_URL"),
    transport,
    destination: need("BENCH_DESTINATION"),
    clientId: need("BENCH_CLIENT_ID"),
    rows: num("BENCH_ROWS"),
    tables: need("BENCH_TABLES").split(","),
    batchSize: num("BENCH_BATCH_SIZE"),
    window: num("BENCH_WINDOW"),
    ackDelayMs: num("BENCH_ACK_DELAY_MS"),
    durationMs: num("BENCH_DURATION_MS"),
    timeoutMs: num("BENCH_TIMEOUT_MS"),
  };
}
