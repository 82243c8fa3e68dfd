// OpenTelemetry for a sluice process (server or gateway): metrics served to Prometheus on
// their own port and pushed over OTLP, traces exported, only when the standard OTEL_*
// variables ask for it.
// The SDK registers itself globally (one per process); close() unregisters it again.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import { context, type Meter, metrics, propagation, type Tracer, trace } from "@opentelemetry/api";
import { clientRefusal, type TlsListenOptions, tlsServerOptions } from "../../protocol/tls.js";
import type { Logger } from "../log.js";
import { sluiceVersion } from "../version.js";
import { observeRuntime } from "./runtime-metrics.js";

export interface TelemetryOptions {
  /** service.name of the resource: "sluice-server" or "sluice-gateway". */
  serviceName: string;
  /** Where Prometheus scrapes /metrics (over TLS when tls is given); absent: no metrics are served. */
  metrics?: { host: string; port: number; tls?: TlsListenOptions | undefined };
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  readonly meter: Meter;
  readonly tracer: Tracer;
  /** True when spans are exported (a trace exporter was configured through OTEL_*). */
  readonly tracing: boolean;
  /** True when metrics are pushed over OTLP (OTEL_* asked for it). */
  readonly exportingMetrics: boolean;
  /** "http://host:port/metrics" ("https://..." over TLS) when metrics are served. */
  readonly metricsUrl: string | undefined;
  readonly metricsPort: number | undefined;
  /** Flushes spans, stops the metrics listener, unregisters the SDK. */
  close(): Promise<void>;
}

/**
 * True when the environment asks for traces: OTEL_TRACES_EXPORTER other than "none", or an
 * OTLP endpoint. The SDK's own default (otlp to localhost:4318) would try to reach a
 * collector nobody asked for, so without these nothing is exported.
 */
export function tracesRequested(env: NodeJS.ProcessEnv): boolean {
  const exporter = (env.OTEL_TRACES_EXPORTER ?? "").trim();
  if (exporter) return exporter.split(",").some((e) => e.trim() !== "none" && e.trim() !== "");
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * True when the environment asks for metrics pushed to a collector: OTEL_METRICS_EXPORTER
 * naming otlp, or (unset) an OTLP endpoint. Prometheus is served on its own port regardless.
 */
export function metricsExportRequested(env: NodeJS.ProcessEnv): boolean {
  const exporter = (env.OTEL_METRICS_EXPORTER ?? "").trim();
  if (exporter) return exporter.split(",").some((e) => e.trim() === "otlp");
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);
}

/** Whether startTelemetry has anything to do: metrics to serve or push, or traces. */
export function telemetryRequested(serveMetrics: boolean, env: NodeJS.ProcessEnv): boolean {
  return serveMetrics || tracesRequested(env) || metricsExportRequested(env);
}

export async function startTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  const env = opts.env ?? process.env;
  if (/^(true|1)$/i.test((env.OTEL_SDK_DISABLED ?? "").trim())) {
    // OpenTelemetry's switch: honoured, and said aloud since metrics were asked for.
    opts.logger.warn("OTEL_SDK_DISABLED is set: no metrics are served and no spans made");
    return {
      meter: metrics.getMeter(opts.serviceName),
      tracer: trace.getTracer(opts.serviceName),
      tracing: false,
      exportingMetrics: false,
      metricsUrl: undefined,
      metricsPort: undefined,
      close: async () => {},
    };
  }
  const tracing = tracesRequested(env);
  const exportingMetrics = metricsExportRequested(env);
  // Loaded here, not at the top: the SDK takes most of a second to load, which every `sluice`
  // command would pay otherwise.
  const { NodeSDK, resources } = await import("@opentelemetry/sdk-node");
  const { PrometheusExporter } = await import("@opentelemetry/exporter-prometheus");
  const exporter = opts.metrics ? new PrometheusExporter({ preventServerStart: true }) : undefined;
  const readers: MetricReader[] = exporter ? [exporter] : [];
  if (exportingMetrics) readers.push(await otlpMetricReader(env));
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    resourceDetectors: resourceDetectors(resources, env),
    metricReaders: readers,
    // No spans at all unless asked for: the tracer provider stays the no-op one.
    ...(tracing ? {} : { spanProcessors: [] }),
    // Logs go to the process's own log, not to OTLP.
    logRecordProcessors: [],
  });
  sdk.start();
  const meter = metrics.getMeter(opts.serviceName);
  const stopRuntime = observeRuntime(meter, sluiceVersion());
  let server: Server | undefined;
  let port: number | undefined;
  if (exporter && opts.metrics) {
    const handler = exporter.getMetricsRequestHandler.bind(exporter);
    const serve = (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? "").split("?")[0];
      if (path === "/metrics" && (req.method === "GET" || req.method === "HEAD")) {
        handler(req, res);
        return;
      }
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found: metrics are served at /metrics\n");
    };
    const tls = opts.metrics.tls;
    const listener = tls
      ? createHttpsServer(tlsServerOptions(tls, ["http/1.1"]), serve)
      : createServer(serve);
    if (tls) {
      // Client certificates checked as on the API port (protocol/tls.ts).
      listener.on("secureConnection", (socket: TLSSocket) => {
        if (clientRefusal(socket, tls.clientAuth) !== undefined) socket.destroy();
      });
    }
    try {
      port = await listen(listener, opts.metrics.host, opts.metrics.port);
    } catch (err) {
      stopRuntime();
      await sdk.shutdown().catch(() => {});
      unregister();
      throw new Error(
        `metrics: cannot listen on ${opts.metrics.host}:${opts.metrics.port}: ${(err as Error).message} ` +
          "(choose another with --metrics-port, or turn metrics off with --metrics-port off)",
      );
    }
    server = listener;
  }
  const host = opts.metrics?.host ?? "";
  const shownHost =
    host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const metricsUrl = server
    ? `${opts.metrics?.tls ? "https" : "http"}://${shownHost}:${port}/metrics`
    : undefined;
  if (metricsUrl) opts.logger.info("metrics serving", { url: metricsUrl, listen: `${host}:${port}` });
  if (exportingMetrics) opts.logger.info("metrics exported", { exporter: "otlp", ...otlpTarget(env) });
  if (tracing) opts.logger.info("traces exported", { exporter: env.OTEL_TRACES_EXPORTER ?? "otlp" });
  let closed: Promise<void> | undefined;
  return {
    meter,
    tracer: trace.getTracer(opts.serviceName),
    tracing,
    exportingMetrics,
    metricsUrl,
    metricsPort: port,
    close() {
      closed ??= (async () => {
        if (server) {
          const s = server;
          const done = new Promise<void>((resolve) => s.close(() => resolve()));
          s.closeAllConnections();
          await done;
        }
        stopRuntime();
        // Flushes the last metrics and spans to a collector.
        await sdk.shutdown().catch((err: Error) => {
          opts.logger.warn("telemetry shutdown failed", { error: err.message });
        });
        unregister();
      })();
      return closed;
    },
  };
}

type MetricReader = import("@opentelemetry/sdk-node").metrics.MetricReader;

/**
 * A reader that pushes metrics every OTEL_METRIC_EXPORT_INTERVAL ms (default 60000) with the
 * OTLP exporter of OTEL_EXPORTER_OTLP_METRICS_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL
 * (http/protobuf by default, http/json, grpc); the exporter reads its endpoint, headers and
 * timeout from OTEL_EXPORTER_OTLP_* itself.
 */
async function otlpMetricReader(env: NodeJS.ProcessEnv): Promise<MetricReader> {
  const { metrics: sdkMetrics } = await import("@opentelemetry/sdk-node");
  const protocol = otlpTarget(env).protocol;
  const { OTLPMetricExporter } =
    protocol === "grpc"
      ? await import("@opentelemetry/exporter-metrics-otlp-grpc")
      : protocol === "http/json"
        ? await import("@opentelemetry/exporter-metrics-otlp-http")
        : await import("@opentelemetry/exporter-metrics-otlp-proto");
  const interval = positiveNumber(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60_000;
  const timeout = Math.min(positiveNumber(env.OTEL_METRIC_EXPORT_TIMEOUT) ?? 30_000, interval);
  return new sdkMetrics.PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter(),
    exportIntervalMillis: interval,
    exportTimeoutMillis: timeout,
  });
}

/** The OTLP protocol and endpoint metrics go to, as the environment names them (for the log). */
function otlpTarget(env: NodeJS.ProcessEnv): { protocol: string; endpoint: string } {
  const protocol =
    (env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "").trim() ||
    "http/protobuf";
  const endpoint =
    env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "(the exporter's default)";
  return { protocol, endpoint };
}

function positiveNumber(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && text.trim() !== "" && Number.isFinite(n) && n > 0 ? n : undefined;
}

type Resources = typeof import("@opentelemetry/sdk-node").resources;
type ResourceDetector = import("@opentelemetry/sdk-node").resources.ResourceDetector;

/**
 * The SDK's resource detectors (its default env, process, host; or those
 * OTEL_NODE_RESOURCE_DETECTORS names), with the process detector's `process.command_args`
 * left out: that is argv, which may hold a password (a --source URL), and the resource goes
 * into every exported span and into target_info on /metrics.
 */
export function resourceDetectors(r: Resources, env: NodeJS.ProcessEnv): ResourceDetector[] {
  const processWithoutArgv: ResourceDetector = {
    detect(config) {
      const detected = r.processDetector.detect(config);
      const { "process.command_args": _, ...attributes } = detected.attributes ?? {};
      return { ...detected, attributes };
    },
  };
  const byName: Record<string, ResourceDetector> = {
    env: r.envDetector,
    process: processWithoutArgv,
    host: r.hostDetector,
    os: r.osDetector,
    serviceinstance: r.serviceInstanceIdDetector,
  };
  const given = env.OTEL_NODE_RESOURCE_DETECTORS;
  if (given === undefined) return [r.envDetector, processWithoutArgv, r.hostDetector];
  const names = given
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0 || names.includes("all")) return Object.values(byName);
  if (names.includes("none")) return [];
  return names.flatMap((n) => byName[n] ?? []);
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const a = server.address();
      resolve(typeof a === "object" && a ? a.port : port);
    });
  });
}

// Lets a later startTelemetry in the same process register its own SDK.
function unregister(): void {
  metrics.disable();
  trace.disable();
  propagation.disable();
  context.disable();
}
