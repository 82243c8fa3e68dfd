// Relaying one call to the running server of a destination: route, call over the pooled
// connection with the consumer's epoch, and decide what a failure means.
//
// A unary call is tried again, on the destination's runner then, only when it surely did not
// take effect (RetryBudget says for how long):
// the server could not be reached (connection refused), or its error carries the NotApplied
// detail (src/contracts/not-applied.ts: it stands by, is starting, is stopping, or a cursor
// write failed). Any other failure is the client's to see; a broken connection mid-call is
// unavailable with the reason.
//
// A call still waiting for its runner's answer when the destination's runner changes (the
// runner froze and lost its session, or handed the destination over) is not left waiting:
// it is cut at once. A call whose effects lived only in the old runner's memory (Subscribe,
// Get, Rollback: gone with the destination there) is sent to the new runner; one that may
// have written a cursor (Ack, Unsubscribe) fails with unavailable, its outcome unknown.
import { type CallOptions, Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CLIENT_EPOCH_HEADER, formatClientEpoch } from "../contracts/client-epoch.js";
import { wasNotApplied } from "../contracts/not-applied.js";
import { relayError, unavailable } from "../protocol/index.js";
import { type Call, callOf } from "../protocol/pipeline.js";
import { linkSignals } from "../protocol/server/call-guard.js";
import type { Runner, RunnerTable } from "./runners.js";
import type { Upstream, UpstreamPool } from "./upstream.js";

/**
 * Whether a call may be sent to the new runner when the runner it was sent to lost the
 * destination before answering: "runner" when its effects live only in that runner's memory
 * (Subscribe, Get, Rollback), "durable" when it may have written a cursor (Ack, Unsubscribe).
 * "handover" is a call that moves the destination itself (ReleaseDestination): the runner
 * changes because of it, before it answers, so it is waited for and never cut.
 */
export type CallEffects = "runner" | "durable" | "handover";

export class Relay {
  constructor(
    readonly runners: RunnerTable,
    readonly upstream: UpstreamPool,
  ) {}

  /**
   * Call options for a relayed call: the caller's deadline and signal, the consumer's epoch
   * and the call's upstream headers (relayHeaders).
   */
  options(ctx: HandlerContext, epoch: bigint | undefined, signal: AbortSignal = ctx.signal): CallOptions {
    const timeoutMs = ctx.timeoutMs();
    const call = callOf(ctx);
    return {
      signal,
      ...(timeoutMs !== undefined ? { timeoutMs: Math.max(1, timeoutMs) } : {}),
      headers: call
        ? relayHeaders(call, epoch)
        : epoch !== undefined
          ? { [CLIENT_EPOCH_HEADER]: String(epoch) }
          : {},
    };
  }

  async unary<T>(
    destination: string,
    epoch: bigint | undefined,
    ctx: HandlerContext,
    effects: CallEffects,
    call: (u: Upstream, opts: CallOptions) => Promise<T>,
  ): Promise<T> {
    const budget = new RetryBudget(this.runners.holdMs);
    let retry: { epoch: bigint; pauseMs: number } | undefined;
    for (;;) {
      const runner = await this.runners.route(destination, ctx.signal, retry);
      const moved = new AbortController();
      const stopWatch =
        effects === "handover"
          ? () => {}
          : this.runners.onMoved(destination, runner, (next) => moved.abort(next));
      try {
        const opts = this.options(ctx, epoch, linkSignals(ctx.signal, moved.signal));
        return await call(this.upstream.get(runner.address), opts);
      } catch (err) {
        if (ctx.signal.aborted) throw relayError(err);
        const again = moved.signal.aborted ? effects === "runner" : notTakenEffect(err);
        const pauseMs = again ? budget.next(runner.epoch) : undefined;
        if (pauseMs !== undefined) {
          retry = { epoch: runner.epoch, pauseMs };
          continue;
        }
        if (moved.signal.aborted) {
          throw runnerChanged(destination, runner, moved.signal.reason as Runner | null, "the call");
        }
        throw upstreamError(err, runner, destination);
      } finally {
        stopWatch();
        // The call is over: let go of the listener linkSignals put on the call's signal, or
        // every attempt of a long retry would leave one behind.
        moved.abort();
      }
    }
  }
}

/** A stream opened on a runner, its first message read. */
export interface OpenedStream<M> {
  runner: Runner;
  first: IteratorResult<M>;
  rest: AsyncIterator<M>;
}

/**
 * Opens a stream on the destination's runner and reads its first message, opening it again
 * (as unary calls are sent again, within --hold) while the opening surely did not take effect:
 * the runner could not be reached (crashed, its session not expired yet), answered NotApplied
 * before its first message (it stands by, is starting or stopping), or lost the destination
 * before answering (froze). So a consumer that reopens its stream during a failover waits in
 * the gateway for the new runner instead of failing again and again.
 */
export async function openStream<M>(
  runners: RunnerTable,
  destination: string,
  signal: AbortSignal,
  open: (runner: Runner, signal: AbortSignal) => AsyncIterable<M>,
): Promise<OpenedStream<M>> {
  const budget = new RetryBudget(runners.holdMs);
  let retry: { epoch: bigint; pauseMs: number } | undefined;
  for (;;) {
    const runner = await runners.route(destination, signal, retry);
    const moved = new AbortController();
    const stopWatch = runners.onMoved(destination, runner, (next) => moved.abort(next));
    const rest = open(runner, linkSignals(signal, moved.signal))[Symbol.asyncIterator]();
    try {
      return { runner, first: await rest.next(), rest };
    } catch (err) {
      if (signal.aborted) throw err;
      const wasMoved = moved.signal.aborted;
      const reason = moved.signal.reason as Runner | null;
      // This attempt is over: let go of the listener linkSignals put on `signal`.
      moved.abort();
      const pauseMs = wasMoved || notTakenEffect(err) ? budget.next(runner.epoch) : undefined;
      if (pauseMs === undefined) {
        if (wasMoved) throw runnerChanged(destination, runner, reason, "the stream");
        throw upstreamError(err, runner, destination);
      }
      retry = { epoch: runner.epoch, pauseMs };
    } finally {
      stopWatch();
    }
  }
}

/**
 * How long the gateway keeps sending again a call that did not take effect: after pauses of
 * 25 ms doubling up to 100 ms, starting short again for each new runner, for at most `holdMs`
 * after the first such failure. Tried again on the same runner too: one that is starting
 * (40-340 ms after its election, measured), or waiting for ZooKeeper during a leader election,
 * serves again in a moment and keeps its running node meanwhile; waiting for another runner
 * would wait out the whole hold for nothing.
 */
export class RetryBudget {
  #firstAt: number | undefined;
  #retries = 0;
  #epoch: bigint | undefined;

  constructor(
    private readonly holdMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The pause before the next attempt, after one to the runner of `epoch` did not take effect;
   * undefined when the budget is spent.
   */
  next(epoch?: bigint): number | undefined {
    const now = this.now();
    this.#firstAt ??= now;
    if (now - this.#firstAt >= this.holdMs) return undefined;
    if (epoch !== this.#epoch) {
      this.#epoch = epoch;
      this.#retries = 0;
    }
    return Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** this.#retries++);
  }
}

const FIRST_PAUSE_MS = 25;
// 100 ms: a handover's goal is 0.5 s, and a starting runner answers in 40-340 ms; each waiting
// call costs a server at most ten refusals a second meanwhile.
const MAX_PAUSE_MS = 100;

/**
 * The error of a call or stream cut because the destination's runner changed under it. Retry
 * at once: the gateway already routes to the new runner, or holds a new call until one is
 * elected (--hold).
 */
export function runnerChanged(
  destination: string,
  from: Runner,
  to: Runner | null,
  what: "the call" | "the stream",
): ConnectError {
  const change = `the running server of destination ${destination} changed (${from.address} to ${to ? to.address : "none yet, election in progress"})`;
  return unavailable(
    what === "the stream"
      ? `${change}; open the stream again: it resumes after the last acked batch`
      : `${change} while the call waited for its answer; whether it took effect is unknown`,
    0,
  );
}

/** W3C trace context headers. */
const TRACE_HEADERS = ["traceparent", "tracestate"];

/**
 * The headers every call the gateway makes to a server on behalf of `call` carries: the
 * consumer's hold epoch (consumer fencing, when the call has one) and the call's upstream
 * headers from its hooks (the tracing hook's span context, the gateway's proof and principal).
 * Without a tracing hook the caller's own trace context goes on unchanged, so that the
 * server's span joins its trace. Nothing else of the caller's headers goes on.
 */
export function relayHeaders(call: Call, epoch: bigint | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (epoch !== undefined) out[CLIENT_EPOCH_HEADER] = formatClientEpoch(epoch);
  const upstream = call.upstreamHeadersIfAny;
  if (upstream !== undefined) {
    for (const name in upstream) out[name] = upstream[name] as string;
    if (upstream.traceparent !== undefined) return out;
  }
  for (const name of TRACE_HEADERS) {
    const v = call.header(name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** True when the failed call surely did nothing on the server. */
export function notTakenEffect(err: unknown): boolean {
  const e = ConnectError.from(err);
  if (!e.isWireError) return causeCode(err) === "ECONNREFUSED";
  return wasNotApplied(e);
}

/** A server's error as the client should see it; transport failures become unavailable. */
export function upstreamError(err: unknown, runner: Runner, destination: string): ConnectError {
  const e = ConnectError.from(err);
  if (e.isWireError || e.code === Code.Canceled || e.code === Code.DeadlineExceeded) return relayError(err);
  return unavailable(
    `the connection to ${runner.address}, the running server of destination ${destination}, failed: ${e.rawMessage}`,
    500,
    err,
  );
}

function causeCode(err: unknown): string | undefined {
  let c: unknown = err;
  for (let i = 0; i < 5 && c && typeof c === "object"; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string") return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}
