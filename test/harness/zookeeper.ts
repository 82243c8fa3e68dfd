// Private ZooKeeper servers for tests: standalone, or an N-node ensemble on loopback, each in
// its own temp dir with free ports, started from Debian's zookeeper.jar.
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import {
  freePorts,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  spawnManaged,
  waitFor,
} from "./processes.js";
import { ensureSystemPackages, ZOOKEEPER } from "./system-packages.js";

const CLASSPATH = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"].join(":");

// Short ticks make short session timeouts possible in fault tests (a client asks for its
// timeout; the server clamps it to [2, 20] ticks unless min/max are set, as here).
const TICK_MS = 200;

export interface ZooKeeperOptions {
  /** Smallest and largest session timeout the server grants (ms). */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
}

export interface ZooKeeperNode {
  readonly id: number;
  readonly clientPort: number;
  readonly dir: string;
  process: ManagedProcess;
  /** "standalone", "leader", "follower" or undefined when not serving. */
  mode(): Promise<string | undefined>;
  /** SIGKILL this node. */
  kill(): Promise<void>;
  /** Start this node again after kill()/stop(), with its data. */
  restart(): Promise<void>;
}

export interface ZooKeeper {
  /** host:port[,host:port...] for clients. */
  readonly connectString: string;
  readonly nodes: ZooKeeperNode[];
  /** The node that leads an ensemble (the only node when standalone). */
  leader(): Promise<ZooKeeperNode>;
  stop(): Promise<void>;
}

export async function startZooKeeper(opts: ZooKeeperOptions = {}): Promise<ZooKeeper> {
  return startNodes(1, opts);
}

export async function startZooKeeperEnsemble(size = 3, opts: ZooKeeperOptions = {}): Promise<ZooKeeper> {
  if (size < 3 || size % 2 === 0) throw new Error(`an ensemble needs an odd size of at least 3, got ${size}`);
  return startNodes(size, opts);
}

async function startNodes(size: number, opts: ZooKeeperOptions): Promise<ZooKeeper> {
  ensureSystemPackages(ZOOKEEPER);
  const ports = await freePorts(size * 3);
  const servers = Array.from({ length: size }, (_, i) => ({
    id: i + 1,
    clientPort: ports[i * 3] as number,
    peerPort: ports[i * 3 + 1] as number,
    electionPort: ports[i * 3 + 2] as number,
  }));
  const nodes: ZooKeeperNode[] = [];
  for (const s of servers) {
    const dir = makeTempDir(`zk${s.id}`);
    const lines = [
      `tickTime=${TICK_MS}`,
      "initLimit=20",
      "syncLimit=10",
      `dataDir=${join(dir, "data")}`,
      `clientPort=${s.clientPort}`,
      "clientPortAddress=127.0.0.1",
      `minSessionTimeout=${opts.minSessionTimeoutMs ?? 2 * TICK_MS}`,
      `maxSessionTimeout=${opts.maxSessionTimeoutMs ?? 60_000}`,
      "admin.enableServer=false",
      "4lw.commands.whitelist=ruok,srvr,stat,mntr,cons",
      "maxClientCnxns=0",
      "autopurge.purgeInterval=0",
    ];
    if (size > 1) {
      lines.push("standaloneEnabled=false", "quorumListenOnAllIPs=false", "electionPortBindRetry=20");
      for (const o of servers) lines.push(`server.${o.id}=127.0.0.1:${o.peerPort}:${o.electionPort}`);
    }
    writeFileSync(join(dir, "zoo.cfg"), `${lines.join("\n")}\n`);
    mkdirSync(join(dir, "data"), { recursive: true });
    writeFileSync(join(dir, "data", "myid"), `${s.id}\n`);
    nodes.push(makeNode(s.id, s.clientPort, dir));
  }
  await Promise.all(
    nodes.map((n) =>
      waitFor(
        `ZooKeeper node ${n.id} on 127.0.0.1:${n.clientPort}`,
        async () => (await n.mode()) ?? undefined,
        {
          timeoutMs: 60_000,
          intervalMs: 100,
          failIf: () => (n.process.child.exitCode !== null ? `exited; see ${n.process.logFile}` : undefined),
        },
      ),
    ),
  );
  return {
    connectString: nodes.map((n) => `127.0.0.1:${n.clientPort}`).join(","),
    nodes,
    async leader() {
      for (const n of nodes) {
        const m = await n.mode();
        if (m === "leader" || m === "standalone") return n;
      }
      throw new Error("no ZooKeeper node is leading");
    },
    async stop() {
      await Promise.all(
        nodes.map(async (n) => {
          await n.process.stop(5000);
          removeDir(n.dir);
        }),
      );
    },
  };
}

function makeNode(id: number, clientPort: number, dir: string): ZooKeeperNode {
  const launch = () =>
    spawnManaged(
      `zookeeper-${id}`,
      "java",
      [
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Dzookeeper.jmx.log4j.disable=true",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        CLASSPATH,
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        join(dir, "zoo.cfg"),
      ],
      { logFile: join(dir, "zookeeper.log"), cleanupDir: dir },
    );
  const node: ZooKeeperNode = {
    id,
    clientPort,
    dir,
    process: launch(),
    mode: () =>
      fourLetterWord(clientPort, "srvr").then(
        (out) => /Mode: (\w+)/.exec(out)?.[1],
        () => undefined,
      ),
    async kill() {
      await node.process.kill();
    },
    async restart() {
      await node.process.kill();
      node.process = launch();
      await waitFor(`ZooKeeper node ${id} to serve again`, async () => (await node.mode()) ?? undefined, {
        timeoutMs: 60_000,
      });
    },
  };
  return node;
}

/** Sends a ZooKeeper four-letter command and returns the reply. */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    let out = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer to ${word} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on("connect", () => sock.write(word));
    sock.on("data", (d) => {
      out += d.toString();
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
