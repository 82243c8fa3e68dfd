// The deployment bench/scale measures, all on 127.0.0.1 and every process a child of the bench:
// the harness's MariaDB with one database per destination (s01.t, s02.t, ...), the harness's
// ZooKeeper, `--servers` sluice servers sharing one configuration of every destination (each
// filtered to its own database, so each carries rows of its own) with balancing on, and one
// gateway whose per-client limits leave room for every stream. Servers are started together, as a deployment's would be, and the bench watches
// the runners settle through the gateway's AdminService.ListDestinations.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { type MariaDB, startMariaDB } from "../../test/harness/mariadb.js";
import { freePort } from "../../test/harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../../test/harness/zookeeper.js";
import { SLUICE, type SluiceProcess, spawnSluice, startGateway } from "../delivery/sluice-procs.js";

export interface ScaleCluster {
  db: MariaDB;
  zk: ZooKeeper;
  servers: SluiceProcess[];
  gateway: SluiceProcess;
  destinations: string[];
  /** performance.now() when the servers were started. */
  startedAt: number;
  /** Each destination's runner address now, as the gateway sees ZooKeeper (undefined: none). */
  runners(): Promise<Array<string | undefined>>;
  stop(): Promise<void>;
}

/** d01, d02, ... and their databases s01, s02, ... */
export const destinationName = (i: number, width: number) => `d${String(i + 1).padStart(width, "0")}`;
export const databaseOf = (destination: string) => `s${destination.slice(1)}`;

export async function startScaleCluster(o: {
  dir: string;
  destinations: number;
  servers: number;
  /** Streams the gateway will carry (its per-client limits are set from it). */
  streams: number;
  /** store.maxBytes, bytes. */
  maxBytes: number;
}): Promise<ScaleCluster> {
  const [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  const stopped: Array<() => Promise<void>> = [() => db.stop(), () => zk.stop()];
  const stopAll = async () => {
    for (const s of stopped.reverse()) await s().catch(() => {});
  };
  try {
    const width = Math.max(2, String(o.destinations).length);
    const destinations = Array.from({ length: o.destinations }, (_, i) => destinationName(i, width));
    await db.query(
      destinations
        .map((d) => {
          const s = databaseOf(d);
          return `CREATE DATABASE ${s}; CREATE TABLE ${s}.t (id INT PRIMARY KEY, t_us BIGINT NOT NULL, pad CHAR(60) NOT NULL)`;
        })
        .join(";"),
    );
    const zkRoot = `/bench-scale-${process.pid}`;
    const config = join(o.dir, "sluice.yaml");
    writeFileSync(config, serverConfig(db, zk, zkRoot, destinations, o.maxBytes));
    // The gateway's per-client limits count every consumer here as one client (127.0.0.1):
    // room for every stream and one ack of each, as for consumers of one host behind a NAT.
    const limits = ["--limit-streams", String(2 * o.streams), "--limit-calls", String(2 * o.streams)];
    limits.push("--limit-rate", String(Math.max(10_000, 100 * o.streams)));
    const gateway = await startGateway({ dir: o.dir, name: "gateway", zk, zkRoot, extraArgs: limits });
    stopped.push(() => gateway.stop());
    const ports = await Promise.all(Array.from({ length: o.servers }, () => freePort()));
    const startedAt = performance.now();
    const servers = await Promise.all(
      ports.map((port, i) =>
        spawnSluice({
          dir: o.dir,
          name: `server-${i + 1}`,
          port,
          args: [SLUICE, "server", "--config", config, "--port", String(port)],
          readyPath: "/healthz",
        }).then((s) => {
          stopped.push(() => s.stop());
          return s;
        }),
      ),
    );
    const admin = createSluiceClient({ baseUrl: gateway.url }).admin;
    const runners = async () => {
      const r = await admin.listDestinations({});
      const by = new Map(r.destinations.map((d) => [d.name, d.running?.address || undefined]));
      return destinations.map((d) => by.get(d));
    };
    return { db, zk, servers, gateway, destinations, startedAt, runners, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function serverConfig(db: MariaDB, zk: ZooKeeper, zkRoot: string, destinations: string[], maxBytes: number) {
  return [
    "host: 127.0.0.1",
    "metrics: { enabled: false }",
    `zk: { connect: "${zk.connectString}", root: "${zkRoot}", balance: true }`,
    `store: { maxBytes: ${maxBytes} }`,
    "destinations:",
    ...destinations.flatMap((d) => [
      `  - name: ${d}`,
      `    source: "${db.sourceUrl}"`,
      // Each destination decodes and delivers only its own database's rows.
      `    filter: '${databaseOf(d)}\\..*'`,
      "    heartbeat: 1s",
    ]),
    "",
  ].join("\n");
}
