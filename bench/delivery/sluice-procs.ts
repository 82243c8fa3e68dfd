// The sluice processes of one bench/delivery run: a `sluice server` (elected through the
// harness's ZooKeeper, under a ZooKeeper root of its own so every run starts from nothing) and
// a `sluice gateway` on the same root, as child processes on loopback; and what the bench reads
// of them from /proc (CPU time, resident memory).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { freePort, type ManagedProcess, spawnManaged, waitFor } from "../../test/harness/processes.js";
import type { ZooKeeper } from "../../test/harness/zookeeper.js";
import type { BinlogPos } from "../decode/common.js";
import { processCpuSeconds } from "../decode/measure.js";

export const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
export const DESTINATION = "example";

export interface SluiceProcess {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  /** utime + stime so far, seconds (NaN once gone). */
  cpuSeconds(): number;
  /** Resident memory now, bytes (NaN once gone). */
  rssBytes(): number;
  /** SIGTERM and wait (a --cpu-prof process writes its profile then). */
  stop(): Promise<void>;
}

function wrap(name: string, port: number, p: ManagedProcess): SluiceProcess {
  const pid = p.child.pid as number;
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    process: p,
    cpuSeconds: () => processCpuSeconds(pid) ?? Number.NaN,
    rssBytes: () => rssBytes(pid),
    stop: () => p.stop(30_000),
  };
}

export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1] ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface ServerOptions {
  dir: string;
  name: string;
  zk: ZooKeeper;
  zkRoot: string;
  sourceUrl: string;
  /** Where the destination starts reading; undefined: the source's head. */
  start: BinlogPos | undefined;
  /** store.maxBytes, bytes. */
  maxBytes: number;
  /** node options before the script, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

export async function startServer(o: ServerOptions): Promise<SluiceProcess> {
  const config = join(o.dir, `${o.name}.yaml`);
  writeFileSync(
    config,
    [
      "host: 127.0.0.1",
      "metrics: { enabled: false }",
      `zk: { connect: "${o.zk.connectString}", root: "${o.zkRoot}", sessionTimeout: 10s }`,
      `store: { maxBytes: ${o.maxBytes} }`,
      "destinations:",
      `  - name: ${DESTINATION}`,
      `    source: "${o.sourceUrl}"`,
      "    heartbeat: 1s",
      ...(o.start ? [`    start: { file: ${o.start.file}, position: ${o.start.position} }`] : []),
      "",
    ].join("\n"),
  );
  const port = await freePort();
  return spawnSluice({
    dir: o.dir,
    name: o.name,
    port,
    args: [...(o.nodeArgs ?? []), SLUICE, "server", "--config", config, "--port", String(port)],
  });
}

/**
 * The environment docs/deploy.md gives sluice processes (deploy/sluice-server.service,
 * deploy/Containerfile), so that the bench measures what users run: glibc hands buffers of
 * 128 KiB and more back to the system when they are freed. One already set is kept.
 */
export const DEPLOY_ENV = { MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? "131072" };

/**
 * The node options the deploy files run sluice with: a young generation of 8 MB rather than
 * V8's 32. SLUICE_BENCH_NODE_ARGS (space-separated, empty for none) replaces them.
 */
export const DEPLOY_NODE_ARGS = (process.env.SLUICE_BENCH_NODE_ARGS ?? "--max-semi-space-size=4")
  .split(" ")
  .filter((a) => a !== "");

/** What the report says sluice processes run with. */
export function deployDescription(): string {
  const env = Object.entries(DEPLOY_ENV).map(([k, v]) => `${k}=${v}`);
  return [...env, ...(DEPLOY_NODE_ARGS.length > 0 ? [`node ${DEPLOY_NODE_ARGS.join(" ")}`] : [])].join(
    " and ",
  );
}

/**
 * Starts `node args...` (a sluice server or gateway listening on `port`, with DEPLOY_ENV and
 * DEPLOY_NODE_ARGS) as a child process
 * logging into dir/name.log, and waits until `readyPath` answers 200 (stopping it if it does not).
 */
export async function spawnSluice(o: {
  dir: string;
  name: string;
  port: number;
  args: string[];
  readyPath?: string;
  logLevel?: string;
}): Promise<SluiceProcess> {
  const p = spawnManaged(o.name, process.execPath, [...DEPLOY_NODE_ARGS, ...o.args], {
    logFile: join(o.dir, `${o.name}.log`),
    env: { ...process.env, ...DEPLOY_ENV, SLUICE_LOG_LEVEL: o.logLevel ?? "warn" },
  });
  const s = wrap(o.name, o.port, p);
  try {
    await ready(s, o.readyPath ?? "/readyz");
  } catch (err) {
    await s.stop();
    throw err;
  }
  return s;
}

export async function startGateway(o: {
  dir: string;
  name: string;
  zk: ZooKeeper;
  zkRoot: string;
  nodeArgs?: string[];
  /** More `sluice gateway` options, e.g. its limits. */
  extraArgs?: string[];
}): Promise<SluiceProcess> {
  const port = await freePort();
  const args = ["gateway", "--zk", o.zk.connectString, "--zk-root", o.zkRoot, "--port", String(port)];
  args.push(...(o.extraArgs ?? []));
  return spawnSluice({
    dir: o.dir,
    name: o.name,
    port,
    args: [...(o.nodeArgs ?? []), SLUICE, ...args, "--metrics-port", "off"],
  });
}

async function ready(s: SluiceProcess, path: string): Promise<void> {
  await waitFor(
    `${s.name} to be ready`,
    async () => ((await fetch(`${s.url}${path}`).catch(() => undefined))?.ok ? true : undefined),
    {
      timeoutMs: 30_000,
      failIf: () => (s.process.child.exitCode !== null ? `exited; see ${s.process.logFile}` : undefined),
    },
  );
}

/** Waits until the destination has a running server, as seen through `via` (server or gateway). */
export async function destinationRunning(via: SluiceProcess): Promise<void> {
  const admin = createSluiceClient({ baseUrl: via.url }).admin;
  await waitFor(
    `a running server of ${DESTINATION} through ${via.name}`,
    async () => {
      const r = await admin.getDestination({ destination: DESTINATION });
      return r.destination?.running?.address ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

/**
 * Waits until a process has used no more than one clock tick of CPU over each of 3 samples
 * 200 ms apart (a server whose store is full and that reads no more), or until `timeoutMs`.
 * Returns the CPU seconds it had used by then.
 */
export async function quiet(p: SluiceProcess, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = p.cpuSeconds();
  let calm = 0;
  while (calm < 3 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    const now = p.cpuSeconds();
    calm = now - last <= 0.011 ? calm + 1 : 0;
    last = now;
  }
  return last;
}
