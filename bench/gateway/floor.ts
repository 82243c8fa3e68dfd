// bench/gateway/floor.ts: what any extra hop costs on this machine, as a yardstick for run.ts.
//
//   node dist/bench/gateway/floor.js [--calls N] [--rounds N]
//
// One sequential HTTP/2 client makes gRPC-shaped unary calls (a 40-byte request, a 10-byte
// answer with grpc-status in trailers) to a minimal node:http2 server that does nothing else,
// along three paths, alternating in blocks of 500 so that drift hits all alike:
//   direct      client -> server
//   haproxy     client -> haproxy (TCP mode, C, epoll) -> server
//   node-relay  client -> 25 lines of node:http2 (server + pooled client session) -> server
//   own-h2-relay  the same relay with the gateway's own HTTP/2 client (src/protocol/h2) upstream
// The node relay is the least any gateway written on node:http2 can do per call (read the
// request, one upstream call, write the answer back); own-h2-relay is what `sluice gateway`'s
// unary path builds on. Child processes, loopback only; haproxy from Debian's package
// (skipped when /usr/sbin/haproxy is missing).
import { type ChildProcess, fork, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { H2Connection } from "../../src/protocol/h2/connection.js";
import { freePort, makeTempDir, removeDir } from "../../test/harness/processes.js";
import { processCpuSeconds } from "../decode/measure.js";
import { bareGrpcCall } from "./bare-call.js";

const HAPROXY = "/usr/sbin/haproxy";
const BLOCK = 500;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name}: a positive whole number, got ${process.argv[i + 1]}`);
  return n;
}

/** The minimal server: answers every POST with one 10-byte gRPC-shaped message and status 0. */
function serve(port: number): void {
  const server = http2.createServer((req, res) => {
    req.on("data", () => {});
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/grpc" });
      res.write(Buffer.alloc(10));
      res.addTrailers({ "grpc-status": "0" });
      res.end();
    });
  });
  server.listen(port, "127.0.0.1", () => process.send?.("ready"));
}

/** The minimal relay: reads the request, makes the same call upstream, writes the answer back. */
function relay(port: number, upstreamPort: number): void {
  const up = http2.connect(`http://127.0.0.1:${upstreamPort}`);
  const server = http2.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const call = up.request({
        ":method": "POST",
        ":path": req.url,
        "content-type": "application/grpc",
        te: "trailers",
      });
      const answer: Buffer[] = [];
      let status = "2";
      call.on("trailers", (t) => {
        status = String(t["grpc-status"] ?? "2");
      });
      call.on("data", (c: Buffer) => answer.push(c));
      call.on("close", () => {
        res.writeHead(200, { "content-type": "application/grpc" });
        for (const c of answer) res.write(c);
        res.addTrailers({ "grpc-status": status });
        res.end();
      });
      call.end(Buffer.concat(chunks));
    });
  });
  server.listen(port, "127.0.0.1", () => process.send?.("ready"));
}

/** The same relay with the gateway's own HTTP/2 client upstream (src/protocol/h2) instead of node:http2's. */
function relayOwn(port: number, upstreamPort: number): void {
  const up = new H2Connection(net.connect({ host: "127.0.0.1", port: upstreamPort, noDelay: true }));
  const server = http2.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      up.request(
        [
          [":method", "POST"],
          [":scheme", "http"],
          [":authority", `127.0.0.1:${upstreamPort}`],
          [":path", req.url],
          ["content-type", "application/grpc"],
          ["te", "trailers"],
        ],
        Buffer.concat(chunks),
      ).then(
        (answer) => {
          res.writeHead(200, { "content-type": "application/grpc" });
          for (const c of answer.body) res.write(c);
          res.addTrailers({ "grpc-status": answer.trailers["grpc-status"] ?? "2" });
          res.end();
        },
        () => res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR),
      );
    });
  });
  up.ready().then(() => server.listen(port, "127.0.0.1", () => process.send?.("ready")));
}

/** CPU seconds (user + system) a process has used so far (NaN when unknown). */
function cpuSeconds(pid: number | undefined): number {
  return (pid === undefined ? undefined : processCpuSeconds(pid)) ?? Number.NaN;
}

function child(args: string[]): Promise<ChildProcess> {
  const c = fork(new URL(import.meta.url).pathname, args, { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    c.once("message", () => resolve(c));
    c.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const calls = arg("--calls", 10_000);
  const rounds = arg("--rounds", 2);
  const dir = makeTempDir("bench-floor");
  const children: ChildProcess[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  try {
    const serverPort = await freePort();
    children.push(await child(["server", String(serverPort)]));
    const relayPort = await freePort();
    const relayProcess = await child(["relay", String(relayPort), String(serverPort)]);
    children.push(relayProcess);
    const ownPort = await freePort();
    const ownProcess = await child(["relay-own", String(ownPort), String(serverPort)]);
    children.push(ownProcess);
    const ports: Record<string, number> = {
      direct: serverPort,
      "node-relay": relayPort,
      "own-h2-relay": ownPort,
    };
    const relays: Record<string, ChildProcess> = { "node-relay": relayProcess, "own-h2-relay": ownProcess };
    if (existsSync(HAPROXY)) {
      const haproxyPort = await freePort();
      const cfg = join(dir, "haproxy.cfg");
      writeFileSync(
        cfg,
        [
          "defaults",
          "  mode tcp",
          "  timeout connect 5s",
          "  timeout client 60s",
          "  timeout server 60s",
          "frontend f",
          `  bind 127.0.0.1:${haproxyPort}`,
          "  default_backend b",
          "backend b",
          `  server s1 127.0.0.1:${serverPort}`,
          "",
        ].join("\n"),
      );
      children.push(spawn(HAPROXY, ["-db", "-f", cfg], { stdio: "ignore" }));
      await new Promise((r) => setTimeout(r, 500));
      ports.haproxy = haproxyPort;
    } else {
      process.stderr.write(`${HAPROXY} is missing: the haproxy path is skipped\n`);
    }
    const body = Buffer.alloc(40);
    const clients = Object.fromEntries(
      Object.entries(ports).map(([path, port]) => {
        const s = http2.connect(`http://127.0.0.1:${port}`);
        sessions.push(s);
        return [path, s];
      }),
    ) as Record<string, http2.ClientHttp2Session>;
    const call = (s: http2.ClientHttp2Session) => bareGrpcCall(s, "/x", body);
    const paths = Object.keys(ports);
    for (const p of paths) for (let i = 0; i < 1000; i++) await call(clients[p] as http2.ClientHttp2Session);
    const lines = [
      `bench/gateway/floor: sequential gRPC-shaped unary calls, ${calls} per path and round, ms`,
      "| round | path | p50 | p90 | p99 | p99.9 | added p50 | added p99 |",
      "|---|---|---|---|---|---|---|---|",
    ];
    for (let round = 1; round <= rounds; round++) {
      const samples: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]));
      const relayCpu: Record<string, number> = Object.fromEntries(Object.keys(relays).map((r) => [r, 0]));
      for (let done = 0; done < calls; done += BLOCK) {
        for (const p of paths) {
          const s = clients[p] as http2.ClientHttp2Session;
          const out = samples[p] as number[];
          const relayPid = relays[p]?.pid;
          const c0 = relayPid === undefined ? 0 : cpuSeconds(relayPid);
          for (let i = 0; i < BLOCK; i++) {
            const t = performance.now();
            await call(s);
            out.push(performance.now() - t);
          }
          if (relayPid !== undefined) relayCpu[p] = (relayCpu[p] ?? 0) + cpuSeconds(relayPid) - c0;
        }
      }
      for (const [r, cpu] of Object.entries(relayCpu)) {
        lines.push(`| ${round} | (${r} CPU per call: ${((cpu * 1000) / calls).toFixed(3)} ms) | | | | | | |`);
      }
      const q = (p: string, x: number) => {
        const s = samples[p] as number[];
        return s[Math.min(s.length - 1, Math.floor(x * s.length))] as number;
      };
      for (const p of paths) (samples[p] as number[]).sort((a, b) => a - b);
      for (const p of paths) {
        const added =
          p === "direct" ? ["", ""] : [0.5, 0.99].map((x) => (q(p, x) - q("direct", x)).toFixed(3));
        lines.push(
          `| ${round} | ${p} | ${[0.5, 0.9, 0.99, 0.999].map((x) => q(p, x).toFixed(3)).join(" | ")} | ${added.join(" | ")} |`,
        );
      }
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    for (const s of sessions) s.close();
    for (const c of children) c.kill();
    removeDir(dir);
  }
}

const [role, a, b] = process.argv.slice(2);
if (role === "server") serve(Number(a));
else if (role === "relay") relay(Number(a), Number(b));
else if (role === "relay-own") relayOwn(Number(a), Number(b));
else await main();
