// One client's flood does not starve the others (docs/security.md, "Limits"). A flooding
// client (test/harness/flood.ts, a process of its own, from 127.0.0.2) runs, for 3 s each:
// 500 Get/Ack loops at once, 500 streams, 500 Subscribe/Unsubscribe loops, 500 admin calls at
// once; meanwhile another client (this process, from 127.0.0.3) goes on with Get and Ack.
// Against a standalone server (its file store's fsyncs are a queue the flood shares) and
// through a gateway in front of an elected server (the gateway's ZooKeeper session and its
// connection to the server, the server's ZooKeeper writes), each with its default limits.
// Asserted: every call of the other client is answered, ok (VICTIM_DEADLINE_MS only bounds
// the wait), it gets through at least MIN_ROUNDS rounds during every flood, and the flood
// is held to its limits (its streams past the limit are refused). Latencies are printed, not
// asserted: docs/security.md has the figures.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { codeName } from "../../src/protocol/wire-errors.js";
import { startSluiceGateway, startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import type { FloodKind, FloodOptions, FloodResult } from "../harness/flood.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const FLOOD = fileURLToPath(new URL("../harness/flood.js", import.meta.url));
const FLOODER = "127.0.0.2";
const VICTIM = "127.0.0.3";
const FLOOD_MS = 3000;
const CONCURRENCY = 500;
/** Each of the victim's calls must be answered, ok; its deadline only bounds the wait. */
const VICTIM_DEADLINE_MS = 5000;
/** Get-and-ack rounds the victim must get through during each flood. */
const MIN_ROUNDS = 5;
const KINDS: FloodKind[] = ["get", "stream", "subscribe", "admin"];

/** Runs the flood process; resolves with what it got. */
function runFlood(o: FloodOptions): Promise<FloodResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FLOOD, JSON.stringify(o)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), o.durationMs + 30_000);
    child.once("exit", (code) => {
      clearTimeout(killer);
      if (code === 0) resolve(JSON.parse(out) as FloodResult);
      else reject(new Error(`flood exited with ${code}: ${err}`));
    });
  });
}

/** The victim: Get and Ack of one clientId, round after round, until `stop`. */
class Victim {
  readonly latencies: number[] = [];
  readonly failures: string[] = [];
  rounds = 0;
  readonly #canal: Client<typeof CanalService>;
  #session = "";

  constructor(
    url: string,
    readonly clientId: string,
  ) {
    this.#canal = createClient(
      CanalService,
      createGrpcTransport({ baseUrl: url, nodeOptions: { localAddress: VICTIM } as object }),
    );
  }

  async subscribe(): Promise<void> {
    this.#session = (
      await this.#canal.subscribe({ destination: "example", clientId: this.clientId })
    ).session;
  }

  async run(stop: AbortSignal): Promise<void> {
    const base = { destination: "example", clientId: this.clientId, session: this.#session };
    while (!stop.aborted) {
      const got = await this.#timed(() => this.#canal.get({ ...base, batchSize: 10, timeoutMs: 0n }, opts()));
      if (got?.batchId) await this.#timed(() => this.#canal.ack({ ...base, batchId: got.batchId }, opts()));
      if (got) this.rounds++;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  reset(): void {
    this.latencies.length = 0;
    this.failures.length = 0;
    this.rounds = 0;
  }

  async #timed<T>(call: () => Promise<T>): Promise<T | undefined> {
    const started = performance.now();
    try {
      const r = await call();
      this.latencies.push(performance.now() - started);
      return r;
    } catch (err) {
      const e = ConnectError.from(err);
      this.failures.push(
        `${codeName(e.code)} after ${Math.round(performance.now() - started)} ms: ${e.message}`,
      );
      return undefined;
    }
  }
}

const opts = () => ({ timeoutMs: VICTIM_DEADLINE_MS });

function summary(ms: number[]): string {
  if (ms.length === 0) return "no calls";
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number).toFixed(1);
  return `${s.length} calls, p50 ${at(0.5)} / p99 ${at(0.99)} / max ${(s.at(-1) as number).toFixed(1)} ms`;
}

describe("fairness: one client's flood does not starve another", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dir: string;
  const processes: ManagedProcess[] = [];
  const targets: { name: string; url: string }[] = [];
  let writing: Promise<void> | undefined;
  const stopWriting = new AbortController();

  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    dir = makeTempDir("fairness");
    await db.query("CREATE DATABASE fair; CREATE TABLE fair.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)");
    const [standalonePort, serverPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    const standalone = await startSluiceServerStandalone(standalonePort);
    const server = await startSluiceServer(dir, "server", serverPort, writeServerConfig(dir, zk, db));
    const gateway = await startSluiceGateway(dir, "gateway", gatewayPort, zk);
    processes.push(standalone, server, gateway);
    targets.push(
      { name: "standalone server", url: `http://127.0.0.1:${standalonePort}` },
      { name: "gateway (elected server behind it)", url: `http://127.0.0.1:${gatewayPort}` },
    );
    // Rows keep coming, so that the victim's Gets carry batches to ack.
    writing = (async () => {
      while (!stopWriting.signal.aborted) {
        await db.query("INSERT INTO fair.t (v) VALUES (1), (2)").catch(() => {});
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  });

  async function startSluiceServerStandalone(port: number): Promise<ManagedProcess> {
    const data = join(dir, "standalone");
    return startSluiceServer(dir, "standalone", port, writeStandaloneConfig(data));
  }

  function writeStandaloneConfig(dataDir: string): string {
    const file = join(dir, "standalone.yaml");
    const text = [
      "host: 127.0.0.1",
      "metrics: { enabled: false }",
      `dataDir: "${dataDir}"`,
      "destinations:",
      "  - name: example",
      `    source: "${db.sourceUrl}"`,
      "    heartbeat: 1s",
      "",
    ].join("\n");
    writeFileSync(file, text);
    return file;
  }

  after(async () => {
    stopWriting.abort();
    await writing;
    for (const p of processes) await p.stop();
    await Promise.all([db?.stop(), zk?.stop()]);
    if (dir) removeDir(dir);
  });

  for (const t of [0, 1]) {
    test(`target ${t}: under each flood the other client's calls are answered in time`, async () => {
      const target = targets[t] as { name: string; url: string };
      const victim = new Victim(target.url, `victim-${t}`);
      await victim.subscribe();
      const quiet = new AbortController();
      const alone = victim.run(quiet.signal);
      await new Promise((r) => setTimeout(r, 1500));
      quiet.abort();
      await alone;
      process.stdout.write(`# ${target.name}, alone: ${summary(victim.latencies)}\n`);
      assert.deepEqual(victim.failures, [], "alone");
      for (const kind of KINDS) {
        victim.reset();
        const during = new AbortController();
        const running = victim.run(during.signal);
        const result = await runFlood({
          url: target.url,
          localAddress: FLOODER,
          kind,
          concurrency: CONCURRENCY,
          durationMs: FLOOD_MS,
          clientPrefix: `flood-${t}-${kind}`,
        });
        during.abort();
        await running;
        process.stdout.write(
          `# ${target.name}, ${kind} flood (${CONCURRENCY} at once, ${FLOOD_MS} ms; the flood got ${result.ok} ok, ` +
            `refused ${JSON.stringify(result.failed)}): the other client ${summary(victim.latencies)}, ` +
            `${victim.rounds} rounds\n`,
        );
        assert.deepEqual(victim.failures, [], `${target.name}, ${kind} flood: the other client's calls`);
        assert.ok(
          victim.rounds >= MIN_ROUNDS,
          `${target.name}, ${kind} flood: the other client got through ${victim.rounds} rounds`,
        );
        if (kind === "stream") {
          assert.ok(
            (result.failed.resource_exhausted ?? 0) > 0,
            `${target.name}: the flood's ${CONCURRENCY} streams were held to the limit of streams per client`,
          );
        }
      }
    });
  }
});
