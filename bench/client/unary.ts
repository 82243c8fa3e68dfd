// Latency of the TypeScript client's unary calls against a `sluice server` (its own process) on
// loopback: sequential Get calls (timeoutMs 0, nothing to read), with connect-node's
// transports and with the sluice client's (src/protocol/client/connect-transport.ts,
// grpc-transport.ts), per protocol, in interleaved rounds so that drift on the machine hits all alike.
//
//   npx tsc -p tsconfig.json && node dist/bench/client/unary.js [--rounds 3] [--calls 3000] [--warmup 1000]
//
// The client runs with sluice's V8 settings (src/cli/runtime-flags.ts), as the other benches.
import "../../src/cli/runtime-flags.js";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { createSluiceConnectTransport } from "../../src/protocol/client/connect-transport.js";
import { createSluiceGrpcTransport } from "../../src/protocol/client/grpc-transport.js";
import { startSluiceServer, writeServerConfig } from "../../test/gateway/cluster.js";
import { startMariaDB } from "../../test/harness/mariadb.js";
import { freePort, makeTempDir, removeDir, waitFor } from "../../test/harness/processes.js";
import { startZooKeeper } from "../../test/harness/zookeeper.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    calls: { type: "string", default: "3000" },
    warmup: { type: "string", default: "1000" },
  },
});
function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: a positive whole number, got ${v}`);
  return n;
}
const ROUNDS = positive("rounds", values.rounds);
const CALLS = positive("calls", values.calls);
const WARMUP = positive("warmup", values.warmup);

process.env.SLUICE_LOG_LEVEL = "warn";
const [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
const dir = makeTempDir("bench-unary");
try {
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)");
  const port = await freePort();
  const server = await startSluiceServer(dir, "server", port, writeServerConfig(dir, zk, db));
  try {
    const baseUrl = `http://127.0.0.1:${port}`;
    const setup = createClient(CanalService, createGrpcTransport({ baseUrl }));
    // The server may still be taking its destination: subscribe once it does.
    const { session } = await waitFor(
      "the subscription",
      () => setup.subscribe({ destination: "example", clientId: "unary" }).catch(() => undefined),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const h1 = { baseUrl, httpVersion: "1.1", useBinaryFormat: true } as const;
    const transports: Record<string, Transport> = {
      "connect-node, Connect HTTP/1.1": createConnectTransport(h1),
      "sluice, Connect HTTP/1.1": createSluiceConnectTransport(h1),
      "connect-node, gRPC": createGrpcTransport({ baseUrl }),
      "sluice, gRPC": createSluiceGrpcTransport({ baseUrl }),
    };
    const request = { destination: "example", clientId: "unary", batchSize: 10, timeoutMs: 0n, session };
    const results: Record<string, string[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, transport] of Object.entries(transports)) {
        const client = createClient(CanalService, transport);
        for (let i = 0; i < WARMUP; i++) await client.get(request);
        const ms: number[] = [];
        for (let i = 0; i < CALLS; i++) {
          const t = performance.now();
          await client.get(request);
          ms.push(performance.now() - t);
        }
        ms.sort((a, b) => a - b);
        const at = (p: number) =>
          (ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] as number).toFixed(3);
        const cells = results[name] ?? [];
        cells.push(`${at(0.5)} / ${at(0.99)}`);
        results[name] = cells;
      }
    }
    console.log(`unary Get against a sluice server, ${CALLS} sequential calls per round after ${WARMUP}, ms`);
    console.log(
      `| transport | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1} p50 / p99`).join(" | ")} |`,
    );
    console.log(`|---|${"---|".repeat(ROUNDS)}`);
    for (const [name, cells] of Object.entries(results)) console.log(`| ${name} | ${cells.join(" | ")} |`);
  } finally {
    await server.stop();
  }
} finally {
  await Promise.all([db.stop(), zk.stop()]);
  removeDir(dir);
}
process.exit(0);
