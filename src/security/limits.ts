// Limits per client, as a hook of the call pipeline (src/protocol/pipeline.ts): on a server and
// on a gateway, on every protocol and path, before anything acts on the call. A client (see
// limit-client.ts: the authenticated principal, else the peer's IP address) may
// - start `rate` calls a second on average, `burst` at once after a quiet spell (a token
//   bucket; one token per call, a stream's opening included);
// - have `calls` unary calls in flight at once (a long-polling Get counts while it waits);
// - have `streams` streams open at once.
// A call over a limit is refused with resource_exhausted before it does anything (the rate's
// refusal says when a call would pass: retry-after-ms), and counted in the
// sluice.limits.refused metric. The bounds on what is in flight are what keeps one client's
// flood from starving the others: every queue a call can wait in behind other clients' calls
// (the event loop, a ZooKeeper session, the file store's fsyncs, a server's connection from a
// gateway) holds at most `calls` + `streams` of any one client's. docs/security.md, "Limits".
import { createNoopMeter, type Meter } from "@opentelemetry/api";
import { resourceExhausted } from "../protocol/errors.js";
import type { Call, CallHook } from "../protocol/pipeline.js";
import { type LimitClient, limitClientOf } from "./limit-client.js";
import { TokenBucket } from "./token-bucket.js";

export interface Limits {
  /** Streams a client may have open at once. */
  readonly streams: number;
  /** Unary calls a client may have in flight at once. */
  readonly calls: number;
  /** Calls a client may start a second, on average. */
  readonly rate: number;
  /** Calls a client may start at once after a quiet spell (the token bucket's size). */
  readonly burst: number;
}

/**
 * Room for any one consumer and for the benchmarks (bench/gateway's sequential Gets reach about
 * 4,000 a second from one client), small enough that one client cannot fill a process's queues.
 */
export const DEFAULT_LIMITS: Limits = { streams: 100, calls: 100, rate: 10_000, burst: 20_000 };

/** How often clients with nothing open and a full bucket are forgotten. */
const SWEEP_MS = 10_000;

export interface LimitsHookOptions {
  /** Where sluice.limits.refused is counted; default nowhere. */
  meter?: Meter;
  /** The client of a call (default limit-client.ts); undefined: not limited. */
  clientOf?: (call: Call) => LimitClient | undefined;
  /** A monotonic clock in ms (tests); default performance.now. */
  now?: () => number;
}

/** What one client has open, and its bucket. */
interface ClientState {
  readonly bucket: TokenBucket;
  streams: number;
  calls: number;
}

type Limit = "rate" | "streams" | "calls";

/** The hook, named "limits"; it goes after authentication and authorization (docs/design.md). */
export function limitsHook(limits: Limits, opts: LimitsHookOptions = {}): CallHook & ClientTable {
  return new CallLimits(limits, opts);
}

/** What tests and metrics may read of the clients' state. */
export interface ClientTable {
  /** Clients with state kept (something open, or a bucket not yet full). */
  readonly clients: number;
}

class CallLimits implements CallHook, ClientTable {
  readonly name = "limits";
  readonly #limits: Limits;
  readonly #clientOf: (call: Call) => LimitClient | undefined;
  readonly #now: () => number;
  readonly #refused;
  readonly #byKey = new Map<string, ClientState>();
  /** The calls this hook let through, and whose counts they hold. */
  readonly #counted = new WeakMap<Call, ClientState>();
  #swept: number;

  constructor(limits: Limits, opts: LimitsHookOptions) {
    this.#limits = limits;
    this.#clientOf = opts.clientOf ?? ((call) => limitClientOf(call));
    this.#now = opts.now ?? (() => performance.now());
    this.#swept = this.#now();
    this.#refused = (opts.meter ?? createNoopMeter()).createCounter("sluice.limits.refused", {
      unit: "{call}",
      description:
        "Calls refused with resource_exhausted by a per-client limit: limit rate, streams or calls (in flight)",
    });
  }

  get clients(): number {
    return this.#byKey.size;
  }

  start(call: Call): void {
    const client = this.#clientOf(call);
    if (client === undefined) return;
    const now = this.#now();
    if (now - this.#swept > SWEEP_MS) this.#sweep(now);
    let state = this.#byKey.get(client.key);
    if (state === undefined) {
      state = { bucket: new TokenBucket(this.#limits.rate, this.#limits.burst, now), streams: 0, calls: 0 };
      this.#byKey.set(client.key, state);
    }
    const wait = state.bucket.take(now);
    const l = this.#limits;
    if (wait > 0) {
      throw this.#refuse(
        call,
        "rate",
        `${client.name} started more than ${l.rate} calls a second (${l.burst} at most at once): slow down`,
        wait,
      );
    }
    if (call.streaming) {
      if (state.streams >= l.streams) {
        throw this.#refuse(
          call,
          "streams",
          `${client.name} has ${state.streams} streams open, the most it may: end one before opening another`,
        );
      }
      state.streams++;
    } else {
      if (state.calls >= l.calls) {
        throw this.#refuse(
          call,
          "calls",
          `${client.name} has ${state.calls} calls in progress, the most it may: wait for one to end before starting another`,
        );
      }
      state.calls++;
    }
    this.#counted.set(call, state);
  }

  end(call: Call): void {
    const state = this.#counted.get(call);
    if (state === undefined) return;
    this.#counted.delete(call);
    if (call.streaming) state.streams--;
    else state.calls--;
  }

  #refuse(call: Call, limit: Limit, message: string, retryAfterMs?: number) {
    this.#refused.add(1, { limit, method: call.procedure });
    return resourceExhausted(message, retryAfterMs);
  }

  /** Forgets clients whose state is as a new one's: nothing open, the bucket full. */
  #sweep(now: number): void {
    this.#swept = now;
    for (const [key, s] of this.#byKey) {
      if (s.streams === 0 && s.calls === 0 && s.bucket.full(now)) this.#byKey.delete(key);
    }
  }
}
