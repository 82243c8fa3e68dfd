// The HTTP/JSON consumer of bench/delivery: what a user without a generated client writes,
// plain fetch() and Connect's JSON form (POST /sluice.v1.CanalService/<Method>, a JSON body):
// Subscribe, then Get, read every column value, Ack, until BENCH_ROWS row changes of
// BENCH_TABLES have come. A child process of run.ts (environment: consumer-env.ts), printing one
// ConsumerResult as its last line of stdout.
import { performance } from "node:perf_hooks";
import { type ConsumerResult, RunRecorder } from "./check.js";
import { readConsumerEnv } from "./consumer-env.js";

const env = readConsumerEnv();

interface JsonColumn {
  name?: string;
  value?: string;
  isNull?: boolean;
  omitted?: boolean;
}
interface JsonEntry {
  entryType?: string;
  header?: { schemaName?: string; tableName?: string };
  rowChange?: {
    eventType?: string;
    rowDatas?: { beforeColumns?: JsonColumn[]; afterColumns?: JsonColumn[] }[];
  };
}

async function call<T>(method: string, body: unknown, signal: AbortSignal): Promise<T> {
  const res = await fetch(`${env.url}/sluice.v1.CanalService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function main(): Promise<ConsumerResult> {
  const signal = AbortSignal.timeout(env.timeoutMs);
  const counted = new Set(env.tables);
  const recorder = new RunRecorder();
  const who = { destination: env.destination, clientId: env.clientId };
  let rows = 0;
  let batches = 0;
  let digest = 0;
  let first = 0;
  let last = 0;
  const cpu0 = process.cpuUsage();
  const { session } = await call<{ session: string }>("Subscribe", who, signal);
  process.stdout.write("subscribed\n");
  while (rows < env.rows) {
    const got = await call<{ batchId?: string; entries?: JsonEntry[] }>(
      "Get",
      { ...who, batchSize: env.batchSize, timeoutMs: 1000, session },
      signal,
    );
    if (!got.batchId) continue;
    if (first === 0) first = performance.now();
    batches++;
    for (const e of got.entries ?? []) {
      if (e.entryType !== "ENTRY_TYPE_ROWDATA" || !e.rowChange) continue;
      const table = e.header?.tableName ?? "";
      const kind = (e.rowChange.eventType ?? "").replace("EVENT_TYPE_", "").charAt(0);
      for (const rd of e.rowChange.rowDatas ?? []) {
        let id = Number.NaN;
        let d = 0;
        for (const columns of [rd.beforeColumns, rd.afterColumns]) {
          for (const c of columns ?? []) {
            if (c.omitted) continue;
            const v = c.value ?? "";
            d += v.length;
            if (c.name === "id") id = Number(v);
          }
        }
        if (!counted.has(table) || rows >= env.rows) continue;
        digest += d;
        recorder.add(table, kind, id);
        rows++;
      }
    }
    await call("Ack", { ...who, batchId: got.batchId, session }, signal);
    last = performance.now();
  }
  const used = process.cpuUsage(cpu0);
  return {
    ok: true,
    rows,
    batches,
    runs: recorder.runs,
    digest,
    seconds: (last - first) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
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
