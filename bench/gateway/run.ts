// bench/gateway: what the gateway costs, against talking to the server directly, in one run.
//
//   node dist/bench/gateway/run.js [--rows N] [--rounds N] [--calls N] [--warmup N]
//
// Starts the test harness's MariaDB and ZooKeeper, one `sluice server --zk` and one
// `sluice gateway` (child processes, loopback), then measures, alternating direct and
// gateway so that drift on the machine hits both alike:
// - latency: --calls sequential unary Get calls (timeoutMs 0, nothing to read) over gRPC
//   (HTTP/2), p50 / p99 / mean per path, in blocks of 250, once with connect-es's client, once
//   with sluice's TypeScript client (its transport "grpc": unary calls on node:http2 without
//   connect-es's pipeline, src/protocol/client/grpc-transport.ts), once with a bare
//   node:http2 session, and with sluice's client over its default transport (the Connect
//   protocol, binary, HTTP/1.1) and over Connect JSON (what curl sends), each after --warmup calls per path (default 2000: the
//   server's and the gateway's first seconds, JIT and a burst of survivors in every scavenge,
//   cost them about 40% more CPU per call, which is start-up, not what a running gateway adds);
//   p99 also over the calls that none of the bench's own GC pauses touched (see below);
// - throughput: --rounds rounds per path; each round subscribes a fresh clientId, commits
//   --rows rows (transactions of 100 rows), then streams them (batchSize 100, window 8) and
//   acks every batch with the unary Ack; rows per second from the first batch to the last ack
//   (after one warm-up round per path, not counted).
// The bench's own client runs with the V8 settings of sluice's processes (src/cli/runtime-flags.ts),
// so that its garbage collection pauses, which land on both paths alike, do not drown what
// the gateway adds. See docs/benchmarks.md.
import "../../src/cli/runtime-flags.js";
import { writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { cpus } from "node:os";
import { join } from "node:path";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CanalService, GetRequestSchema } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { createSluiceConnectTransport } from "../../src/protocol/client/connect-transport.js";
import { createSluiceGrpcTransport } from "../../src/protocol/client/grpc-transport.js";
import { encodeFrame } from "../../src/protocol/frame.js";
import { startMariaDB } from "../../test/harness/mariadb.js";
import { freePort, makeTempDir, removeDir, spawnManaged, waitFor } from "../../test/harness/processes.js";
import { startZooKeeper } from "../../test/harness/zookeeper.js";
import { processCpuSeconds } from "../decode/measure.js";
import { bareGrpcCall } from "./bare-call.js";

const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number((process.argv[i + 1] ?? "").replace(/k$/i, "000"));
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name}: a positive whole number, got ${process.argv[i + 1]}`);
  return n;
}

const ROWS = arg("--rows", 100_000);
const ROUNDS = arg("--rounds", 5);
const CALLS = arg("--calls", 4000);
const WARMUP = arg("--warmup", 2000);
const log = (s: string) => process.stderr.write(`${s}\n`);

type Canal = Client<typeof CanalService>;
type Path = "direct" | "gateway";

/** CPU seconds (user + system) a process has used so far (NaN when unknown). */
function cpuSeconds(pid: number | undefined): number {
  return (pid === undefined ? undefined : processCpuSeconds(pid)) ?? Number.NaN;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<void> {
  const [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  const dir = makeTempDir("bench-gateway");
  const stops: (() => Promise<void>)[] = [];
  try {
    await db.query(
      "CREATE DATABASE bench; CREATE TABLE bench.t (id INT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60))",
    );
    const config = join(dir, "sluice.yaml");
    writeFileSync(
      config,
      [
        "host: 127.0.0.1",
        "metrics: { enabled: false }",
        `zk: { connect: "${zk.connectString}" }`,
        "destinations:",
        "  - name: example",
        `    source: "${db.sourceUrl}"`,
        "",
      ].join("\n"),
    );
    const [sp, gp] = [await freePort(), await freePort()];
    const server = spawnManaged(
      "server",
      process.execPath,
      [SLUICE, "server", "--config", config, "--port", String(sp)],
      {
        logFile: join(dir, "server.log"),
        env: { ...process.env, SLUICE_LOG_LEVEL: "warn" },
      },
    );
    stops.push(() => server.stop());
    const gateway = spawnManaged(
      "gateway",
      process.execPath,
      [SLUICE, "gateway", "--zk", zk.connectString, "--port", String(gp), "--metrics-port", "off"],
      {
        logFile: join(dir, "gateway.log"),
        env: { ...process.env, SLUICE_LOG_LEVEL: "warn" },
      },
    );
    stops.unshift(() => gateway.stop());
    for (const port of [sp, gp]) {
      await waitFor(
        `port ${port} ready`,
        async () =>
          (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined,
        { timeoutMs: 30_000 },
      );
    }
    const urls: Record<Path, string> = {
      direct: `http://127.0.0.1:${sp}`,
      gateway: `http://127.0.0.1:${gp}`,
    };
    /** One client per path over the transport `make` builds for a base URL. */
    const perPath = (make: (baseUrl: string) => Transport): Record<Path, Canal> => ({
      direct: createClient(CanalService, make(urls.direct)),
      gateway: createClient(CanalService, make(urls.gateway)),
    });
    const clients = perPath((baseUrl) => createGrpcTransport({ baseUrl }));

    // Latency.
    const sessions: Record<Path, string> = { direct: "", gateway: "" };
    for (const p of ["direct", "gateway"] as Path[]) {
      sessions[p] = (await clients[p].subscribe({ destination: "example", clientId: `lat-${p}` })).session;
    }
    // The latency calls' request: a Get that finds nothing to read and returns at once.
    const getRequest = (p: Path) => ({
      destination: "example",
      clientId: `lat-${p}`,
      batchSize: 10,
      timeoutMs: 0n,
      session: sessions[p],
    });
    const get = (p: Path) => clients[p].get(getRequest(p));
    // Two clients: connect-es's (what TypeScript users run) and a bare node:http2 session that
    // sends the same encoded request (a lean gRPC client: its own tail is smaller, so more of
    // the gateway's shows).
    const getBody = (p: Path) => {
      return encodeFrame(toBinary(GetRequestSchema, create(GetRequestSchema, getRequest(p))));
    };
    const bare: Record<Path, { session: http2.ClientHttp2Session; body: Buffer }> = {
      direct: { session: http2.connect(urls.direct), body: getBody("direct") },
      gateway: { session: http2.connect(urls.gateway), body: getBody("gateway") },
    };
    const bareGet = (p: Path) => bareGrpcCall(bare[p].session, "/sluice.v1.CanalService/Get", bare[p].body);
    const sluice = perPath((baseUrl) => createSluiceGrpcTransport({ baseUrl }));
    const sluiceConnect = perPath((baseUrl) =>
      createSluiceConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    );
    const sluiceJson = perPath((baseUrl) =>
      createSluiceConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    );
    const sluiceGet = (p: Path) => sluice[p].get(getRequest(p));
    const sluiceConnectGet = (p: Path) => sluiceConnect[p].get(getRequest(p));
    const sluiceJsonGet = (p: Path) => sluiceJson[p].get(getRequest(p));
    const kinds: Record<string, (p: Path) => Promise<unknown>> = {
      "connect-es": get,
      "sluice TS client": sluiceGet,
      "bare node:http2": bareGet,
      "sluice TS client, Connect HTTP/1.1": sluiceConnectGet,
      "sluice TS client, Connect JSON HTTP/1.1": sluiceJsonGet,
    };
    type Summary = Record<Path, { p50: number; p99: number; mean: number; p99Clean: number; gcHit: number }>;
    const latency: Record<string, Summary> = {};
    // The client's own GC pauses (it runs in this process) land on both paths alike, but they
    // make each path's p99 a draw of a few long pauses (connect-es's client promotes much of
    // every call), so the difference of two p99s swings by a millisecond or more from run to
    // run. Each call is timed together with whether one of this process's GCs overlapped it, and
    // p99 is shown also over the calls that no client GC touched: what the path itself costs.
    const clientGc: [number, number][] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) clientGc.push([e.startTime, e.startTime + e.duration]);
    });
    gcObserver.observe({ entryTypes: ["gc"] });
    // CPU per call of the server and of the gateway, each measured over the blocks of its path
    // (the gateway's over the gateway blocks; the server's over the direct blocks, and over the
    // gateway blocks for what it does behind the gateway), with the connect-es client.
    const cpu = { server: { direct: 0, gateway: 0 }, gateway: { direct: 0, gateway: 0 } };
    for (const [kind, call] of Object.entries(kinds)) {
      for (const p of ["direct", "gateway"] as Path[]) for (let i = 0; i < WARMUP; i++) await call(p); // warm up
      // Per call: when it started, how long it took (ms).
      const samples: Record<Path, [number, number][]> = { direct: [], gateway: [] };
      for (let done = 0; done < CALLS; done += 250) {
        for (const p of ["direct", "gateway"] as Path[]) {
          const [s0, g0] = [cpuSeconds(server.child.pid), cpuSeconds(gateway.child.pid)];
          for (let i = 0; i < 250; i++) {
            const t = performance.now();
            await call(p);
            samples[p].push([t, performance.now() - t]);
          }
          if (kind !== "connect-es") continue;
          cpu.server[p] += cpuSeconds(server.child.pid) - s0;
          cpu.gateway[p] += cpuSeconds(gateway.child.pid) - g0;
        }
      }
      await new Promise((r) => setTimeout(r, 50)); // the observer's last entries
      const summary = {} as Summary;
      for (const p of ["direct", "gateway"] as Path[]) {
        const hit = ([t, ms]: [number, number]) => clientGc.some(([a, b]) => a < t + ms && b > t);
        const s = samples[p].map(([, ms]) => ms).sort((a, b) => a - b);
        const clean = samples[p]
          .filter((x) => !hit(x))
          .map(([, ms]) => ms)
          .sort((a, b) => a - b);
        summary[p] = {
          p50: percentile(s, 50),
          p99: percentile(s, 99),
          mean: s.reduce((a, b) => a + b, 0) / s.length,
          p99Clean: percentile(clean, 99),
          gcHit: s.length - clean.length,
        };
      }
      latency[kind] = summary;
    }
    for (const b of Object.values(bare)) b.session.close();
    gcObserver.disconnect();

    // Throughput.
    let nextId = 1;
    const throughput: Record<Path, number[]> = { direct: [], gateway: [] };
    // Round 0 of each path warms both up (JIT, connections) and is not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      for (const p of ["direct", "gateway"] as Path[]) {
        const c = clients[p];
        const clientId = `tp-${p}-${round}`;
        const sub = await c.subscribe({ destination: "example", clientId });
        for (let tx = 0; tx < ROWS / 100; tx++) {
          await db.query(
            "INSERT INTO bench.t SELECT ? + seq, seq, REPEAT('c', 120), REPEAT('p', 60) FROM bench.seq_0_to_99",
            [nextId],
          );
          nextId += 100;
        }
        let rows = 0;
        let start = 0;
        for await (const m of c.stream({
          destination: "example",
          clientId,
          batchSize: 100,
          window: 8,
          session: sub.session,
        })) {
          if (m.message.case !== "batch") continue;
          if (start === 0) start = performance.now();
          for (const e of m.message.value.entries) {
            if (e.payload.case === "rowChange") rows += e.payload.value.rowDatas.length;
          }
          await c.ack({
            destination: "example",
            clientId,
            batchId: m.message.value.batchId,
            session: sub.session,
          });
          if (rows >= ROWS) break;
        }
        const seconds = (performance.now() - start) / 1000;
        throughput[p].push(rows / seconds);
        log(
          `round ${round} ${p}: ${rows} rows in ${seconds.toFixed(2)} s = ${Math.round(rows / seconds)} rows/s`,
        );
        await c.unsubscribe({ destination: "example", clientId, session: sub.session });
      }
    }
    const best = (p: Path) => Math.max(...throughput[p]);
    const median = (p: Path) =>
      [...throughput[p]].sort((a, b) => a - b)[Math.floor(throughput[p].length / 2)] as number;
    const f = (ms: number) => ms.toFixed(3);
    const lines = [
      `bench/gateway: ${cpus().length} cpus, ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
      "",
      `latency: unary Get (nothing to read), ${CALLS} calls per path and client (gRPC over HTTP/2 unless the client says otherwise), ms`,
      "| client | path | p50 | p99 | mean | p99 of the calls no client GC touched (calls touched) |",
      "|---|---|---|---|---|---|",
      ...Object.entries(latency).flatMap(([kind, l]) => [
        ...(["direct", "gateway"] as Path[]).map(
          (p) =>
            `| ${kind} | ${p} | ${f(l[p].p50)} | ${f(l[p].p99)} | ${f(l[p].mean)} | ${f(l[p].p99Clean)} (${l[p].gcHit}) |`,
        ),
        `| ${kind} | added by the gateway | ${f(l.gateway.p50 - l.direct.p50)} | ${f(l.gateway.p99 - l.direct.p99)} | ${f(l.gateway.mean - l.direct.mean)} | ${f(l.gateway.p99Clean - l.direct.p99Clean)} |`,
      ]),
      "",
      `CPU per call, ms (from /proc, 10 ms ticks): server ${f((cpu.server.direct * 1000) / CALLS)} direct, ` +
        `${f((cpu.server.gateway * 1000) / CALLS)} behind the gateway; gateway ${f((cpu.gateway.gateway * 1000) / CALLS)}`,
      "",
      `throughput: stream + ack of ${ROWS} rows (100-row transactions), ${ROUNDS} rounds per path, rows/s`,
      "| path | best | median |",
      "|---|---|---|",
      ...(["direct", "gateway"] as Path[]).map(
        (p) => `| ${p} | ${Math.round(best(p))} | ${Math.round(median(p))} |`,
      ),
      `| gateway vs direct | ${((best("gateway") / best("direct") - 1) * 100).toFixed(1)}% | ${((median("gateway") / median("direct") - 1) * 100).toFixed(1)}% |`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    await Promise.all([db.stop(), zk.stop()]);
    removeDir(dir);
  }
}

await main();
