// Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and totals self time per function and
// per file. The format: nodes[] (id, callFrame {functionName, url, lineNumber}, children),
// samples[] (the node on top of the stack at each tick) and timeDeltas[] (µs before each tick).
import { readFileSync } from "node:fs";

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  functions: ProfileEntry[];
  files: ProfileEntry[];
}

/** Shortens a script URL: the repo's own files relative to it, node_modules from the package on. */
function shortUrl(url: string, root: string): string {
  let u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("/node_modules/");
  if (nm >= 0) return u.slice(nm + "/node_modules/".length);
  if (root && u.startsWith(root)) u = u.slice(root.length).replace(/^\//, "");
  return u;
}

export function summarizeProfile(file: string, root: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, CpuProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfByNode = new Map<number, number>();
  let total = 0;
  // timeDeltas[i + 1] is the time the stack sampled at i was on CPU until the next sample.
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i] as number;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + dt);
    total += dt;
  }
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const files = new Map<string, number>();
  for (const [id, us] of selfByNode) {
    const node = byId.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    const name = cf.functionName || (cf.url ? "(anonymous)" : "(native)");
    const where = cf.url ? `${shortUrl(cf.url, root)}:${cf.lineNumber + 1}` : "";
    const key = `${name}\u0000${where}`;
    const e = fn.get(key) ?? { name, where, us: 0 };
    e.us += us;
    fn.set(key, e);
    const fileKey = cf.url ? shortUrl(cf.url, root) : name;
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
  }
  const pct = (us: number) => (total > 0 ? (100 * us) / total : 0);
  return {
    totalMs: total / 1000,
    functions: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, percent: pct(e.us) })),
    files: [...files.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([where, us]) => ({ name: where, where, selfMs: us / 1000, percent: pct(us) })),
  };
}

export function formatProfile(title: string, s: ProfileSummary): string {
  const lines = [`${title}: ${s.totalMs.toFixed(0)} ms sampled`, "  self ms     %  function (where)"];
  for (const e of s.functions) {
    lines.push(
      `  ${e.selfMs.toFixed(1).padStart(7)} ${e.percent.toFixed(1).padStart(5)}  ${e.name}${e.where ? ` (${e.where})` : ""}`,
    );
  }
  lines.push("  by file:");
  for (const e of s.files) {
    lines.push(`  ${e.selfMs.toFixed(1).padStart(7)} ${e.percent.toFixed(1).padStart(5)}  ${e.name}`);
  }
  return lines.join("\n");
}
