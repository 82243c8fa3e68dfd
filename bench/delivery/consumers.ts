// The consumers bench/delivery measures, each a child process of its own (its CPU time is its
// own, and no consumer shares the bench's event loop): the TypeScript client over gRPC and over
// Connect, the generated Python (grpcio) and Go clients, and plain fetch() with Connect JSON;
// through the gateway or directly to the server.
import { execFile } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type ManagedProcess, spawnManaged } from "../../test/harness/processes.js";
import type { ConsumerResult } from "./check.js";
import { type ConsumerConfig, consumerEnv } from "./consumer-env.js";

export const CLIENTS = ["ts-grpc", "ts-connect", "python", "go", "json"] as const;
export type ClientKind = (typeof CLIENTS)[number];
export type Path = "gateway" | "direct";

export interface ConsumerSpec {
  client: ClientKind;
  path: Path;
}

export const CLIENT_LABELS: Record<ClientKind, string> = {
  "ts-grpc": "TypeScript client, gRPC",
  "ts-connect": "TypeScript client, Connect",
  python: "Python (grpcio)",
  go: "Go (grpc-go)",
  json: "HTTP/JSON Get/Ack (fetch)",
};

export const label = (s: ConsumerSpec) => `${s.client}:${s.path}`;

/** "ts-grpc:gateway,go:direct" -> specs; the path defaults to gateway. */
export function parseConsumers(text: string): ConsumerSpec[] {
  return text.split(",").map((item) => {
    const [client, path = "gateway"] = item.trim().split(":");
    if (!(CLIENTS as readonly string[]).includes(client ?? ""))
      throw new Error(`--consumers: unknown client "${client}" (${CLIENTS.join(", ")})`);
    if (path !== "gateway" && path !== "direct")
      throw new Error(`--consumers: "${item}": the path is gateway or direct`);
    return { client: client as ClientKind, path };
  });
}

const HERE = fileURLToPath(new URL(".", import.meta.url));
// The sources of the Go and Python consumers and clients (not compiled into dist/).
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const execFileAsync = promisify(execFile);

/** Builds the Go consumer in GOPATH mode with Debian's grpc, as the integration tests build the example. */
export async function buildGoConsumer(dir: string): Promise<string> {
  const gopath = join(dir, "gopath");
  mkdirSync(join(gopath, "src/sluice/clients"), { recursive: true });
  mkdirSync(join(gopath, "src/sluicebench"), { recursive: true });
  symlinkSync(join(ROOT, "src/clients/go"), join(gopath, "src/sluice/clients/go"));
  symlinkSync(join(ROOT, "bench/delivery/go"), join(gopath, "src/sluicebench/delivery"));
  const bin = join(gopath, "consumer");
  await execFileAsync("go", ["build", "-o", bin, "sluicebench/delivery"], {
    env: {
      ...process.env,
      GO111MODULE: "off",
      GOPATH: `${gopath}:/usr/share/gocode`,
      GOFLAGS: "",
    },
    timeout: 600_000,
  });
  return bin;
}

export interface Launched {
  readonly process: ManagedProcess;
  /** Resolves with the consumer's result (a failure result when it died or ran out of time). */
  readonly result: Promise<ConsumerResult>;
}

export interface LaunchOptions {
  dir: string;
  name: string;
  /** Base URL of the server or gateway, http://127.0.0.1:PORT. */
  url: string;
  config: Omit<ConsumerConfig, "url" | "transport">;
  /** The Go consumer's binary (buildGoConsumer). */
  goBinary?: string;
  /** node options of TypeScript and JSON consumers, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Called with each line the consumer prints (e.g. "subscribed"). */
  onLine?: (line: string) => void;
}

function command(client: ClientKind, o: LaunchOptions): [string, string[]] {
  switch (client) {
    case "ts-grpc":
    case "ts-connect":
      return [process.execPath, [...(o.nodeArgs ?? []), join(HERE, "ts-consumer.js")]];
    case "json":
      return [process.execPath, [...(o.nodeArgs ?? []), join(HERE, "json-consumer.js")]];
    case "python":
      return ["/usr/bin/python3", [join(ROOT, "bench/delivery/consumer.py")]];
    case "go":
      if (!o.goBinary) throw new Error("the Go consumer is not built");
      return [o.goBinary, []];
  }
}

/** Starts a consumer; it is killed (and its result a failure) once config.timeoutMs + 10 s pass. */
export function launchConsumer(client: ClientKind, o: LaunchOptions): Launched {
  const grpcNative = client === "python" || client === "go";
  const config: ConsumerConfig = {
    ...o.config,
    url: grpcNative ? new URL(o.url).host : o.url,
    transport: client === "ts-grpc" ? "grpc" : "connect",
  };
  const [cmd, args] = command(client, o);
  const p = spawnManaged(o.name, cmd, args, {
    logFile: join(o.dir, `${o.name}.log`),
    env: { ...process.env, ...consumerEnv(config), PYTHONDONTWRITEBYTECODE: "1" },
  });
  let out = "";
  let partial = "";
  p.child.stdout?.setEncoding("utf8");
  p.child.stdout?.on("data", (d: string) => {
    out += d;
    if (out.length > 64 << 20) out = out.slice(-(32 << 20));
    partial += d;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) o.onLine?.(line);
  });
  const killer = setTimeout(() => void p.kill(), config.timeoutMs + 10_000);
  const result = p.exited.then((code): ConsumerResult => {
    clearTimeout(killer);
    const last = out.trim().split("\n").pop() ?? "";
    try {
      const r = JSON.parse(last) as ConsumerResult;
      if (typeof r.ok === "boolean") return r;
    } catch {
      // reported below
    }
    return {
      ok: false,
      error: `${o.name} exited with ${code} and no result (see ${p.logFile})`,
      rows: 0,
      batches: 0,
      runs: [],
      digest: 0,
      seconds: 0,
      cpuSeconds: 0,
    };
  });
  return { process: p, result };
}
