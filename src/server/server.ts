// `sluice server`: the destinations of a config, their cursor store, and the Connect service
// on one port.
// - Standalone (no ZooKeeper): cursors in a local directory; every destination runs here.
// - With ZooKeeper: the server registers itself (canal's cluster nodes) and competes for each
//   destination's ephemeral running node (canal's JSON; its czxid is the destination's
//   epoch; see cluster/election.ts). It runs the destinations it wins and stands by for the
//   others, taking over when their runner goes. Cursors and filters live in ZooKeeper. The
//   session lease (cluster/session-lease.ts) stops serving before the session could have
//   expired elsewhere; when it has expired, the server stops what it ran and joins again.
//   With zk.balance, servers hand destinations over until each runs about its share. All of
//   that is cluster/membership.ts; destination/running-destinations.ts runs what it wins.
import { createLogger, type Logger } from "../common/log.js";
import {
  startTelemetry,
  type Telemetry,
  telemetryRequested,
  tracingHook,
} from "../common/telemetry/index.js";
import { ZkPaths } from "../common/zk/paths.js";
import { AdminService } from "../gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../gen/sluice/v1/canal_service_pb.js";
import { type ConnectServer, startConnectServer } from "../protocol/index.js";
import { type CallHook, CallPipeline } from "../protocol/pipeline.js";
import { limitsHook } from "../security/limits.js";
import { createSecurity } from "../security/security.js";
import { serveStatusPage } from "../status-page/serve.js";
import { ClusterAdminView } from "./cluster/admin-view.js";
import { ClusterMembership } from "./cluster/membership.js";
import type { DestinationConfig, ServerConfig } from "./config/types.js";
import { adoptCanalCursors, importCanalCursors } from "./destination/canal-import.js";
import { Destination } from "./destination/destination.js";
import { DestinationRegistry } from "./destination/registry.js";
import { RunningDestinations } from "./destination/running-destinations.js";
import type { Boundary } from "./entry/positions.js";
import { checkServerListeners } from "./listen-security.js";
import type { CursorStore } from "./meta/cursor-store.js";
import { FileCursorStore } from "./meta/file-cursor-store.js";
import { ServerMetrics } from "./metrics.js";
import { findBoundaryAfterGtid, findBoundaryAtTime } from "./parse/find-start.js";
import { createAdminService } from "./service/admin-service.js";
import { createCanalService } from "./service/canal-service.js";
import { ClientEpochs } from "./service/client-epochs.js";
import { clientFencingHook } from "./service/client-fencing.js";

export interface RunningServer {
  readonly address: string;
  readonly port: number;
  readonly url: string;
  readonly registry: DestinationRegistry;
  /** "http(s)://host:port/metrics" when metrics are served (metrics.enabled). */
  readonly metricsUrl: string | undefined;
  /** Graceful stop: finishes calls, ends streams, stops readers, releases ZooKeeper nodes. */
  close(): Promise<void>;
  /** Resolves with an error when the server can no longer keep its promises (exit then). */
  readonly failed: Promise<Error>;
}

export interface ServerOptions {
  /** Hooks every call runs, after the observers (tracing) and before consumer fencing. */
  hooks?: CallHook[];
}

export async function startServer(
  config: ServerConfig,
  logger: Logger = createLogger("server"),
  options: ServerOptions = {},
): Promise<RunningServer> {
  // Beyond loopback only with TLS and authentication, or when told it is on purpose.
  await checkServerListeners(config, logger);
  const registry = new DestinationRegistry();
  for (const d of config.destinations) registry.starting.add(d.name);
  let fail!: (e: Error) => void;
  const failed = new Promise<Error>((resolve) => {
    fail = resolve;
  });
  const since = Date.now();
  const zkPaths = new ZkPaths(config.zk?.root);
  // Authentication and authorization (security: in the config; docs/security.md).
  const security = createSecurity(config.auth, "server", logger);
  // Metrics on their own port (metrics.*); pushed to a collector, and traces, only when OTEL_* ask for it.
  const telemetry: Telemetry | undefined = telemetryRequested(config.metrics.enabled, process.env)
    ? await startTelemetry({
        serviceName: "sluice-server",
        ...(config.metrics.enabled
          ? {
              metrics: {
                host: config.metrics.host,
                port: config.metrics.port,
                tls: config.security?.tls?.metrics,
              },
            }
          : {}),
        logger: logger.child("telemetry"),
      })
    : undefined;
  const metrics = telemetry ? new ServerMetrics(telemetry.meter) : ServerMetrics.noop();
  const byName = new Map(config.destinations.map((d) => [d.name, d]));
  const sourceOf = (name: string) => {
    const s = byName.get(name)?.source;
    return { host: s?.host ?? "", port: s?.port ?? 0 };
  };
  const destinations: RunningDestinations = new RunningDestinations({
    registry,
    make: (name, store) =>
      makeDestination(config, byName.get(name) as DestinationConfig, store, {
        logger,
        metrics,
        fail,
        ...(membership ? { mayServe: () => membership.mayServe() } : {}),
      }),
    prepare: async (name, store) => {
      const dc = byName.get(name) as DestinationConfig;
      await importCursors(dc, store, logger);
      if (membership) {
        await adoptCanalCursors({ destination: name, source: dc.source, store, logger: logger.child(name) });
      }
    },
    metrics,
    fail,
  });
  // With ZooKeeper: registered, electing and rejoining in cluster/membership.ts.
  const membership: ClusterMembership | undefined = config.zk
    ? new ClusterMembership({
        zk: config.zk,
        paths: zkPaths,
        destinations: config.destinations.map((d) => d.name),
        advertised,
        sourceOf,
        host: destinations,
        logger,
      })
    : undefined;
  const epochs = new ClientEpochs();
  const canal = createCanalService(registry, epochs);
  // The call pipeline: every call, on every path, runs these hooks in order before its handler
  // acts (docs/design.md, "Calls and trust"). Observers first, so that they see refusals too;
  // then the checks (authentication, authorization, limits); consumer fencing last, as it acts,
  // and only on what gateways send once authentication is configured.
  const pipeline = new CallPipeline([
    ...(telemetry?.tracing ? [tracingHook(telemetry.tracer)] : []),
    ...security.hooks,
    ...(options.hooks ?? []),
    limitsHook(config.limits, telemetry ? { meter: telemetry.meter } : {}),
    clientFencingHook(registry, epochs, security.fencingTrusted),
  ]);
  let http: ConnectServer;
  try {
    http = await startConnectServer({
      host: config.host,
      port: config.port,
      logger: logger.child("http"),
      readMaxBytes: config.maxRequest,
      // Batches go out as the bytes the store holds; gzip would cost more CPU per row than
      // all the rest of delivery (docs/benchmarks.md), for loopback and LAN consumers.
      compressResponses: false,
      tls: config.security?.tls?.listen,
      pipeline,
      leanUnary: [{ service: CanalService, implementation: canal, methods: ["get", "ack", "rollback"] }],
      leanStream: [{ service: CanalService, implementation: canal, methods: ["stream"] }],
      routes(router) {
        router.service(CanalService, canal);
        router.service(
          AdminService,
          createAdminService(registry, {
            get address() {
              return advertised();
            },
            since,
            ...(membership ? { cluster: new ClusterAdminView(membership, zkPaths, advertised) } : {}),
          }),
        );
      },
      extraHandlers: security.guardPlain((req, res) => {
        if (req.url === "/healthz" || req.url === "/readyz") {
          const ready = req.url === "/healthz" || registry.starting.size === 0;
          const broken = registry.all.filter((d) => d.failure);
          const ok = ready && broken.length === 0;
          res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
          res.end(
            ok ? "ok\n" : broken.length ? `failed: ${broken.map((d) => d.name).join(", ")}\n` : "starting\n",
          );
          return true;
        }
        return serveStatusPage(req, res);
      }),
    });
  } catch (err) {
    security.close();
    await telemetry?.close();
    throw err;
  }
  function advertised(): string {
    return config.advertise.endsWith(":0")
      ? config.advertise.replace(/:0$/, `:${http.port}`)
      : config.advertise;
  }

  let closing: Promise<void> | undefined;
  metrics.observe(
    registry,
    config.destinations.map((d) => d.name),
    () => (membership ? (membership.mayServe() === undefined ? 1 : 0) : undefined),
  );
  const stopAll = async () => {
    // Hand the destinations over first (each stops serving, then deletes its running node),
    // so that standbys take over at once, not after open calls have drained.
    await membership?.leave();
    await http.close();
    await destinations.close();
    membership?.close();
    security.close();
    await telemetry?.close();
  };
  try {
    if (membership) await membership.join();
    else {
      const store = new FileCursorStore(config.dataDir, sourceOf);
      for (const dc of config.destinations) await destinations.start(dc.name, store);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  logger.info("serving", {
    address: http.address,
    destinations: config.destinations.map((d) => d.name).join(","),
    mode: config.zk ? "zookeeper" : "standalone",
    ...(config.zk ? { zk: config.zk.connect } : { dataDir: config.dataDir }),
  });

  return {
    address: http.address,
    port: http.port,
    url: http.url,
    registry,
    metricsUrl: telemetry?.metricsUrl,
    failed,
    close() {
      closing ??= stopAll();
      return closing;
    },
  };
}

interface DestinationContext {
  logger: Logger;
  metrics: ServerMetrics;
  fail(err: Error): void;
  /** In a cluster: undefined while this server may serve (cluster/session-lease.ts). */
  mayServe?: () => string | undefined;
}

function makeDestination(
  config: ServerConfig,
  dc: DestinationConfig,
  store: CursorStore,
  ctx: DestinationContext,
): Destination {
  return new Destination({
    name: dc.name,
    source: dc.source,
    ...startOf(dc),
    limits: { maxEntries: config.store.maxEntries, maxBytes: config.store.maxBytes },
    catchUpReaders: config.store.catchUpReaders,
    store,
    heartbeatMs: dc.heartbeatMs,
    ...(dc.timeZone ? { timeZone: dc.timeZone } : {}),
    schemaLookup: dc.schemaLookup,
    filter: {
      filter: dc.filter,
      blackFilter: dc.blackFilter,
      fieldFilter: dc.fieldFilter,
      fieldBlackFilter: dc.fieldBlackFilter,
      filterQueryDdl: dc.filterQueryDdl,
      filterTableError: dc.filterTableError,
    },
    logger: ctx.logger.child(dc.name),
    metrics: ctx.metrics.forDestination(dc.name),
    onFatal: (err, failure) => {
      // Stopped on what an administrator can fix through the admin API (an event to skip, a
      // cursor the source cannot stream from): the destination holds its place (and, in a
      // cluster, its running node, so that no other server stops the same way in turn) and
      // says why in its status. Anything else: the process exits, saying why.
      if (!failure.fix) ctx.fail(new Error(`destination ${dc.name}: ${err.message}`));
    },
    ...(ctx.mayServe ? { mayServe: ctx.mayServe } : {}),
  });
}

/** canal's file-mode cursors (--canal-conf), imported before the destination first reads them. */
function importCursors(dc: DestinationConfig, store: CursorStore, logger: Logger): Promise<void> {
  if (!dc.canalMetaFile) return Promise.resolve();
  return importCanalCursors({
    destination: dc.name,
    file: dc.canalMetaFile,
    source: dc.source,
    store,
    logger: logger.child(dc.name),
  });
}

function startOf(dc: DestinationConfig): { start?: () => Promise<Boundary | undefined> } {
  const s = dc.start;
  if (!s) return {};
  if (s.kind === "file") {
    const at: Boundary = { file: s.file, position: s.position, gtid: "", timestamp: 0 };
    return { start: async () => at };
  }
  if (s.kind === "timestamp") return { start: () => findBoundaryAtTime(dc.source, s.ms) };
  return { start: () => findBoundaryAfterGtid(dc.source, s) };
}
