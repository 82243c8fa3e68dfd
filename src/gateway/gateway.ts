// `sluice gateway`: stateless. It keeps no state a restart would lose: the runner of each
// destination and the holder of each clientId live in ZooKeeper (runners.ts, holds.ts), so
// any number of gateways run behind a load balancer. One port serves Connect, gRPC and
// gRPC-Web over HTTP/1.1 and h2c, gRPC health checking and reflection, /healthz, /readyz and
// the status page (/status).
import { setMaxListeners } from "node:events";
import type { Logger } from "../common/log.js";
import { startTelemetry, telemetryRequested, tracingHook } from "../common/telemetry/index.js";
import { sluiceAclPolicy, type ZkCredentials } from "../common/zk/acl.js";
import { ZkPaths } from "../common/zk/paths.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { AdminService } from "../gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../gen/sluice/v1/canal_service_pb.js";
import { H2Pool } from "../protocol/h2/pool.js";
import { type ConnectServer, startConnectServer } from "../protocol/index.js";
import { type CallHook, CallPipeline } from "../protocol/pipeline.js";
import { DEFAULT_LIMITS, type Limits, limitsHook } from "../security/limits.js";
import { createSecurity } from "../security/security.js";
import type { AuthSettings } from "../security/settings.js";
import { serveStatusPage } from "../status-page/serve.js";
import { createAdminProxy } from "./admin-proxy.js";
import { withCallErrors } from "./call-errors.js";
import { createCanalProxy } from "./canal-proxy.js";
import { FrameBuffers, KEPT_FRAME_BYTES } from "./frame-buffers.js";
import { createHealthService } from "./health.js";
import { ClientHolds } from "./holds.js";
import { checkGatewayListeners, type GatewaySecurity } from "./listen-security.js";
import { GatewayMetrics } from "./metrics.js";
import { createRawStreamHandler, RawSessions } from "./raw-stream.js";
import { createRawUnaryHandler } from "./raw-unary.js";
import { createReflectionService } from "./reflection.js";
import { Relay } from "./relay.js";
import { RunnerTable } from "./runners.js";
import { CLEARTEXT, tlsDialer, UpstreamPool } from "./upstream.js";
import { GatewayZk } from "./zk-session.js";

export interface GatewayOptions {
  host: string;
  port: number;
  /** ZooKeeper connect string, "host:port,host:port[/chroot]". */
  zk: string;
  zkRoot: string;
  zkSessionTimeoutMs: number;
  /** ZooKeeper digest credentials; the holds then get Sluice's ACL (docs/security.md). */
  zkCredentials?: ZkCredentials | undefined;
  /** How long a call waits for a runner while a destination has none. */
  holdMs: number;
  /** A unary consumer's hold ends after this long without a call. */
  leaseIdleMs: number;
  /** Largest request message a client may send, in bytes (a server's maxRequest). */
  maxRequestBytes: number;
  /** Largest answer message relayed from a server, in bytes. */
  maxMessageBytes: number;
  shutdownTimeoutMs: number;
  /** Authentication and authorization of clients, and the secret shown to servers (docs/security.md). */
  auth?: AuthSettings | undefined;
  /** Hooks every call runs, after the observers (tracing, metrics) and authentication and authorization. */
  hooks?: CallHook[];
  /** Per-client limits (--limit-*; src/security/limits.ts). Default DEFAULT_LIMITS. */
  limits?: Limits | undefined;
  /** Where Prometheus scrapes /metrics; absent: no metrics. */
  metrics?: { host: string; port: number } | undefined;
  /** TLS on its ports and to servers, the insecure switch (listen-security.ts); absent: none. */
  security?: GatewaySecurity | undefined;
  logger: Logger;
}

export interface RunningGateway {
  readonly address: string;
  readonly port: number;
  readonly url: string;
  /** "http(s)://host:port/metrics" when metrics are served. */
  readonly metricsUrl: string | undefined;
  /** Graceful stop: ends streams with unavailable, lets unary calls finish, ends the ZooKeeper session. */
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const log = opts.logger;
  // Beyond loopback only with TLS and authentication, or when told it is on purpose.
  await checkGatewayListeners(opts, opts.metrics, opts.security, log);
  const paths = new ZkPaths(opts.zkRoot);
  const security = createSecurity(opts.auth, "gateway", log);
  // Metrics on their own port; pushed to a collector, and traces, only when OTEL_* ask for it.
  const telemetry = telemetryRequested(Boolean(opts.metrics), process.env)
    ? await startTelemetry({
        serviceName: "sluice-gateway",
        ...(opts.metrics ? { metrics: { ...opts.metrics, tls: opts.security?.metricsTls } } : {}),
        logger: log.child("telemetry"),
      })
    : undefined;
  const metrics = telemetry ? new GatewayMetrics(telemetry.meter) : GatewayMetrics.noop();
  const tracer = telemetry?.tracing ? telemetry.tracer : undefined;
  let zk: GatewayZk;
  try {
    zk = await GatewayZk.connect({
      connect: opts.zk,
      sessionTimeoutMs: opts.zkSessionTimeoutMs,
      auth: opts.zkCredentials
        ? { credentials: opts.zkCredentials, acl: sluiceAclPolicy(paths, opts.zkCredentials) }
        : undefined,
      logger: log.child("zk"),
    });
  } catch (err) {
    security.close();
    await telemetry?.close();
    throw err;
  }
  let address = "";
  const runners = new RunnerTable(zk, paths, opts.holdMs, log.child("routes"));
  const holds = new ClientHolds(zk, paths, () => address, opts.leaseIdleMs, log.child("holds"));
  holds.onRenewed = () => metrics.leaseRenewed();
  metrics.observe(holds, runners);
  const upstreamTls = opts.security?.upstreamTls;
  const dialer = upstreamTls ? tlsDialer(upstreamTls) : CLEARTEXT;
  const upstream = new UpstreamPool(opts.maxMessageBytes, dialer);
  // The call pipeline: every call, on every path (connect-es's and the byte relays), runs these
  // hooks in order before anything is relayed (docs/design.md, "Calls and trust"). Observers
  // first, so that they see refusals too; then the checks (authentication, authorization,
  // limits). Authentication also puts the gateway's proof and the caller's principal in the
  // headers of the calls relayed to servers.
  const pipeline = new CallPipeline([
    ...(tracer ? [tracingHook(tracer)] : []),
    metrics.hook(),
    ...security.hooks,
    ...(opts.hooks ?? []),
    limitsHook(opts.limits ?? DEFAULT_LIMITS, telemetry ? { meter: telemetry.meter } : {}),
  ]);
  const relay = new Relay(runners, upstream);
  const closing = new AbortController();
  // Every open relayed stream listens to it (Node would warn of a leak past 10 listeners).
  setMaxListeners(0, closing.signal);
  // Stream (gRPC, binary Connect), Get, Ack and Rollback (gRPC, Connect) are relayed as bytes
  // (raw-stream.ts, raw-unary.ts).
  const rawSessions = new RawSessions(dialer);
  const frameBuffers = new FrameBuffers(KEPT_FRAME_BYTES);
  const rawStream = createRawStreamHandler(
    runners,
    holds,
    pipeline,
    closing.signal,
    rawSessions,
    { request: opts.maxRequestBytes, answer: opts.maxMessageBytes },
    frameBuffers,
    log.child("stream"),
  );
  const unaryConnections = new H2Pool((address) => dialer.connect(address), { allocate: frameBuffers.take });
  const rawUnary = createRawUnaryHandler(
    runners,
    holds,
    pipeline,
    unaryConnections,
    { request: opts.maxRequestBytes, answer: opts.maxMessageBytes },
    frameBuffers,
    log.child("call"),
  );
  let http: ConnectServer;
  try {
    http = await startConnectServer({
      host: opts.host,
      port: opts.port,
      logger: log.child("http"),
      readMaxBytes: opts.maxRequestBytes,
      shutdownTimeoutMs: opts.shutdownTimeoutMs,
      tls: opts.security?.tls,
      pipeline,
      preempt: (req, res) => rawStream(req, res) || rawUnary(req, res),
      routes(router) {
        router.service(CanalService, withCallErrors(createCanalProxy(relay, holds, log.child("canal"))));
        router.service(
          AdminService,
          withCallErrors(createAdminProxy(relay, holds, zk, paths, log.child("admin"))),
        );
        router.service(
          Health,
          createHealthService(() => zk.ready),
        );
        router.service(
          ServerReflection,
          createReflectionService([CanalService, AdminService, Health, ServerReflection]),
        );
      },
      extraHandlers: security.guardPlain((req, res) => {
        const path = (req.url ?? "").split("?")[0];
        if (path === "/healthz" || path === "/readyz") {
          const ok = path === "/healthz" || zk.ready;
          res.writeHead(ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8" });
          res.end(ok ? "ok\n" : "no ZooKeeper session\n");
          return true;
        }
        return serveStatusPage(req, res);
      }),
    });
  } catch (err) {
    zk.close();
    security.close();
    await telemetry?.close();
    throw err;
  }
  address = http.address;
  log.info("gateway serving", {
    address,
    zk: opts.zk,
    root: opts.zkRoot,
    zkUser: opts.zkCredentials?.user ?? "none (holds open to anyone)",
    toServers: upstreamTls ? "TLS" : "h2c",
  });
  let closed: Promise<void> | undefined;
  return {
    address: http.address,
    port: http.port,
    url: http.url,
    metricsUrl: telemetry?.metricsUrl,
    close() {
      closed ??= (async () => {
        closing.abort();
        await http.close();
        upstream.close();
        rawSessions.close();
        unaryConnections.close();
        zk.close();
        security.close();
        await telemetry?.close();
      })();
      return closed;
    },
  };
}
