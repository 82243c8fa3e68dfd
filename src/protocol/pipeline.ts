// One call pipeline. Every call a sluice process serves, whatever its protocol (gRPC, gRPC-Web,
// Connect binary or JSON, over HTTP/1.1 or h2c) and whichever path answers it (connect-es's
// typed handlers, the server's lean gRPC path, the gateway's byte relays), runs the same
// ordered list of hooks once its request message is read and before any handler or relay
// acts on it; each hook may refuse the call with a Connect code. When the call ends, every
// hook that saw it start is told how it ended, in reverse order.
//
// A hook sees what an authentication, authorization, limit, tracing or metrics check needs:
// the method, the protocol, the peer (address, TLS certificate), the request headers, the
// request's destination, clientId and session, and whether the call is a stream. It hands
// things on through `values` (read by handlers as `ctx.values`) and `upstreamHeaders` (sent
// with the calls a gateway makes to servers for this call).
//
// Where a hook goes: docs/design.md, "Calls and trust".
import type { PeerCertificate, TLSSocket } from "node:tls";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";

export type CallProtocol = "grpc" | "grpc-web" | "connect";
export type CallCodec = "proto" | "json";

/** Who called: the TCP peer, and its TLS client certificate when it sent one. */
export interface CallPeer {
  /** "ip:port" ("[ipv6]:port"). Behind a TCP balancer: the balancer. */
  readonly address: string;
  /** The verified client certificate of a TLS connection that sent one; undefined otherwise. */
  readonly certificate: PeerCertificate | undefined;
  /** True when TLS verified that certificate against the configured CAs (trust it only then). */
  readonly authorized: boolean;
}

/** The request fields hooks may check, as the request message has them (empty when absent). */
export interface CallFields {
  readonly destination: string;
  readonly clientId: string;
  readonly session: string;
}

/** How a call ended: code 0 is ok. */
export interface CallOutcome {
  readonly code: number;
  readonly error: ConnectError | undefined;
  readonly durationMs: number;
}

export interface CallHook {
  /** Names the hook in errors and logs. */
  readonly name: string;
  /**
   * Runs before any handler or relay acts on the call. Throw (or reject with) a ConnectError
   * to refuse the call: the client gets its code, message, details and metadata.
   */
  start?(call: Call): void | Promise<void>;
  /** The call ended (after a refusal too, for the hooks that started before it). */
  end?(call: Call, outcome: CallOutcome): void;
}

/** Request headers, whichever form the path that read the call has them in. */
export interface CallHeaders {
  get(name: string): string | null;
}

/** The parts of a connection a call reads its peer from. */
export interface CallSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

export interface CallInit {
  /** "sluice.v1.CanalService" */
  service: string;
  /** "Get" */
  method: string;
  streaming: boolean;
  protocol: CallProtocol;
  codec: CallCodec;
  httpVersion: "1.1" | "2";
  headers: CallHeaders;
  socket: CallSocket;
  /** The request message (for a stream: its one request message); its fields are read when asked for. */
  message: unknown;
  /** The context values handlers will see (typed path); made when first needed otherwise. */
  values?: ContextValues;
}

/** The call a hook sees. */
export class Call {
  readonly service: string;
  readonly method: string;
  readonly streaming: boolean;
  readonly protocol: CallProtocol;
  readonly codec: CallCodec;
  readonly httpVersion: "1.1" | "2";
  readonly headers: CallHeaders;
  /** performance.now() when the call began. */
  readonly startedAt = performance.now();
  /** How many hooks have started (those are told of the end). */
  started = 0;
  /** True once the call ended: no hook starts after that, even one a waiting hook preceded. */
  ended = false;
  #socket: CallSocket;
  #message: unknown;
  #values: ContextValues | undefined;
  #fields: CallFields | undefined;
  #peer: CallPeer | undefined;
  #upstream: Record<string, string> | undefined;

  constructor(init: CallInit) {
    this.service = init.service;
    this.method = init.method;
    this.streaming = init.streaming;
    this.protocol = init.protocol;
    this.codec = init.codec;
    this.httpVersion = init.httpVersion;
    this.headers = init.headers;
    this.#socket = init.socket;
    this.#message = init.message;
    this.#values = init.values;
  }

  /** "sluice.v1.CanalService/Get" */
  get procedure(): string {
    return `${this.service}/${this.method}`;
  }

  /** A request header (lower-case name), or undefined. */
  header(name: string): string | undefined {
    return this.headers.get(name) ?? undefined;
  }

  get peer(): CallPeer {
    this.#peer ??= peerOf(this.#socket);
    return this.#peer;
  }

  get fields(): CallFields {
    this.#fields ??= fieldsOf(this.#message);
    return this.#fields;
  }

  /** Values for the handler (its `ctx.values`) and for later hooks. */
  get values(): ContextValues {
    this.#values ??= createContextValues();
    return this.#values;
  }

  /** Headers to send with every call a gateway makes to a server for this call (trace context). */
  get upstreamHeaders(): Record<string, string> {
    this.#upstream ??= {};
    return this.#upstream;
  }

  /** upstreamHeaders, without making them when no hook set any. */
  get upstreamHeadersIfAny(): Record<string, string> | undefined {
    return this.#upstream;
  }
}

/** The Call of a typed handler's context: `callOf(ctx)`. Undefined outside the pipeline. */
export const callKey = createContextKey<Call | undefined>(undefined, { description: "sluice: the call" });

export function callOf(ctx: { values: ContextValues }): Call | undefined {
  return ctx.values.get(callKey);
}

/** The ordered hooks of a process. */
export class CallPipeline {
  readonly #hooks: readonly CallHook[];

  constructor(hooks: readonly CallHook[] = []) {
    this.#hooks = hooks;
  }

  get hooks(): readonly CallHook[] {
    return this.#hooks;
  }

  /**
   * Runs the hooks' `start` in order. Returns undefined when all let the call through without
   * waiting, a promise when one waits. When a hook refuses, the hooks that started are told
   * the call ended, and the refusal is thrown (or rejected with) as a ConnectError.
   */
  start(call: Call): void | Promise<void> {
    const hooks = this.#hooks;
    for (let i = call.started; i < hooks.length && !call.ended; i++) {
      const hook = hooks[i] as CallHook;
      call.started = i + 1;
      if (hook.start === undefined) continue;
      let waiting: void | Promise<void>;
      try {
        waiting = hook.start(call);
      } catch (err) {
        throw this.#refused(call, hook, err);
      }
      if (waiting instanceof Promise) {
        return waiting.then(
          () => this.start(call),
          (err: unknown) => {
            throw this.#refused(call, hook, err);
          },
        );
      }
    }
  }

  /**
   * The call ended: `result` is its error, or its code (0 or undefined: ok). Tells each hook
   * that started, the last first, once. Hooks' own failures are not the call's: they are dropped.
   */
  end(call: Call, result?: unknown): void {
    if (call.ended) return;
    call.ended = true;
    let code = 0;
    let error: ConnectError | undefined;
    if (typeof result === "number") code = result;
    else if (result !== undefined) {
      error = ConnectError.from(result);
      code = error.code;
    }
    const outcome: CallOutcome = { code, error, durationMs: performance.now() - call.startedAt };
    for (let i = call.started - 1; i >= 0; i--) {
      try {
        this.#hooks[i]?.end?.(call, outcome);
      } catch {
        // an observer's failure must not change the call
      }
    }
  }

  #refused(call: Call, hook: CallHook, err: unknown): ConnectError {
    const e =
      err instanceof ConnectError
        ? err
        : new ConnectError(
            `the ${hook.name} check failed: ${String(err)}`,
            Code.Internal,
            undefined,
            undefined,
            err,
          );
    this.end(call, e);
    return e;
  }
}

/** The protocol and codec of a request, from its content type (Connect when none says otherwise). */
export function protocolOf(contentType: string | undefined): { protocol: CallProtocol; codec: CallCodec } {
  const t = (contentType ?? "").toLowerCase();
  const codec: CallCodec = t.includes("json") ? "json" : "proto";
  if (t.startsWith("application/grpc-web")) return { protocol: "grpc-web", codec };
  if (t.startsWith("application/grpc")) return { protocol: "grpc", codec };
  return { protocol: "connect", codec };
}

/** Node's request headers as CallHeaders (no copy). */
export function nodeCallHeaders(h: Record<string, string | string[] | undefined>): CallHeaders {
  return {
    get(name) {
      const v = h[name];
      if (v === undefined) return null;
      return Array.isArray(v) ? v.join(", ") : v;
    },
  };
}

function peerOf(socket: CallSocket): CallPeer {
  const ip = socket.remoteAddress ?? "unknown";
  const address = `${ip.includes(":") ? `[${ip}]` : ip}:${socket.remotePort ?? 0}`;
  const tls = socket as Partial<TLSSocket>;
  let certificate: PeerCertificate | undefined;
  // Only a certificate that verified against the listener's client CA: a listener asking for
  // one without requiring it drops connections whose certificate fails (../tls.ts), and this
  // keeps an unverified one from ever reaching a hook.
  if (tls.encrypted === true && tls.authorized === true && typeof tls.getPeerCertificate === "function") {
    const cert = tls.getPeerCertificate();
    // Node gives an empty object when the client sent none.
    if (cert !== null && Object.keys(cert).length > 0) certificate = cert;
  }
  return { address, certificate, authorized: certificate !== undefined && tls.authorized === true };
}

function fieldsOf(message: unknown): CallFields {
  const m = (message ?? {}) as { destination?: unknown; clientId?: unknown; session?: unknown };
  return {
    destination: typeof m.destination === "string" ? m.destination : "",
    clientId: typeof m.clientId === "string" ? m.clientId : "",
    session: typeof m.session === "string" ? m.session : "",
  };
}
