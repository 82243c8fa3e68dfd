// What the lean paths of unary calls (grpc-unary.ts, connect-json-unary.ts) share: a method's
// route, their options, and the HandlerContext they give implementations.
import type { DescMethodUnary, DescService } from "@bufbuild/protobuf";
import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import { abortSignalOf, type CallCancel } from "../call-cancel.js";
import type { CallPipeline } from "../pipeline.js";

// biome-ignore lint/suspicious/noExplicitAny: implementations are typed by their service
export type UnaryImplementation = (request: any, context: HandlerContext) => unknown;

export interface LeanOptions {
  readMaxBytes: number;
  /** The server compresses answers when clients accept it: such Connect calls go to connect-es. */
  compressResponses: boolean;
  /** Ends calls still running with its reason (the server's shutdown timeout passed). */
  force: AbortSignal;
  pipeline: CallPipeline;
}

export interface Route {
  service: DescService;
  method: DescMethodUnary;
  impl: UnaryImplementation;
}

/**
 * The handler context of a lean call. A class, not an object literal with a `get signal()`:
 * V8 keeps a literal's accessor pair in the old generation, and through the getter's closure
 * that kept the whole call (request, response, stream) alive past young-generation GCs:
 * 7 KB promoted per call, measured with the sampling heap profiler, against 0.7 KB so.
 */
export class LeanContext implements HandlerContext {
  readonly service: DescService;
  readonly method: DescMethodUnary;
  readonly requestMethod = "POST";
  readonly responseHeader: Headers = new Headers();
  readonly responseTrailer: Headers = new Headers();
  timeoutMs: () => number | undefined = noDeadline;
  readonly #cancel: CallCancel;
  #signal: AbortSignal | undefined;

  constructor(
    readonly protocolName: "grpc" | "connect",
    route: Route,
    readonly url: string,
    readonly requestHeader: Headers,
    cancel: CallCancel,
    readonly values: ContextValues,
  ) {
    this.service = route.service;
    this.method = route.method;
    this.#cancel = cancel;
  }

  /** Made when first read (an AbortSignal per call costs: ../call-cancel.ts). */
  get signal(): AbortSignal {
    this.#signal ??= abortSignalOf(this.#cancel);
    return this.#signal;
  }
}

const noDeadline = () => undefined;
