// Spans for Connect calls, with W3C trace context carried in the headers: the gateway injects
// it into the calls it relays (clientTraceContext), the server continues it (serverSpans).
// Both are only installed when a trace exporter is configured (Telemetry.tracing).
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { context, propagation, type Span, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";

const headerGetter = {
  keys: (h: Headers) => [...h.keys()],
  get: (h: Headers, key: string) => h.get(key) ?? undefined,
};
const headerSetter = {
  set: (h: Headers, key: string, value: string) => h.set(key, value),
};

/** Fields of a request message worth a span attribute. */
function callAttributes(message: unknown): Record<string, string> {
  const m = message as { destination?: unknown; clientId?: unknown } | undefined;
  const out: Record<string, string> = {};
  if (typeof m?.destination === "string" && m.destination) out["sluice.destination"] = m.destination;
  if (typeof m?.clientId === "string" && m.clientId) out["sluice.client_id"] = m.clientId;
  return out;
}

/**
 * Runs a call in `span` and ends it, recording the call's code (`codeOf`: the code of a result
 * that carries one, 0 for ok) or its error.
 */
async function traced<T>(span: Span, call: () => Promise<T>, codeOf?: (result: T) => number): Promise<T> {
  try {
    const result = await call();
    const code = codeOf?.(result) ?? 0;
    span.setAttribute("rpc.connect_rpc.error_code", code === 0 ? "ok" : (Code[code as Code] ?? String(code)));
    if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
    return result;
  } catch (err) {
    const e = ConnectError.from(err);
    span.setAttribute("rpc.connect_rpc.error_code", Code[e.code] ?? String(e.code));
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.rawMessage });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A server span per call ("sluice.v1.CanalService/Get"), child of the caller's trace context
 * if it sent one. For streams the span covers the call until its response starts.
 */
export function serverSpans(tracer: Tracer): Interceptor {
  return (next) => async (req) => {
    const parent = propagation.extract(context.active(), req.header, headerGetter);
    const name = `${req.service.typeName}/${req.method.name}`;
    return tracer.startActiveSpan(
      name,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": "connect_rpc",
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
          ...(req.stream ? {} : callAttributes(req.message)),
        },
      },
      parent,
      (span) => traced(span, () => next(req)),
    );
  };
}

/** A client span per relayed call, its context put in the request headers (traceparent). */
export function clientTraceContext(tracer: Tracer): Interceptor {
  return (next) => async (req) => {
    const name = `${req.service.typeName}/${req.method.name}`;
    return tracer.startActiveSpan(
      name,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "rpc.system": "connect_rpc",
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
          ...(req.stream ? {} : callAttributes(req.message)),
        },
      },
      (span) => {
        propagation.inject(context.active(), req.header, headerSetter);
        return traced(span, () => next(req));
      },
    );
  };
}

const nodeHeaderGetter = {
  keys: (h: Record<string, unknown>) => Object.keys(h),
  get: (h: Record<string, unknown>, key: string) => {
    const v = h[key];
    return typeof v === "string" ? v : undefined;
  },
};

/**
 * A client span for a unary call the gateway relays as bytes (no connect-es interceptors on
 * that path): the child of the caller's trace context from its request headers, with its own
 * context handed to `call` as the headers to send on, so the server's span is its child.
 * `codeOf` reads the call's gRPC status from its result (0: ok).
 */
export function relayedCallSpan<T>(
  tracer: Tracer,
  name: string,
  callerHeaders: Record<string, unknown>,
  attributes: Record<string, string>,
  call: (traceHeaders: Record<string, string>) => Promise<T>,
  codeOf: (result: T) => number,
): Promise<T> {
  const parent = propagation.extract(context.active(), callerHeaders, nodeHeaderGetter);
  const [service = "", method = ""] = name.split("/");
  return tracer.startActiveSpan(
    name,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "rpc.system": "connect_rpc",
        "rpc.service": service,
        "rpc.method": method,
        ...attributes,
      },
    },
    parent,
    (span) => {
      const traceHeaders: Record<string, string> = {};
      propagation.inject(context.active(), traceHeaders);
      return traced(span, () => call(traceHeaders), codeOf);
    },
  );
}
