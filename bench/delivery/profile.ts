// Where a process's CPU goes per delivered row, from a V8 .cpuprofile (`node --cpu-prof`):
// self time by part (what the sampled function belongs to), and inclusive time of the calls
// the delivery path is made of (protobuf-es toBinary/fromBinary, JSON, message creation,
// flatRows, entry building, the binlog decoder): a sample counts for a call when that call is
// anywhere on its stack. Samples of "(idle)" are not CPU and are left out. Garbage collection
// is the main thread's share only (V8's parallel scavenger threads are not sampled).
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber?: number };
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** Which part a function belongs to (for self time). First match wins. */
const PARTS: Array<[string, (name: string, url: string) => boolean]> = [
  ["garbage collector", (n) => n === "(garbage collector)"],
  ["V8 (program: compiler, runtime)", (n) => n === "(program)"],
  ["protobuf-es", (_, u) => u.includes("/@bufbuild/protobuf/")],
  ["connect-es", (_, u) => u.includes("/@connectrpc/")],
  ["TS client: flatRows (rows.ts)", (_, u) => u.includes("/src/clients/typescript/rows.")],
  ["TS client: other", (_, u) => u.includes("/src/clients/typescript/")],
  ["server: binlog decoder", (_, u) => u.includes("/src/server/binlog/")],
  ["server: replication (socket, framing)", (_, u) => u.includes("/src/server/replication/")],
  ["server: entry building (parse/)", (_, u) => u.includes("/src/server/parse/")],
  ["server: entry encoding (encode/)", (_, u) => u.includes("/src/server/encode/")],
  [
    "server: store, service, destination",
    (_, u) => /\/src\/server\/(store|service|destination|sink)\//.test(u),
  ],
  ["server: other", (_, u) => u.includes("/src/server/")],
  ["gateway", (_, u) => u.includes("/src/gateway/")],
  ["sluice common (http, protocol)", (_, u) => u.includes("/src/common/")],
  ["generated code (src/gen)", (_, u) => u.includes("/src/gen/")],
  ["bench consumer", (_, u) => u.includes("/bench/")],
  ["JSON.parse of response bodies (fetch)", (n) => n === "parseJSONFromBytes"],
  ["node internals (http, http2, net, streams)", (_, u) => u.startsWith("node:")],
  ["other node_modules", (_, u) => u.includes("/node_modules/")],
  ["native / builtins", () => true],
];

/** Calls measured inclusively: a sample counts when a frame on its stack matches. */
const CALLS: Array<[string, (name: string, url: string) => boolean]> = [
  ["protobuf-es toBinary", (n, u) => n === "toBinary" && u.includes("@bufbuild/protobuf")],
  ["protobuf-es fromBinary", (n, u) => n === "fromBinary" && u.includes("@bufbuild/protobuf")],
  ["protobuf-es toJson", (n, u) => /^toJson(String)?$/.test(n) && u.includes("@bufbuild/protobuf")],
  ["protobuf-es fromJson", (n, u) => /^fromJson(String)?$/.test(n) && u.includes("@bufbuild/protobuf")],
  ["protobuf-es create", (n, u) => n === "create" && u.includes("@bufbuild/protobuf")],
  ["JSON.parse / JSON.stringify", (n, u) => u === "" && (n === "parse" || n === "stringify")],
  ["flatRows", (n) => n === "flatRows"],
  ["EntryBuilder (server: entries from events)", (_, u) => u.includes("/src/server/parse/entry-builder.")],
  ["binlog decoder (src/server/binlog)", (_, u) => u.includes("/src/server/binlog/")],
  ["entry encoding (src/server/encode)", (_, u) => u.includes("/src/server/encode/")],
];

export interface PartTime {
  name: string;
  ms: number;
  usPerRow: number;
  percent: number;
}

export interface ProcessProfile {
  process: string;
  /** What the figures are per: "delivered row" (default) or e.g. "batch". */
  per: string;
  /** Time sampled (idle left out), ms. */
  cpuMs: number;
  /**
   * Per delivered row, µs: the process's CPU time over the same window (from /proc, all its
   * threads) when given, else the time sampled. The profiler samples wall time: on a loaded
   * machine a sample also counts the time its thread waited for a core, so the shares are
   * taken from the profile and the total from /proc.
   */
  usPerRow: number;
  /** Time sampled per delivered row, µs. */
  sampledUsPerRow: number;
  parts: PartTime[];
  calls: PartTime[];
  /** The functions with the most self time. */
  top: { name: string; where: string; ms: number; percent: number }[];
}

/** A script URL relative to the repository, or from the package on for node_modules. */
function shortUrl(url: string, root: string): string {
  const u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("/node_modules/");
  if (nm >= 0) return u.slice(nm + "/node_modules/".length);
  return u.startsWith(root) ? u.slice(root.length).replace(/^\//, "") : u;
}

/**
 * The profile of one process, per delivered row. `window`: CLOCK_MONOTONIC µs (V8's profile
 * clock); only samples taken inside it count (start-up and module loading left out).
 */
export function profileOf(
  file: string,
  process: string,
  rows: number,
  root: string,
  window?: [number, number],
  cpuSeconds?: number,
  per = "delivered row",
): ProcessProfile {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, Node>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const partOf = new Map<number, string>();
  const callsOf = new Map<number, Set<string>>();
  const callsOfNode = (id: number): Set<string> => {
    const known = callsOf.get(id);
    if (known) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const set = new Set(up === undefined ? [] : callsOfNode(up));
    if (node)
      for (const [name, match] of CALLS)
        if (match(node.callFrame.functionName, node.callFrame.url)) set.add(name);
    callsOf.set(id, set);
    return set;
  };
  const parts = new Map<string, number>();
  const calls = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    const id = p.samples[i] as number;
    const dt = p.timeDeltas[i + 1] ?? 0;
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    total += dt;
    const { functionName, url } = node.callFrame;
    let part = partOf.get(id);
    if (part === undefined) {
      part = (PARTS.find(([, m]) => m(functionName, url)) as (typeof PARTS)[number])[0];
      partOf.set(id, part);
    }
    parts.set(part, (parts.get(part) ?? 0) + dt);
    for (const c of callsOfNode(id)) calls.set(c, (calls.get(c) ?? 0) + dt);
    const fn = `${functionName || "(anonymous)"}\u0000${url ? `${shortUrl(url, root)}:${(node.callFrame.lineNumber ?? 0) + 1}` : ""}`;
    functions.set(fn, (functions.get(fn) ?? 0) + dt);
  }
  // Sampled time -> CPU time.
  const scale = cpuSeconds !== undefined && total > 0 ? (cpuSeconds * 1e6) / total : 1;
  const times = (m: Map<string, number>): PartTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({
        name,
        ms: us / 1000,
        usPerRow: rows > 0 ? (us * scale) / rows : 0,
        percent: total > 0 ? (100 * us) / total : 0,
      }));
  return {
    process,
    per,
    cpuMs: total / 1000,
    usPerRow: rows > 0 ? (total * scale) / rows : 0,
    sampledUsPerRow: rows > 0 ? total / rows : 0,
    parts: times(parts),
    calls: times(calls),
    top: times(functions)
      .slice(0, 12)
      .map((f) => {
        const [name, where] = f.name.split("\u0000") as [string, string];
        return { name, where, ms: f.ms, percent: f.percent };
      }),
  };
}

export function formatProfile(p: ProcessProfile): string {
  const row = (t: PartTime) =>
    `    ${t.usPerRow.toFixed(2).padStart(7)} µs ${t.percent.toFixed(1).padStart(5)}%  ${t.name}`;
  return [
    `  ${p.process}: ${p.usPerRow.toFixed(2)} µs of CPU per ${p.per} (/proc; ${p.cpuMs.toFixed(0)} ms sampled, ${p.sampledUsPerRow.toFixed(2)} µs); shares from the profile:`,
    "   self time by part:",
    ...p.parts.filter((t) => t.percent >= 0.5).map(row),
    "   inclusive time of calls:",
    ...p.calls.map(row),
    "   top functions (self):",
    ...p.top
      .slice(0, 10)
      .map(
        (f) =>
          `    ${f.ms.toFixed(0).padStart(7)} ms ${f.percent.toFixed(1).padStart(5)}%  ${f.name} ${f.where}`,
      ),
  ].join("\n");
}
