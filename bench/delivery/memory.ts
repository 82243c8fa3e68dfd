// Server memory with a slow consumer: the dataset waits in the binlog, a TypeScript consumer
// streams it through the gateway but acks each batch only after a delay, and the bench samples
// the server's RSS every 250 ms against store.maxBytes + 100 MB. A second scenario adds a fast
// consumer of the same destination, which moves the shared store on while the slow one lags
// (it is then moved to a catch-up reader of its own: docs/api.md, "Falling behind").
import { loadavg } from "node:os";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { type Launched, launchConsumer } from "./consumers.js";
import { DESTINATION } from "./sluice-procs.js";
import { type RunContext, sampleRss, startRunCluster } from "./throughput.js";

export interface MemoryOptions {
  seconds: number;
  ackDelayMs: number;
  batchSize: number;
}

export interface MemoryRun {
  scenario: "slow" | "slow + fast";
  ok: boolean;
  error?: string;
  peakMB: number;
  /** The largest sample of each second, MB. */
  perSecondMB: number[];
  /** Rows the slow (and the fast) consumer acked. */
  slowRows: number;
  fastRows?: number;
  load: number;
}

export async function memoryRun(
  ctx: RunContext,
  o: MemoryOptions,
  scenario: MemoryRun["scenario"],
): Promise<MemoryRun> {
  const run: MemoryRun = {
    scenario,
    ok: false,
    peakMB: 0,
    perSecondMB: [],
    slowRows: 0,
    load: loadavg()[0] as number,
  };
  const cluster = await startRunCluster(ctx, { gateway: true, tag: "memory", start: "dataset" });
  const { server, gateway } = cluster;
  let fast: Launched | undefined;
  try {
    const rss = sampleRss(server);
    const consumer = (kind: "slow" | "fast") =>
      launchConsumer("ts-grpc", {
        dir: ctx.dir,
        name: `${ctx.nextRun()}-memory-${kind}`,
        url: (gateway ?? server).url,
        config: {
          // Both stop after the same time; the fast one acks at once.
          mode: "slow",
          destination: DESTINATION,
          clientId: `memory-${kind}`,
          rows: ctx.ds.rows,
          tables: ctx.tables,
          batchSize: kind === "slow" ? o.batchSize : ctx.batchSize,
          window: ctx.window,
          ackDelayMs: kind === "slow" ? o.ackDelayMs : 0,
          durationMs: o.seconds * 1000,
          timeoutMs: o.seconds * 1000 + 30_000,
        },
      });
    // Only a destination's first client starts where its configuration says; the others at the
    // head. Both start at the dataset's beginning.
    const admin = createSluiceClient({ baseUrl: server.url }).admin;
    for (const kind of ["slow", "fast"]) {
      await admin.setCursor({
        destination: DESTINATION,
        clientId: `memory-${kind}`,
        target: { case: "reset", value: true },
      });
    }
    const slow = consumer("slow");
    if (scenario === "slow + fast") fast = consumer("fast");
    const r = await slow.result;
    const samples = rss.stop().samplesMB;
    // Samples are 250 ms apart: four to a second.
    for (let i = 0; i < samples.length; i += 4) run.perSecondMB.push(Math.max(...samples.slice(i, i + 4)));
    run.peakMB = Math.max(0, ...samples);
    run.slowRows = r.rows;
    if (fast) run.fastRows = (await fast.result).rows;
    if (!r.ok) throw new Error(`the slow consumer failed: ${r.error}`);
    run.ok = true;
  } catch (err) {
    run.error = (err as Error).message;
  } finally {
    await fast?.process.kill();
    await cluster.stop();
  }
  return run;
}
