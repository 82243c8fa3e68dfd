// `sluice server`: the destinations of a config, their cursor store, and the Connect service
// on one port.
// - Standalone (no ZooKeeper): cursors in a local directory; every destination runs here.
// - With ZooKeeper: the server registers itself (canal's cluster nodes) and competes for each
//   destination's ephemeral running node (canal's JSON; its czxid is the destination's
//   epoch; see cluster/election.ts). It runs the destinations it wins and stands by for the
//   others, taking over when their runner goes. Cursors and filters live in ZooKeeper. The
//   session lease (cluster/session-lease.ts) stops serving before the session could have
//   expired elsewhere; when it has expired, the server stops what it ran and joins again.
//   With zk.balance, servers hand destinations over until each runs about its share.
import { Code, ConnectError } from "@connectrpc/connect";
import { createLogger, type Logger } from "../common/log.js";
import {
  startTelemetry,
  type Telemetry,
  telemetryRequested,
  tracingHook,
} from "../common/telemetry/index.js";
import { sluiceAclPolicy } from "../common/zk/acl.js";
import { warnOfAclFindings } from "../common/zk/acl-warning.js";
import { ZkClient, ZkError, ZOO_EPHEMERAL } from "../common/zk/client.js";
import { ZkPaths } from "../common/zk/paths.js";
import { notApplied } from "../contracts/not-applied.js";
import { AdminService } from "../gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../gen/sluice/v1/canal_service_pb.js";
import { type ConnectServer, startConnectServer } from "../protocol/index.js";
import { type CallHook, CallPipeline } from "../protocol/pipeline.js";
import { limitsHook } from "../security/limits.js";
import { createSecurity } from "../security/security.js";
import { serveStatusPage } from "../status-page/serve.js";
import { Balancer } from "./cluster/balancer.js";
import { DestinationElection } from "./cluster/election.js";
import { SessionLease } from "./cluster/session-lease.js";
import type { DestinationConfig, ServerConfig } from "./config/types.js";
import { adoptCanalCursors, importCanalCursors } from "./destination/canal-import.js";
import { Destination } from "./destination/destination.js";
import { DestinationRegistry } from "./destination/registry.js";
import type { Boundary } from "./entry/positions.js";
import { checkServerListeners } from "./listen-security.js";
import type { CursorStore } from "./meta/cursor-store.js";
import { FileCursorStore } from "./meta/file-cursor-store.js";
import { ZkCursorStore } from "./meta/zk-cursor-store.js";
import { ServerMetrics } from "./metrics.js";
import { findBoundaryAfterGtid, findBoundaryAtTime } from "./parse/find-start.js";
import { ReplicationError } from "./replication/replication-client.js";
import { type ClusterView, createAdminService } from "./service/admin-service.js";
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
  // The ZooKeeper side as the admin service sees it (only used with --zk).
  const clusterView: ClusterView = {
    async standbys(name) {
      if (!zk) return [];
      const all = await zk.children(zkPaths.destinationCluster(name)).catch(() => []);
      return all.filter((a) => a !== advertised()).sort();
    },
    runningSince(name) {
      const e = elections.get(name);
      return e?.running ? e.runner?.since : undefined;
    },
    async release(name, to) {
      const e = elections.get(name);
      if (!e?.running) {
        throw notApplied(new ConnectError(`destination ${name} is not running here`, Code.Unavailable));
      }
      await e.handOver(to, to ? `released to ${to} by an administrator` : "released by an administrator");
    },
    async holder(name, clientId) {
      if (!zk) return undefined;
      try {
        const body = JSON.parse((await zk.get(zkPaths.clientRunning(name, clientId))).data.toString("utf8"));
        const who = typeof body.address === "string" && body.address ? body.address : "a consumer";
        return typeof body.gateway === "string" && body.gateway ? `${who} via ${body.gateway}` : who;
      } catch (err) {
        if (err instanceof ZkError && err.code === "NONODE") return undefined;
        throw err;
      }
    },
  };
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
      grpcUnary: [{ service: CanalService, implementation: canal, methods: ["get", "ack", "rollback"] }],
      routes(router) {
        router.service(CanalService, canal);
        router.service(
          AdminService,
          createAdminService(registry, {
            get address() {
              return advertised();
            },
            since,
            ...(config.zk ? { cluster: clusterView } : {}),
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
  const running = new Map<string, Destination>();
  const elections = new Map<string, DestinationElection>();
  let zk: ZkClient | undefined;
  let lease: SessionLease | undefined;
  let balancer: Balancer | undefined;
  metrics.observe(
    registry,
    config.destinations.map((d) => d.name),
    // lease is assigned below, once ZooKeeper is joined.
    () => (config.zk ? (lease?.check() === undefined && lease ? 1 : 0) : undefined),
  );
  const stopAll = async () => {
    // Hand the destinations over first (each stops serving, then deletes its running node),
    // so that standbys take over at once, not after open calls have drained.
    balancer?.stop();
    for (const e of elections.values()) await e.release();
    await http.close();
    for (const d of running.values()) await d.stop();
    running.clear();
    lease?.stop();
    zk?.close();
    security.close();
    await telemetry?.close();
  };
  const byName = new Map(config.destinations.map((d) => [d.name, d]));
  const sourceOf = (name: string) => {
    const s = byName.get(name)?.source;
    return { host: s?.host ?? "", port: s?.port ?? 0 };
  };
  const makeDestination = (dc: DestinationConfig, store: CursorStore) =>
    new Destination({
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
      logger: logger.child(dc.name),
      metrics: metrics.forDestination(dc.name),
      onFatal: (err, failure) => {
        // Stopped on what an administrator can fix through the admin API (an event to skip, a
        // cursor the source cannot stream from): the destination holds its place (and, in a
        // cluster, its running node, so that no other server stops the same way in turn) and
        // says why in its status. Anything else: the process exits, saying why.
        if (!failure.fix) fail(new Error(`destination ${dc.name}: ${err.message}`));
      },
      ...(config.zk ? { mayServe: () => (lease ? lease.check() : "this server is not in ZooKeeper") } : {}),
    });
  // canal's file-mode cursors (--canal-conf), imported before the destination first reads them.
  const importCursors = (dc: DestinationConfig, store: CursorStore) =>
    dc.canalMetaFile
      ? importCanalCursors({
          destination: dc.name,
          file: dc.canalMetaFile,
          source: dc.source,
          store,
          logger: logger.child(dc.name),
        })
      : Promise.resolve();
  try {
    if (config.zk) {
      const zkc = config.zk;
      const paths = zkPaths;
      const credentials = zkc.credentials;
      const acl = credentials ? sluiceAclPolicy(paths, credentials) : undefined;
      let audited = false;
      // One ZooKeeper session: register, compete for every destination. When the session
      // expires, everything it held is gone: stop what ran, and join again with a new one.
      const join = async (): Promise<void> => {
        const client = await ZkClient.connect(zkc.connect, {
          sessionTimeoutMs: zkc.sessionTimeoutMs,
          ...(credentials && acl ? { credentials, acl } : {}),
        });
        zk = client;
        // Cut off from ZooKeeper, the session may expire on the ensemble's side (and another
        // server take over) before the client even notices; the lease stops serving in time
        // (see cluster/session-lease.ts).
        lease?.stop();
        const ownLease = new SessionLease(
          client,
          paths.server(advertised()),
          {
            lapsed: (reason) => {
              for (const d of running.values()) d.suspend(reason);
            },
            renewed: () => {
              for (const d of running.values()) d.resume();
            },
          },
          logger.child("zk-lease"),
        );
        lease = ownLease;
        client.onState((state, reason) => {
          if (state === "connecting") {
            logger.warn("ZooKeeper connection lost; reconnecting within the session");
          } else if (state === "connected") {
            logger.info("ZooKeeper connected");
          } else if (state === "closed" && !closing) {
            ownLease.stop();
            void rejoin(reason ?? "closed");
          }
        });
        await client.ensurePath(paths.cluster());
        await client.create(paths.server(advertised()), "", ZOO_EPHEMERAL).catch(ignoreExists);
        ownLease.start();
        if (credentials && acl && !audited) {
          audited = true;
          void warnOfAclFindings(client, paths.root, acl, credentials, logger.child("zk-acl"));
        }
        const epochs = new Map<string, bigint>();
        const store = new ZkCursorStore(client, paths, sourceOf, (name) => epochs.get(name) ?? 0n);
        for (const dc of config.destinations) {
          const election: DestinationElection = new DestinationElection(
            client,
            paths,
            dc.name,
            advertised,
            zkc.regrabDelayMs,
            {
              async elected(epoch) {
                // The running node is ours from now on: until the destination serves, calls
                // are told it is starting (NotApplied, retry shortly), not that it runs
                // elsewhere, so that a gateway sends them here again rather than wait for
                // another runner.
                registry.elsewhere.delete(dc.name);
                registry.starting.add(dc.name);
                // Never two readers of one destination in one process.
                await running.get(dc.name)?.stop();
                epochs.set(dc.name, epoch);
                const d = makeDestination(dc, store);
                try {
                  await importCursors(dc, store);
                  await adoptCanalCursors({
                    destination: dc.name,
                    source: dc.source,
                    store,
                    logger: logger.child(dc.name),
                  });
                  await d.start();
                } catch (err) {
                  // The election gives the node up: this server stands by again.
                  registry.starting.delete(dc.name);
                  registry.elsewhere.set(dc.name, () => election.runner?.address);
                  // The source refused this server for good (credentials, privileges, binlog
                  // settings): exit, so that a supervisor restarts it, rather than hold on.
                  if (err instanceof ReplicationError && !err.retryable) {
                    fail(new Error(`destination ${dc.name}: ${err.message}`));
                  }
                  throw err;
                }
                running.set(dc.name, d);
                registry.add(d);
                registry.starting.delete(dc.name);
                metrics.electionWon(dc.name);
              },
              async lost() {
                metrics.electionLost(dc.name);
                const d = running.get(dc.name);
                running.delete(dc.name);
                registry.remove(dc.name);
                registry.elsewhere.set(dc.name, () => election.runner?.address);
                await d?.stop();
              },
            },
            logger.child(dc.name),
          );
          elections.set(dc.name, election);
          await election.start();
          if (!election.running) {
            registry.elsewhere.set(dc.name, () => election.runner?.address);
            registry.starting.delete(dc.name);
          }
        }
        balancer?.stop();
        balancer = undefined;
        if (zkc.balance) {
          balancer = new Balancer(
            client,
            paths,
            advertised,
            elections,
            // Let elections settle (a restarting server takes its own back first).
            { settleMs: Math.max(2000, zkc.regrabDelayMs * 4), intervalMs: 10_000 },
            logger.child("balancer"),
          );
          balancer.start();
        }
      };
      const rejoin = async (reason: string): Promise<void> => {
        // The running nodes went with the session; another server may run them by now.
        logger.warn("ZooKeeper session lost; stopping what this server ran and joining again", { reason });
        balancer?.stop();
        for (const d of running.values()) d.suspend(`ZooKeeper session lost (${reason})`);
        for (const [name, d] of running) {
          registry.remove(name);
          registry.starting.add(name);
          await d.stop();
        }
        running.clear();
        elections.clear();
        for (let attempt = 0; !closing; attempt++) {
          try {
            await join();
            logger.info("joined ZooKeeper again");
            return;
          } catch (err) {
            zk?.close();
            const delay = Math.min(10_000, 250 * 2 ** attempt);
            logger.warn("joining ZooKeeper failed; retrying", { error: (err as Error).message, inMs: delay });
            await new Promise((r) => setTimeout(r, delay));
          }
        }
      };
      await join();
    } else {
      const store = new FileCursorStore(config.dataDir, sourceOf);
      for (const dc of config.destinations) {
        const d = makeDestination(dc, store);
        await importCursors(dc, store);
        await d.start();
        running.set(dc.name, d);
        registry.add(d);
        registry.starting.delete(dc.name);
      }
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

function ignoreExists(err: unknown): void {
  if (!(err instanceof ZkError && err.code === "NODEEXISTS")) throw err;
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
