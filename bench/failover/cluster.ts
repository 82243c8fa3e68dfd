// The cluster the bench runs faults against, all on 127.0.0.1: the harness's MariaDB, a
// 3-node ZooKeeper ensemble, sluice servers sharing destination "example", sluice gateways,
// and haproxy in front of the gateways. Every process is a child of the bench (harness
// spawnManaged: killed with it, whatever happens), logging with timestamps into `dir`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
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

export class Cluster {
  private constructor(
    readonly opts: ClusterOptions,
    readonly db: MariaDB,
    readonly zk: ZooKeeper,
    private zkc: ZkClient,
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
    let zkc: ZkClient | undefined;
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
      zkc = await ZkClient.connect(zk.connectString);
      const haproxy = await startHaproxy(opts.dir, {
        port: await freePort(),
        backends: gateways.map((g) => ({ name: g.name, port: g.port })),
        checkIntervalMs: opts.checkIntervalMs,
        fall: 2,
        rise: 2,
        shutdownSessions: opts.shutdownSessions,
        statsSocket: join(opts.dir, "haproxy.sock"),
      });
      const cluster = new Cluster(opts, db, zk, zkc, servers, gateways, haproxy);
      await cluster.runner(60_000);
      return cluster;
    } catch (err) {
      zkc?.close();
      for (const s of started) {
        s.process?.resume();
        await s.process?.stop().catch(() => {});
      }
      await Promise.all([db.stop(), zk.stop()]);
      throw err;
    }
  }

  /**
   * The bench's own ZooKeeper client, made again if its session ended or it has not been
   * connected for 10 s (it must not depend on the faults it injects into the ensemble).
   */
  async #client(): Promise<ZkClient> {
    if (this.zkc.state === "connected") this.#zkcDownSince = undefined;
    else this.#zkcDownSince ??= Date.now();
    if (this.zkc.state === "closed" || Date.now() - (this.#zkcDownSince ?? Date.now()) > 10_000) {
      this.zkc.close();
      this.zkc = await ZkClient.connect(this.zk.connectString);
      this.#zkcDownSince = undefined;
    }
    return this.zkc;
  }
  #zkcDownSince?: number;

  /** The server running the destination now (waits through an election). */
  async runner(timeoutMs = 30_000): Promise<Service> {
    const path = new ZkPaths().destinationRunning(DESTINATION);
    return waitFor(
      "a running server",
      async () => {
        const { data } = await (await this.#client()).get(path);
        const address = (JSON.parse(data.toString("utf8")) as { address: string }).address;
        return this.servers.find((s) => s.address === address && s.alive);
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  /** The gateway whose ZooKeeper session holds clientId (undefined while nobody holds it). */
  async holder(clientId: string): Promise<Service | undefined> {
    const { data } = await (await this.#client())
      .get(new ZkPaths().clientRunning(DESTINATION, clientId))
      .catch(() => ({ data: undefined }));
    if (!data) return undefined;
    const gateway = (JSON.parse(data.toString("utf8")) as { gateway?: string }).gateway;
    return this.gateways.find((g) => g.address === gateway);
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
    return noRunner
      ? `no running server (${noRunner}; the bench's ZooKeeper client is ${this.zkc.state})`
      : undefined;
  }

  async stop(): Promise<void> {
    this.zkc.close();
    await this.haproxy.stop().catch(() => {});
    for (const s of [...this.gateways, ...this.servers]) {
      s.process?.resume(); // a frozen process cannot act on SIGTERM
      await s.process?.stop().catch(() => {});
    }
    await Promise.all([this.db.stop(), this.zk.stop()]);
  }
}
