// The cluster the bench runs faults against, all on 127.0.0.1: the harness's MariaDB, a
// 3-node ZooKeeper ensemble, sluice servers sharing destination "example", sluice gateways,
// and haproxy in front of the gateways. Every process is a child of the bench (harness
// spawnManaged: killed with it, whatever happens), logging with timestamps into `dir`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MariaDB, startMariaDB } from "../../test/harness/mariadb.js";
import { freePort, type ManagedProcess, spawnManaged, waitFor } from "../../test/harness/processes.js";
import { SLUICE_MAIN } from "../../test/harness/sluice-server.js";
import { startZooKeeperEnsemble, type ZooKeeper } from "../../test/harness/zookeeper.js";
import { type Haproxy, startHaproxy } from "./haproxy.js";

export const DESTINATION = "example";

export interface ClusterOptions {
  dir: string;
  servers: number;
  gateways: number;
  sessionTimeoutMs: number;
  regrabDelayMs: number;
  gatewaySessionTimeoutMs: number;
  logLevel: string;
  checkIntervalMs: number;
  shutdownSessions: boolean;
}

/** A sluice server or gateway: a child process that can be signalled and started again. */
export class Service {
  process?: ManagedProcess;
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly args: string[],
    private readonly readyPath: string,
    private readonly dir: string,
    private readonly logLevel: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Running (possibly frozen), not exited. */
  get alive(): boolean {
    const c = this.process?.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Starts the process and resolves once `readyPath` answers 200. */
  async start(): Promise<void> {
    const p = spawnManaged(this.name, process.execPath, [SLUICE_MAIN, ...this.args], {
      logFile: join(this.dir, `${this.name}.log`),
      env: { ...process.env, SLUICE_LOG_LEVEL: this.logLevel },
    });
    this.process = p;
    await waitFor(
      `${this.name} to be ready`,
      async () =>
        (await fetch(`http://${this.address}${this.readyPath}`).catch(() => undefined))?.ok
          ? true
          : undefined,
      {
        timeoutMs: 30_000,
        failIf: () => (p.child.exitCode !== null ? `exited; see ${p.logFile}` : undefined),
      },
    );
  }

  async ready(): Promise<boolean> {
    const res = await fetch(`http://${this.address}${this.readyPath}`, {
      signal: AbortSignal.timeout(1000),
    }).catch(() => undefined);
    return res?.ok ?? false;
  }
}

/** One AdminService call as HTTP/JSON, with a short deadline (the target may be frozen). */
async function admin(s: Service, method: string, body: object): Promise<unknown> {
  const res = await fetch(`http://${s.address}/sluice.v1.AdminService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(2000),
  });
  if (!res.ok) throw new Error(`${s.name} ${method}: HTTP ${res.status}`);
  return res.json();
}

export class Cluster {
  private constructor(
    readonly opts: ClusterOptions,
    readonly db: MariaDB,
    readonly zk: ZooKeeper,
    readonly servers: Service[],
    readonly gateways: Service[],
    readonly haproxy: Haproxy,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.haproxy.port}`;
  }

  static async start(opts: ClusterOptions, log: (line: string) => void): Promise<Cluster> {
    const [db, zk] = await Promise.all([startMariaDB(), startZooKeeperEnsemble(3)]);
    const started: Service[] = [];
    try {
      log(`# MariaDB on 127.0.0.1:${db.port}; ZooKeeper ensemble ${zk.connectString}`);
      await db.query("CREATE DATABASE fo; CREATE TABLE fo.t (id INT PRIMARY KEY, pad VARCHAR(40))");
      const config = join(opts.dir, "sluice.yaml");
      writeFileSync(
        config,
        [
          "host: 127.0.0.1",
          "metrics: { enabled: false }",
          "zk:",
          `  connect: "${zk.connectString}"`,
          `  sessionTimeout: ${opts.sessionTimeoutMs}ms`,
          `  regrabDelay: ${opts.regrabDelayMs}ms`,
          "destinations:",
          `  - name: ${DESTINATION}`,
          `    source: "${db.sourceUrl}"`,
          "    heartbeat: 1s",
          "",
        ].join("\n"),
      );
      const servers: Service[] = [];
      for (let i = 1; i <= opts.servers; i++) {
        const port = await freePort();
        const args = ["server", "--config", config, "--port", String(port)];
        servers.push(new Service(`server-${i}`, port, args, "/healthz", opts.dir, opts.logLevel));
      }
      const gateways: Service[] = [];
      for (let i = 0; i < opts.gateways; i++) {
        const port = await freePort();
        const args = [
          "gateway",
          "--zk",
          zk.connectString,
          "--port",
          String(port),
          "--zk-session-timeout",
          `${opts.gatewaySessionTimeoutMs}ms`,
          "--metrics-port",
          "off",
        ];
        gateways.push(
          new Service(`gateway-${"abcdefgh"[i]}`, port, args, "/readyz", opts.dir, opts.logLevel),
        );
      }
      for (const s of [...servers, ...gateways]) {
        started.push(s);
        await s.start();
      }
      const haproxy = await startHaproxy(opts.dir, {
        port: await freePort(),
        backends: gateways.map((g) => ({ name: g.name, port: g.port })),
        checkIntervalMs: opts.checkIntervalMs,
        fall: 2,
        rise: 2,
        shutdownSessions: opts.shutdownSessions,
        statsSocket: join(opts.dir, "haproxy.sock"),
      });
      const cluster = new Cluster(opts, db, zk, servers, gateways, haproxy);
      await cluster.runner(60_000);
      return cluster;
    } catch (err) {
      for (const s of started) {
        s.process?.resume();
        await s.process?.stop().catch(() => {});
      }
      await Promise.all([db.stop(), zk.stop()]);
      throw err;
    }
  }

  /**
   * The server running the destination now (waits through an election): the one whose
   * ListDestinations names it. The bench asks the servers rather than ZooKeeper: a client of
   * its own would live through the ZooKeeper faults it injects (and the binding's fresh
   * connections can take over 15 s after a leader restart), which is not what it measures.
   */
  async runner(timeoutMs = 30_000): Promise<Service> {
    return waitFor(
      "a running server",
      async () => {
        for (const s of this.servers) {
          if (!s.alive) continue;
          const body = (await admin(s, "ListDestinations", {}).catch(() => undefined)) as
            | { destinations?: { name: string }[] }
            | undefined;
          if (body?.destinations?.some((d) => d.name === DESTINATION)) return s;
        }
        return undefined;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  /** The gateway holding clientId, as a gateway's AdminService tells (undefined: none). */
  async holder(clientId: string): Promise<Service | undefined> {
    for (const g of this.gateways) {
      if (!g.alive) continue;
      const body = (await admin(g, "GetDestination", { destination: DESTINATION }).catch(() => undefined)) as
        | { destination?: { clients?: { clientId: string; holder?: string }[] } }
        | undefined;
      const clients = body?.destination?.clients;
      if (!clients) continue;
      const via = /via (\S+)$/.exec(clients.find((c) => c.clientId === clientId)?.holder ?? "")?.[1];
      return this.gateways.find((x) => x.address === via);
    }
    return undefined;
  }

  /**
   * Everything is up: every server and gateway process runs and answers, haproxy has every
   * gateway UP, every ZooKeeper node serves and one leads, a server runs the destination.
   */
  async healthy(): Promise<string | undefined> {
    for (const s of [...this.servers, ...this.gateways]) {
      if (!s.alive) return `${s.name} is not running`;
      if (!(await s.ready())) return `${s.name} is not ready`;
    }
    const states = await this.haproxy.states().catch((err: Error) => new Map([["stats", err.message]]));
    for (const g of this.gateways) {
      if (states.get(g.name) !== "UP") return `haproxy has ${g.name} ${states.get(g.name) ?? "unknown"}`;
    }
    const modes = await Promise.all(this.zk.nodes.map((n) => n.mode()));
    if (modes.some((m) => m === undefined)) return `ZooKeeper nodes: ${modes.join(", ")}`;
    if (!modes.includes("leader")) return "no ZooKeeper leader";
    const noRunner = await this.runner(1000).then(
      () => undefined,
      (err: Error) => err.message,
    );
    return noRunner ? `no running server (${noRunner})` : undefined;
  }

  async stop(): Promise<void> {
    await this.haproxy.stop().catch(() => {});
    for (const s of [...this.gateways, ...this.servers]) {
      s.process?.resume(); // a frozen process cannot act on SIGTERM
      await s.process?.stop().catch(() => {});
    }
    await Promise.all([this.db.stop(), this.zk.stop()]);
  }
}
