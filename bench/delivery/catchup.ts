// Catch-up: a consumer stopped while N row changes are written, then let go. A MariaDB of its
// own (its rows never reach the other phases' servers), a server and gateway at its head, a
// TypeScript consumer (gRPC, through the gateway) that subscribes and acks the workload's first
// statements; then the consumer is frozen with SIGSTOP while the rest of the workload is
// written (bench/decode/generate.ts's writer, the same plan as the dataset's), for 10 s at the
// least and until the server has stopped reading (store full, or the binlog's end). SIGSTOP because
// that is what a stuck consumer is to the server: its connections stay open, it reads nothing
// and answers nothing (not even HTTP/2 PINGs), its window of batches stays unacked: a process
// blocked on its own sink, paused in a debugger or swapped out. The server cannot tell it from
// a slow one and must neither lose its rows nor grow: its RSS is sampled against
// store.maxBytes + 100 MB. Then SIGCONT, and the consumer reads to the last row: rows/s from
// the SIGCONT to its last ack, the count and the id sequence checked against the plan.
import { loadavg } from "node:os";
import {
  createSchema,
  DEFAULT_MAX_BINLOG_SIZE,
  DEFAULT_WIDE_EVERY,
  planWorkload,
  writeStatements,
} from "../decode/generate.js";
import { startFreshServer } from "../decode/server.js";
import { compareRuns, expectedRuns } from "./check.js";
import { type Launched, launchConsumer } from "./consumers.js";
import { DESTINATION, quiet, type SluiceProcess } from "./sluice-procs.js";
import { type RunContext, sampleRss, startRunCluster } from "./throughput.js";

export interface CatchupOptions {
  /** Row changes written in all (rounded up to whole rounds of 1000, as the workload plans). */
  rows: number;
  /** The consumer's time limit, ms (it is frozen for part of it). */
  timeoutMs: number;
}

export interface CatchupRun {
  ok: boolean;
  error?: string;
  /** Row changes written: acked before the stop, and written while the consumer was stopped. */
  rows: number;
  warmRows: number;
  stoppedRows: number;
  /** Writing the stoppedRows, and the whole time the consumer was stopped. */
  writeSeconds: number;
  stoppedSeconds: number;
  /** Server RSS: peak while the consumer was stopped, and during the catch-up (MB). */
  serverPeakStoppedMB: number;
  serverPeakCatchupMB: number;
  /** store.maxBytes + 100 MB, issue 20's bound. */
  limitMB: number;
  gatewayPeakMB: number;
  /** SIGCONT to the last ack answered. */
  catchupSeconds: number;
  rowsPerSec: number;
  /** CPU µs per caught-up row over the catch-up. */
  serverCpuUs: number;
  gatewayCpuUs: number;
  clientCpuUs: number;
  /** Subscriptions the consumer's stream made (more than 1: reopened, e.g. after the stop). */
  subscriptions?: number;
  retries?: string[];
  loadBefore: number;
  loadAfter: number;
}

/** The first statements of the plan, acked before the consumer is stopped: one round, 1000 rows. */
const WARM_STATEMENTS = 10;
const RSS_HEADROOM_MB = 100;
/**
 * The consumer stays stopped at least this long, however fast the rows are written: long enough
 * for its HTTP/2 PINGs to go unanswered and for the server to fill its store.
 */
const MIN_STOPPED_MS = 10_000;

export async function catchupRun(
  benchCtx: RunContext,
  o: CatchupOptions,
  log: (s: string) => void,
): Promise<CatchupRun> {
  const plan = planWorkload(o.rows, DEFAULT_WIDE_EVERY);
  const run: CatchupRun = {
    ok: false,
    rows: plan.length * 100,
    warmRows: WARM_STATEMENTS * 100,
    stoppedRows: (plan.length - WARM_STATEMENTS) * 100,
    writeSeconds: 0,
    stoppedSeconds: 0,
    serverPeakStoppedMB: 0,
    serverPeakCatchupMB: 0,
    limitMB: benchCtx.maxBytes / 1e6 + RSS_HEADROOM_MB,
    gatewayPeakMB: 0,
    catchupSeconds: 0,
    rowsPerSec: 0,
    serverCpuUs: 0,
    gatewayCpuUs: 0,
    clientCpuUs: 0,
    loadBefore: loadavg()[0] as number,
    loadAfter: 0,
  };
  const db = await startFreshServer({ maxBinlogSize: DEFAULT_MAX_BINLOG_SIZE, keepDataDir: false });
  const ctx: RunContext = { ...benchCtx, db };
  let cluster: Awaited<ReturnType<typeof startRunCluster>> | undefined;
  let consumer: Launched | undefined;
  try {
    cluster = await startRunCluster(ctx, { gateway: true, tag: "catchup", start: "head" });
    const { server, gateway } = cluster;
    if (!gateway) throw new Error("no gateway");
    await createSchema(db);
    let acked = 0;
    let subscribed = false;
    consumer = launchConsumer("ts-grpc", {
      dir: ctx.dir,
      name: `${ctx.nextRun()}-catchup-consumer`,
      url: gateway.url,
      config: {
        mode: "catchup",
        destination: DESTINATION,
        clientId: "catchup",
        rows: run.rows,
        tables: ctx.tables,
        batchSize: ctx.batchSize,
        window: ctx.window,
        ackDelayMs: 0,
        durationMs: 0,
        timeoutMs: o.timeoutMs,
      },
      onLine: (line) => {
        if (line === "subscribed") subscribed = true;
        else if (line.startsWith("acked ")) acked = Number(line.slice(6));
      },
    });
    const died = consumer.result.then((r) => `the consumer ended early: ${r.error ?? "no error"}`);
    await until(() => subscribed, died, 30_000, "the consumer to subscribe");
    await writeStatements(db, plan.slice(0, WARM_STATEMENTS));
    await until(() => acked >= run.warmRows, died, 30_000, `the consumer to ack ${run.warmRows} rows`);
    consumer.process.pause();
    const stoppedAt = Date.now();
    log(
      `catch-up: consumer stopped after ${acked} rows; writing ${run.stoppedRows.toLocaleString("en-US")} more`,
    );
    const serverRss = sampleRss(server);
    const gatewayRss = sampleRss(gateway);
    run.writeSeconds = (await timed(() => writeStatements(db, plan.slice(WARM_STATEMENTS)))) / 1000;
    // The server reads on until its store is full (or the binlog's end): its memory then.
    await quiet(server, 120_000);
    const left = stoppedAt + MIN_STOPPED_MS - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    run.serverPeakStoppedMB = serverRss.stop().peakMB;
    run.stoppedSeconds = (Date.now() - stoppedAt) / 1000;
    log(
      `catch-up: written in ${run.writeSeconds.toFixed(1)} s; server peak RSS ${run.serverPeakStoppedMB.toFixed(0)} MB while stopped; resuming`,
    );
    const r = await resume(consumer, server, gateway, run);
    run.gatewayPeakMB = gatewayRss.stop().peakMB;
    if (!r.ok) throw new Error(`the consumer failed: ${r.error}`);
    const wrong =
      r.rows !== run.rows
        ? `counted ${r.rows} row changes, ${run.rows} were written`
        : compareRuns(expectedRuns(plan, 100), r.runs);
    if (wrong) throw new Error(`ids out of sequence: ${wrong}`);
    run.ok = true;
  } catch (err) {
    run.error = (err as Error).message;
  } finally {
    consumer?.process.resume();
    await consumer?.process.kill();
    await cluster?.stop();
    await db.stop();
    run.loadAfter = loadavg()[0] as number;
  }
  return run;
}

/** SIGCONT, then the consumer reads to the end; fills the catch-up figures of `run`. */
async function resume(consumer: Launched, server: SluiceProcess, gateway: SluiceProcess, run: CatchupRun) {
  const rss = sampleRss(server);
  const cpu0 = [server.cpuSeconds(), gateway.cpuSeconds()] as const;
  const resumedAt = Date.now();
  consumer.process.resume();
  const r = await consumer.result;
  run.serverPeakCatchupMB = rss.stop().peakMB;
  run.catchupSeconds = ((r.lastAckEpochMs ?? Date.now()) - resumedAt) / 1000;
  const caughtUp = run.stoppedRows;
  const perRow = (s: number) => (s * 1e6) / caughtUp;
  run.rowsPerSec = run.catchupSeconds > 0 ? caughtUp / run.catchupSeconds : 0;
  run.serverCpuUs = perRow(server.cpuSeconds() - cpu0[0]);
  run.gatewayCpuUs = perRow(gateway.cpuSeconds() - cpu0[1]);
  // The consumer's own CPU counts from its subscription: the warm rows are a rounding error.
  run.clientCpuUs = perRow(r.cpuSeconds);
  if (r.subscriptions !== undefined) run.subscriptions = r.subscriptions;
  if (r.retries?.length) run.retries = r.retries;
  return r;
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await f();
  return Date.now() - t0;
}

/** Polls `cond` every 20 ms; fails when `died` settles first or after timeoutMs. */
async function until(cond: () => boolean, died: Promise<string>, timeoutMs: number, what: string) {
  let gone: string | undefined;
  void died.then((why) => {
    gone = why;
  });
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (gone) throw new Error(gone);
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
