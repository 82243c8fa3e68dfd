// Spans for calls, with W3C trace context carried in the headers: a hook of the call pipeline
// (src/protocol/pipeline.ts) gives every call a server or gateway serves a SERVER span, the
// child of the caller's trace context when it sent one, whichever path answers the call. A
// gateway sends the span's context on to the server with the call it makes there (the call's
// `upstreamHeaders`), so the server's span is the child of the gateway's: one trace.
// Installed only when a trace exporter is configured (Telemetry.tracing).
import { Code, createContextKey } from "@connectrpc/connect";
import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { Call, CallHook } from "../../protocol/pipeline.js";

const spanKey = createContextKey<Span | undefined>(undefined, { description: "sluice: the call's span" });

const callGetter = {
  keys: () => ["traceparent", "tracestate"],
  get: (call: Call, key: string) => call.header(key),
};

/** A SERVER span per call ("sluice.v1.CanalService/Get"); for a stream, until it ends. */
export function tracingHook(tracer: Tracer): CallHook {
  return {
    name: "tracing",
    start(call) {
      const parent = propagation.extract(context.active(), call, callGetter);
      const attributes: Record<string, string> = {
        "rpc.system": "connect_rpc",
        "rpc.service": call.service,
        "rpc.method": call.method,
      };
      const { destination, clientId } = call.fields;
      if (destination) attributes["sluice.destination"] = destination;
      if (clientId) attributes["sluice.client_id"] = clientId;
      const span = tracer.startSpan(call.procedure, { kind: SpanKind.SERVER, attributes }, parent);
      call.values.set(spanKey, span);
      propagation.inject(trace.setSpan(parent, span), call.upstreamHeaders);
    },
    end(call, outcome) {
      const span = call.values.get(spanKey);
      if (span === undefined) return;
      const code = outcome.code;
      span.setAttribute(
        "rpc.connect_rpc.error_code",
        code === 0 ? "ok" : (Code[code as Code] ?? String(code)),
      );
      if (code !== 0)
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error?.rawMessage ?? "" });
      span.end();
    },
  };
}
