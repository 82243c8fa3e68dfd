// The call guard: an interceptor, outermost of all, that gives every call the server's rules
//
// - deadlines are enforced: connect-es only aborts the handler's signal when a deadline passes;
//   the guard also ends the call then with deadline_exceeded, even if the handler ignores it;
// - graceful shutdown: streaming handlers get a signal that also fires when the server starts
//   to close (reason: unavailable "server is shutting down"), unary handlers do not (they are
//   let finish); when the shutdown timeout passes, every call still running is ended with
//   unavailable;
// - every handler can read the server's shutdown signal from its context values
//   (`shutdownSignalKey`), e.g. a long-poll that wants to return early.
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  type Interceptor,
  type StreamResponse,
} from "@connectrpc/connect";
import { CallCancel, type CancelSignal } from "../call-cancel.js";

/**
 * The server's shutdown signal, in every call's context values: `ctx.values.get(shutdownSignalKey)`.
 * It fires when close() starts. Streaming handlers need not read it: their `ctx.signal` fires too.
 */
export const shutdownSignalKey = createContextKey<AbortSignal>(new AbortController().signal, {
  description: "sluice: server shutdown signal",
});

/**
 * The call's cancellation as a CancelSignal, where the server's lean gRPC path set one: a
 * handler that waits should prefer it to `ctx.signal`, which that path makes only when read
 * (an AbortSignal per call fills the old generation on Node 20: ../call-cancel.ts).
 */
export const callCancelKey = createContextKey<CancelSignal | undefined>(undefined, {
  description: "sluice: the call's cancel signal",
});

/** The signal a handler should wait on: the lean path's CancelSignal, or ctx.signal. */
export function cancelSignalOf(ctx: { signal: AbortSignal; values: ContextValues }): CancelSignal {
  return ctx.values.get(callCancelKey) ?? ctx.signal;
}

export interface CallGuardOptions {
  /** Fires when the server starts to close: streaming handlers' signals fire. */
  shutdown: AbortSignal;
  /** Fires when the shutdown timeout passes: calls still running end with its reason. */
  force: AbortSignal;
}

export function callGuard({ shutdown, force }: CallGuardOptions): Interceptor {
  return (next) => async (req) => {
    req.contextValues.set(shutdownSignalKey, shutdown);
    // req.signal: connect-es's call signal (deadline, client gone, end of call).
    const hard = [req.signal, force];
    if (!req.stream) {
      return raceAbort(next(req), hard);
    }
    const handlerSignal = linkSignals(req.signal, shutdown);
    const res = (await raceAbort(next({ ...req, signal: handlerSignal }), hard)) as StreamResponse;
    return { ...res, message: guardIterable(res.message, hard) };
  };
}

/** Reason of an aborted signal as a ConnectError (deadline_exceeded, canceled, unavailable...). */
export function abortError(signal: CancelSignal): ConnectError {
  const reason: unknown = signal.reason;
  if (reason instanceof ConnectError) return reason;
  if (reason === undefined) return new ConnectError("call was aborted", Code.Canceled);
  return ConnectError.from(reason, Code.Canceled);
}

/** A signal that fires when `a` or `b` fires, with its reason; it lets go of both then. */
export function linkSignals(a: AbortSignal, b: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const onAbort = (ev: Event) => {
    a.removeEventListener("abort", onAbort);
    b.removeEventListener("abort", onAbort);
    controller.abort((ev.target as AbortSignal).reason);
  };
  for (const s of [a, b]) {
    if (s.aborted) {
      controller.abort(s.reason);
      a.removeEventListener("abort", onAbort);
      b.removeEventListener("abort", onAbort);
      return controller.signal;
    }
    s.addEventListener("abort", onAbort);
  }
  return controller.signal;
}

/** `p`, or a rejection with the reason of the first of `signals` to fire. */
export function raceAbort<T>(p: Promise<T>, signals: CancelSignal[]): Promise<T> {
  const fired = signals.find((s) => s.aborted);
  if (fired !== undefined) {
    p.catch(() => {});
    return Promise.reject(abortError(fired));
  }
  return new Promise<T>((resolve, reject) => {
    // No Event argument: a CallCancel calls its listeners without one.
    const onAbort = () => {
      done();
      p.catch(() => {});
      reject(abortError(signals.find((s) => s.aborted) as CancelSignal));
    };
    const done = () => {
      for (const s of signals) s.removeEventListener("abort", onAbort);
    };
    for (const s of signals) s.addEventListener("abort", onAbort);
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
  });
}

/**
 * Pulls `source` one message at a time (so back-pressure reaches the handler: its `yield` stays
 * pending until the transport asks for the next message) and ends with the reason of the first
 * of `signals` to fire, even when the handler is stuck.
 */
function guardIterable<T>(source: AsyncIterable<T>, signals: AbortSignal[]): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]();
      let finished = false;
      const stop = () => {
        if (finished) return;
        finished = true;
        // A generator busy in an await takes return() only when it reaches its next yield:
        // do not wait for it.
        it.return?.().catch(() => {});
      };
      return {
        async next() {
          if (finished) return { done: true, value: undefined };
          try {
            const r = await raceAbort(it.next(), signals);
            if (r.done) finished = true;
            return r;
          } catch (e) {
            stop();
            throw e;
          }
        },
        async return(value?: unknown) {
          stop();
          return { done: true, value: value as T };
        },
        async throw(e?: unknown) {
          if (!finished && it.throw !== undefined) {
            finished = true;
            return it.throw(e);
          }
          stop();
          throw e;
        },
      };
    },
  };
}

/** A call answered by hand (not by connect-es): its cancellation and deadline. */
export interface WatchedCall {
  /** Fires when the client goes away or the deadline passes, with the reason as a ConnectError. */
  readonly cancel: CallCancel;
  /** When the deadline passes (performance.now() ms), or undefined without one. */
  readonly deadlineAt: number | undefined;
  /** Stops the deadline's timer: call it when the call ended. */
  done(): void;
}

/**
 * Watches a call that sluice answers itself (the lean gRPC path, the gateway's relays): the
 * cancel fires `canceled` when the client goes away before the whole answer was written, and
 * `deadline_exceeded` after `timeoutMs`. A CallCancel, not an AbortController: one of those
 * per call fills the old generation (../call-cancel.ts).
 */
export function watchCall(
  res: { once(event: "close", fn: () => void): unknown; readonly writableEnded: boolean },
  timeoutMs: number | undefined,
): WatchedCall {
  const cancel = new CallCancel();
  // After a whole answer, "close" is the normal end: no error (and its stack trace) to build.
  // writableEnded (end() was called), not writableFinished: Node's HTTP/2 compatibility
  // response reports itself finished when the client resets the stream.
  res.once("close", () => {
    if (!res.writableEnded) cancel.abort(new ConnectError("the client went away", Code.Canceled));
  });
  if (timeoutMs === undefined) return { cancel, deadlineAt: undefined, done: noop };
  const timer = setTimeout(
    () => cancel.abort(new ConnectError("the deadline passed", Code.DeadlineExceeded)),
    timeoutMs,
  );
  return { cancel, deadlineAt: performance.now() + timeoutMs, done: () => clearTimeout(timer) };
}

function noop(): void {}
