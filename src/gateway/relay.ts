// Relaying one call to the running server of a destination: route, call over the pooled
// connection with the consumer's epoch, and decide what a failure means.
//
// A unary call is tried again, on the destination's runner then, only when it surely did not
// take effect (RetryBudget says for how long):
// the server could not be reached (connection refused), or its error carries the NotApplied
// detail (src/contracts/not-applied.ts: it stands by, is starting, is stopping, or a cursor
// write failed). Any other failure is the client's to see; a broken connection mid-call is
// unavailable with the reason.
import { type CallOptions, Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CLIENT_EPOCH_HEADER, formatClientEpoch } from "../contracts/client-epoch.js";
import { wasNotApplied } from "../contracts/not-applied.js";
import { relayError, unavailable } from "../protocol/index.js";
import { type Call, callOf } from "../protocol/pipeline.js";
import type { Runner, RunnerTable } from "./runners.js";
import type { Upstream, UpstreamPool } from "./upstream.js";

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
    call: (u: Upstream, opts: CallOptions) => Promise<T>,
  ): Promise<T> {
    const budget = new RetryBudget(this.runners.holdMs);
    let retry: { epoch: bigint; pauseMs: number } | undefined;
    for (;;) {
      const runner = await this.runners.route(destination, ctx.signal, retry);
      try {
        return await call(this.upstream.get(runner.address), this.options(ctx, epoch));
      } catch (err) {
        if (ctx.signal.aborted) throw relayError(err);
        const pauseMs = notTakenEffect(err) ? budget.next() : undefined;
        if (pauseMs !== undefined) {
          retry = { epoch: runner.epoch, pauseMs };
          continue;
        }
        throw upstreamError(err, runner, destination);
      }
    }
  }
}

/**
 * How long the gateway keeps sending again a call that did not take effect: after pauses of
 * 50 ms doubling up to 500 ms (or sooner when the runner changes), for at most `holdMs` after
 * the first such failure. Tried again on the same runner too: one that is starting, or waiting
 * for ZooKeeper during a leader election, serves again in a moment and keeps its running node
 * meanwhile; waiting for another runner would wait out the whole hold for nothing.
 */
export class RetryBudget {
  #firstAt: number | undefined;
  #retries = 0;

  constructor(
    private readonly holdMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The pause before the next attempt, or undefined when the budget is spent. */
  next(): number | undefined {
    const now = this.now();
    this.#firstAt ??= now;
    if (now - this.#firstAt >= this.holdMs) return undefined;
    return Math.min(500, 50 * 2 ** this.#retries++);
  }
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
