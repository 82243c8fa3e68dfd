// When and how long the client waits before it subscribes again. Which errors are worth a
// retry follows docs/api.md's error table: `unavailable` (failover, election, shutdown, a
// session lost) and transport-level failures are; a refusal that will not change by itself
// (bad arguments, unknown destination, clientId held elsewhere, no permission) is not.
import { Code, ConnectError } from "@connectrpc/connect";
import { retryAfterMs } from "../../protocol/errors.js";

/** How the client backs off between attempts to (re)subscribe. */
export interface RetryOptions {
  /** First delay, in ms. Default 100. */
  initialDelayMs?: number;
  /** Largest delay, in ms. Default 5000. */
  maxDelayMs?: number;
  /** Attempts in a row without a delivered batch before giving up. Default: no limit. */
  maxAttempts?: number;
}

export { RETRY_AFTER_MS, retryAfterMs } from "../../protocol/errors.js";

/** Codes after which subscribing again can succeed without the caller changing anything. */
const RETRYABLE = new Set<Code>([
  Code.Unavailable,
  Code.FailedPrecondition, // stale session or batch: subscribe again, resume after the cursor
  Code.Aborted,
  Code.Internal, // e.g. a connection cut in the middle of a stream
  Code.Unknown,
  Code.DataLoss,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
]);

export function isRetryable(err: unknown): boolean {
  return RETRYABLE.has(ConnectError.from(err).code);
}

/**
 * Exponential back-off with full jitter, never below the server's hint. A hint of 0 (a gateway
 * saying that the destination's new runner is known, or that it holds a reopened stream until
 * one serves) is taken once, at once and without growing the back-off, between two batches:
 * a failover then costs no back-off at all, and a hint of 0 that keeps coming cannot make the
 * client spin.
 */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #maxAttempts: number;
  #attempt = 0;
  #immediateUsed = false;

  constructor(opts: RetryOptions = {}) {
    this.#initial = opts.initialDelayMs ?? 100;
    this.#max = opts.maxDelayMs ?? 5000;
    this.#maxAttempts = opts.maxAttempts ?? Number.POSITIVE_INFINITY;
  }

  get attempt(): number {
    return this.#attempt;
  }

  /** Called after progress (a delivered batch): the next failure starts from the first delay. */
  reset(): void {
    this.#attempt = 0;
    this.#immediateUsed = false;
  }

  /** The delay before the next attempt, or undefined when the attempts are used up. */
  next(err: unknown): number | undefined {
    const hint = retryAfterMs(err);
    if (hint === 0 && !this.#immediateUsed && this.#attempt < this.#maxAttempts) {
      this.#immediateUsed = true;
      return 0;
    }
    this.#attempt++;
    if (this.#attempt > this.#maxAttempts) return undefined;
    const ceiling = Math.min(this.#max, this.#initial * 2 ** (this.#attempt - 1));
    const jittered = ceiling / 2 + Math.random() * (ceiling / 2);
    return Math.max(jittered, retryAfterMs(err) ?? 0);
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
