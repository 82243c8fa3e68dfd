// bench/gateway/promoted.ts: what each unary Get leaves to the old generation, in the server, in
// the gateway or in a TypeScript client. Objects that survive young-generation GCs make those GCs' pauses longer and
// bring full GCs: the latency tail of every call (docs/benchmarks.md).
//
//   node dist/bench/gateway/promoted.js [--target server|gateway|connect-es|sluice-client]
//                                       [--protocol grpc|connect] [--calls N]
//
// Starts the harness's MariaDB and ZooKeeper; the target runs in this process (the other one,
// for --target gateway the server, as a child process), and a child process sends N sequential
// gRPC Gets (timeoutMs 0, nothing to read) over a bare node:http2 session. With a client as the
// target, the server runs as a child process and this process makes the N calls with
// connect-es's transport or with sluice's (src/protocol/client/grpc-transport.ts,
// connect-transport.ts), over gRPC or over the Connect protocol (HTTP/1.1, binary). V8's sampling heap
// profiler, told to drop what young-generation GCs collect, then holds what was promoted (or is
// still alive). Prints bytes per call and the 12 allocation sites with the most.
import "../../src/cli/runtime-flags.js";
import { fork } from "node:child_process";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createLogger } from "../../src/common/log.js";
import { startGateway } from "../../src/gateway/gateway.js";
import { CanalService, GetRequestSchema } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { createSluiceConnectTransport } from "../../src/protocol/client/connect-transport.js";
import { createSluiceGrpcTransport } from "../../src/protocol/client/grpc-transport.js";
import { encodeFrame } from "../../src/protocol/frame.js";
import { loadServerConfig } from "../../src/server/config/load.js";
import { startServer } from "../../src/server/server.js";
import { startSluiceServer, writeServerConfig } from "../../test/gateway/cluster.js";
import { startMariaDB } from "../../test/harness/mariadb.js";
import { freePort, makeTempDir, removeDir, waitFor } from "../../test/harness/processes.js";
import { startZooKeeper } from "../../test/harness/zookeeper.js";

/** The child that sends the calls (get-loop.ts, compiled next to this file). */
const GET_LOOP = fileURLToPath(new URL("./get-loop.js", import.meta.url));

const TARGETS = ["server", "gateway", "connect-es", "sluice-client"] as const;
type Target = (typeof TARGETS)[number];

function args(): { target: Target; protocol: "grpc" | "connect"; calls: number } {
  const argv = process.argv.slice(2);
  let target: Target = "gateway";
  let protocol: "grpc" | "connect" = "grpc";
  let calls = 5000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--target" && TARGETS.includes(v as Target)) target = v as Target;
    else if (a === "--protocol" && (v === "grpc" || v === "connect")) protocol = v;
    else if (a === "--calls" && v !== undefined && /^\d+$/.test(v)) calls = Number(v);
    else
      throw new Error(
        `usage: promoted.js [--target ${TARGETS.join("|")}] [--protocol grpc|connect] [--calls N] (bad: ${a})`,
      );
    i++;
  }
  return { target, protocol, calls };
}

const { target, protocol, calls } = args();
process.env.SLUICE_LOG_LEVEL = "warn";
const [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
const dir = makeTempDir("bench-promoted");
const stops: (() => Promise<void>)[] = [];
try {
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)");
  const config = writeServerConfig(dir, zk, db);
  const serverPort = await freePort();
  let port = serverPort;
  if (target === "server") {
    const server = await startServer(
      loadServerConfig({ argv: ["--config", config, "--port", String(serverPort)], env: process.env }),
    );
    stops.push(() => server.close());
  } else if (target !== "gateway") {
    const server = await startSluiceServer(dir, "server", serverPort, config);
    stops.push(() => server.stop());
  } else {
    const server = await startSluiceServer(dir, "server", serverPort, config);
    stops.push(() => server.stop());
    const gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      zk: zk.connectString,
      zkRoot: "/otter/canal",
      zkSessionTimeoutMs: 6000,
      holdMs: 5000,
      leaseIdleMs: 30_000,
      maxRequestBytes: 4 << 20,
      maxMessageBytes: 64 << 20,
      shutdownTimeoutMs: 1000,
      logger: createLogger("gateway"),
    });
    stops.unshift(() => gateway.close());
    port = gateway.port;
  }
  const url = `http://127.0.0.1:${port}`;
  const client = createClient(CanalService, createGrpcTransport({ baseUrl: url }));
  // The server may still be taking its destination: subscribe once it does.
  const { session } = await waitFor(
    "the subscription",
    () => client.subscribe({ destination: "example", clientId: "promoted" }).catch(() => undefined),
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const message = toBinary(
    GetRequestSchema,
    create(GetRequestSchema, {
      destination: "example",
      clientId: "promoted",
      batchSize: 10,
      timeoutMs: 0n,
      session,
    }),
  );
  const body = encodeFrame(message);
  let run: (n: number) => Promise<void>;
  if (target === "connect-es" || target === "sluice-client") {
    const connect = { baseUrl: url, httpVersion: "1.1", useBinaryFormat: true } as const;
    const measured = createClient(
      CanalService,
      target === "connect-es"
        ? protocol === "grpc"
          ? createGrpcTransport({ baseUrl: url })
          : createConnectTransport(connect)
        : protocol === "grpc"
          ? createSluiceGrpcTransport({ baseUrl: url })
          : createSluiceConnectTransport(connect),
    );
    const request = { destination: "example", clientId: "promoted", batchSize: 10, timeoutMs: 0n, session };
    run = async (n) => {
      for (let i = 0; i < n; i++) await measured.get(request);
    };
  } else {
    const child = fork(GET_LOOP, [url, "/sluice.v1.CanalService/Get", body.toString("hex")]);
    stops.unshift(async () => {
      child.kill();
    });
    run = (n) =>
      new Promise<void>((resolve, reject) => {
        child.once("message", () => resolve());
        child.once("exit", (code) => reject(new Error(`the client exited (${code})`)));
        child.send(n);
      });
  }
  await run(1500); // warm-up: JIT, connections, caches

  const inspector = new Session();
  inspector.connect();
  await inspector.post("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  const cpu0 = process.cpuUsage();
  await run(calls);
  const cpu = process.cpuUsage(cpu0);
  const { profile } = await inspector.post("HeapProfiler.stopSampling");
  inspector.disconnect();

  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: typeof profile.head, stack: string[]) => {
    const f = node.callFrame;
    const here = `${f.functionName || "(anonymous)"} ${f.url.replace(/.*\/(dist|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
    const path = [here, ...stack].slice(0, 3);
    if (node.selfSize > 0) {
      total += node.selfSize;
      const key = path.join(" < ");
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, path);
  };
  walk(profile.head, []);
  console.log(
    `${target}${target === "connect-es" || target === "sluice-client" ? ` (${protocol})` : ""}: ${calls} sequential Gets; promoted (or still alive) ${(total / calls).toFixed(0)} bytes per call; ` +
      `CPU ${((cpu.user + cpu.system) / 1000 / calls).toFixed(3)} ms per call (this process, sampling on)`,
  );
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`${(bytes / calls).toFixed(0).padStart(7)}  ${site}`);
  }
} finally {
  for (const stop of stops) await stop().catch(() => {});
  await Promise.allSettled([db.stop(), zk.stop()]);
  removeDir(dir);
}
process.exit(0);
