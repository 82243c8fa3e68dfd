// Spreads bench/scale's streams over consumer processes and starts them. Stream j is
// destination j mod D, clientId c<floor(j / D) + 1> (so S streams are S distinct pairs: each
// destination has ceil(S / D) clientIds or one fewer); process p takes the j-th streams with
// floor(j * P / S) = p, a contiguous block, so each process carries every destination about
// equally (with 500 streams on 50 destinations and 5 processes: 100 streams each, every
// destination twice).
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type ManagedProcess, spawnManaged } from "../../test/harness/processes.js";
import { processCpuSeconds } from "../decode/measure.js";
import { rssBytes } from "../delivery/sluice-procs.js";
import type { ConsumerConfig, ConsumerResult } from "./consumer.js";

const CONSUMER = fileURLToPath(new URL("consumer.js", import.meta.url));

/** The (destination, clientId) pairs of `streams` streams over `destinations`, in order. */
export function streamPairs(destinations: string[], streams: number): Array<[string, string]> {
  return Array.from({ length: streams }, (_, j): [string, string] => [
    destinations[j % destinations.length] as string,
    `c${Math.floor(j / destinations.length) + 1}`,
  ]);
}

/** Splits `items` into `parts` contiguous blocks whose sizes differ by at most one. */
export function blocks<T>(items: T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: Math.min(parts, items.length) }, () => []);
  for (const [j, item] of items.entries()) out[Math.floor((j * out.length) / items.length)]?.push(item);
  return out;
}

export interface ConsumerFleet {
  processes: ManagedProcess[];
  /** performance.now() when the last stream subscribed / received rows first (NaN: not yet). */
  allSubscribedAt(): number;
  allFirstAt(): number;
  subscribed(): number;
  firsts(): number;
  /** Sum of the consumers' CPU seconds and RSS now, from /proc. */
  cpuSeconds(): number;
  rssBytes(): number[];
  results: Promise<ConsumerResult[]>;
  kill(): Promise<void>;
}

export function launchConsumers(
  dir: string,
  pairs: Array<[string, string]>,
  processes: number,
  base: Omit<ConsumerConfig, "streams">,
): ConsumerFleet {
  const total = pairs.length;
  let subscribed = 0;
  let firsts = 0;
  let allSubscribedAt = Number.NaN;
  let allFirstAt = Number.NaN;
  const onLine = (line: string) => {
    if (line === "subscribed" && ++subscribed === total) allSubscribedAt = performance.now();
    else if (line === "first" && ++firsts === total) allFirstAt = performance.now();
  };
  const launched = blocks(pairs, processes).map((streams, p) => {
    const name = `consumer-${p + 1}`;
    const config: ConsumerConfig = { ...base, streams };
    const proc = spawnManaged(name, process.execPath, [CONSUMER], {
      logFile: join(dir, `${name}.log`),
      env: { ...process.env, BENCH_SCALE_CONFIG: JSON.stringify(config) },
    });
    return { proc, result: collect(proc, name, onLine, base.timeoutMs + 10_000) };
  });
  const pids = launched.map((l) => l.proc.child.pid as number);
  return {
    processes: launched.map((l) => l.proc),
    allSubscribedAt: () => allSubscribedAt,
    allFirstAt: () => allFirstAt,
    subscribed: () => subscribed,
    firsts: () => firsts,
    cpuSeconds: () => pids.reduce((s, pid) => s + (processCpuSeconds(pid) ?? 0), 0),
    rssBytes: () => pids.map((pid) => rssBytes(pid)),
    results: Promise.all(launched.map((l) => l.result)),
    kill: async () => {
      await Promise.all(launched.map((l) => l.proc.kill()));
    },
  };
}

/** Reads a consumer's lines; resolves with its result (a failure when it died or ran out of time). */
function collect(
  p: ManagedProcess,
  name: string,
  onLine: (line: string) => void,
  killAfterMs: number,
): Promise<ConsumerResult> {
  let partial = "";
  let last = "";
  p.child.stdout?.setEncoding("utf8");
  p.child.stdout?.on("data", (d: string) => {
    partial += d;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line) last = line;
      onLine(line);
    }
  });
  const killer = setTimeout(() => void p.kill(), killAfterMs);
  return p.exited.then((code): ConsumerResult => {
    clearTimeout(killer);
    try {
      const r = JSON.parse(partial || last) as ConsumerResult;
      if (typeof r.ok === "boolean") return r;
    } catch {
      // reported below
    }
    return {
      ok: false,
      error: `${name} exited with ${code} and no result (see ${p.logFile})`,
      streams: [],
      latencyUs: [],
      latencyMaxUs: Number.NaN,
      latencyBySlice: [],
      cpuSeconds: 0,
    };
  });
}
