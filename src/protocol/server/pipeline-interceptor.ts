// The call pipeline (../pipeline.ts) on connect-es's typed path: the outermost interceptor of
// every call connect-es serves, so that its hooks see each call before the handler and end it
// with the error the client gets (a deadline or a forced shutdown included).
import {
  Code,
  ConnectError,
  createContextKey,
  type Interceptor,
  type StreamResponse,
} from "@connectrpc/connect";
import { Call, type CallInit, type CallPipeline, type CallSocket, callKey, protocolOf } from "../pipeline.js";
import { raceAbort } from "./call-guard.js";

/** What the server knows of each typed call's connection (set from the Node request). */
export interface CallTransport {
  socket: CallSocket;
  httpVersion: "1.1" | "2";
}

export const callTransportKey = createContextKey<CallTransport | undefined>(undefined, {
  description: "sluice: the call's connection",
});

export function pipelineInterceptor(pipeline: CallPipeline): Interceptor {
  return (next) => async (req) => {
    const transport = req.contextValues.get(callTransportKey);
    const init: Omit<CallInit, "message"> = {
      service: req.service.typeName,
      method: req.method.name,
      streaming: req.method.methodKind !== "unary",
      ...protocolOf(req.header.get("content-type") ?? undefined),
      httpVersion: transport?.httpVersion ?? "1.1",
      headers: req.header,
      socket: transport?.socket ?? {},
      values: req.contextValues,
    };
    if (!req.stream) {
      const call = new Call({ ...init, message: req.message });
      req.contextValues.set(callKey, call);
      await started(pipeline, call, req.signal);
      try {
        const res = await next(req);
        pipeline.end(call);
        return res;
      } catch (err) {
        pipeline.end(call, err);
        throw err;
      }
    }
    // A server stream's fields are in its one request message: read it first. (Client and
    // bidi streams are not read ahead: their client may wait for the answer before sending.)
    let request = req;
    let first: unknown;
    if (req.method.methodKind === "server_streaming") {
      const input = req.message[Symbol.asyncIterator]();
      const r = await input.next().catch((err: unknown) => {
        throw unreadable(err);
      });
      if (r.done) throw new ConnectError("request: expected one message, got none", Code.InvalidArgument);
      first = r.value;
      request = { ...req, message: replay(r, input) };
    }
    const call = new Call({ ...init, message: first });
    req.contextValues.set(callKey, call);
    await started(pipeline, call, req.signal);
    let res: StreamResponse;
    try {
      res = (await next(request)) as StreamResponse;
    } catch (err) {
      // Before the handler runs, connect-es fails a second request message `unimplemented`.
      const e = unreadable(err, Code.Unimplemented);
      pipeline.end(call, e);
      throw e;
    }
    return { ...res, message: new EndingIterable(res.message, pipeline, call, req.signal) };
  };
}

/**
 * A request message connect-es could not parse fails `internal`, as if the server were broken,
 * and one too many `unimplemented`, as if the method did not exist; it is the caller's
 * mistake: invalid_argument, with the same message (see adapter.ts).
 */
function unreadable(err: unknown, code = Code.Internal): ConnectError {
  const e = ConnectError.from(err);
  return e.code === code ? new ConnectError(e.rawMessage, Code.InvalidArgument) : e;
}

/**
 * Runs the hooks' start; a hook that waits is waited for only until the call's signal fires
 * (its deadline passes, the client goes away), and the call then ends with that reason.
 */
async function started(pipeline: CallPipeline, call: Call, signal: AbortSignal): Promise<void> {
  const waiting = pipeline.start(call);
  if (waiting === undefined) return;
  try {
    await raceAbort(waiting, [signal]);
  } catch (err) {
    pipeline.end(call, err);
    throw err;
  }
}

/** The input again: the result already read, then the rest. */
function replay<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncIterable<T> {
  let replayed = false;
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        if (replayed) return rest.next();
        replayed = true;
        return Promise.resolve(first);
      },
      return: (value?: unknown) => rest.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
    }),
  } as AsyncIterable<T>;
}

/** A response stream that ends its call, once, however it ends. */
class EndingIterable<T> implements AsyncIterable<T> {
  #ended = false;

  constructor(
    private readonly source: AsyncIterable<T>,
    private readonly pipeline: CallPipeline,
    private readonly call: Call,
    private readonly signal: AbortSignal,
  ) {}

  #end(result?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.pipeline.end(this.call, result);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    const it = this.source[Symbol.asyncIterator]();
    return {
      next: async () => {
        try {
          const r = await it.next();
          if (r.done) this.#end(this.signal.aborted ? canceled(this.signal) : undefined);
          return r;
        } catch (err) {
          this.#end(err);
          throw err;
        }
      },
      return: async (value?: unknown) => {
        // Stopped from outside: the client went away, or the server ends the call.
        this.#end(canceled(this.signal));
        return (await it.return?.(value)) ?? { done: true, value: undefined as T };
      },
      throw: async (err?: unknown) => {
        this.#end(err);
        if (it.throw !== undefined) return it.throw(err);
        throw err;
      },
    };
  }
}

function canceled(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  return reason instanceof ConnectError ? reason : new ConnectError("the call was canceled", Code.Canceled);
}
