// bench/delivery's printed report: one table per measurement, each figure next to issue 20's
// target for it, then every run with the machine's load average, then the profiles.
import type { CatchupRun } from "./catchup.js";
import { CLIENT_LABELS, type ClientKind } from "./consumers.js";
import type { LatencyRun } from "./latency.js";
import type { MemoryRun } from "./memory.js";
import { formatProfile, type ProcessProfile } from "./profile.js";
import type { DecodeRun, ThroughputRun } from "./throughput.js";

export interface Report {
  header: string[];
  maxBytes: number;
  decode: DecodeRun[];
  throughput: ThroughputRun[];
  latency: LatencyRun[];
  memory: MemoryRun[];
  catchup: CatchupRun[];
  profiles: { title: string; processes: ProcessProfile[] }[];
  seconds: number;
}

/** Issue 20's throughput targets, rows/s, by client. */
export const TARGET_ROWS: Record<ClientKind, number> = {
  "ts-grpc": 200_000,
  "ts-connect": 200_000,
  python: 150_000,
  go: 150_000,
  json: 50_000,
};
export const P99_TARGET_MS: Record<number, number> = { 1000: 20, 10000: 50 };
export const RSS_HEADROOM_MB = 100;

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const k = (n: number) =>
  !Number.isFinite(n)
    ? "-"
    : n >= 1e6
      ? `${(n / 1e6).toFixed(2)}M`
      : n >= 1e4
        ? `${(n / 1e3).toFixed(1)}k`
        : n.toFixed(0);
const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(1));
const met = (ok: boolean) => (ok ? "met" : "NOT met");

/** Rows/s and such ("88.1k", "1.14M"), and one decimal ("-" when not a number): as the tables print them. */
export { f1 as formatOneDecimal, k as formatRate };

export function throughputTable(r: Report): string[] {
  const out = [
    "| consumer | path | rows/s median | best | target | client CPU µs/row | server µs/row (prefill) | gateway µs/row | gateway / server (target ≤ 10%) | server peak RSS MB | runs ok |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const decodeOk = r.decode.filter((d) => d.ok);
  const decodeMedian = median(decodeOk.map((d) => d.rowsPerSec));
  if (r.decode.length > 0) {
    out.push(
      `| decode only (decoder's own reader) | - | ${k(decodeMedian)} | ${k(Math.max(...decodeOk.map((d) => d.rowsPerSec)))} | - | ${f1(median(decodeOk.map((d) => d.cpuUsPerRow)))} (decoder) | - | - | - | - | ${decodeOk.length}/${r.decode.length} |`,
    );
  }
  const consumers = [...new Set(r.throughput.map((t) => t.consumer))];
  for (const c of consumers) {
    const all = r.throughput.filter((t) => t.consumer === c);
    const ok = all.filter((t) => t.ok);
    const [client, path] = c.split(":") as [ClientKind, string];
    const rate = median(ok.map((t) => t.rowsPerSec));
    const gw = median(ok.filter((t) => t.gatewayCpuUs !== undefined).map((t) => t.gatewayCpuUs as number));
    const srv = median(ok.map((t) => t.serverCpuUs));
    const ratio = gw / srv;
    const target = TARGET_ROWS[client];
    const pct = (rate / decodeMedian) * 100;
    const targetCell =
      path === "gateway"
        ? `≥ ${k(target)}: ${met(rate >= target)}${client.startsWith("ts-") ? `; ${pct.toFixed(1)}% of decode (≥ 20%: ${met(pct >= 20)})` : ""}`
        : "-";
    out.push(
      `| ${CLIENT_LABELS[client]} | ${path} | ${k(rate)} | ${k(Math.max(0, ...ok.map((t) => t.rowsPerSec)))} | ${targetCell} | ${f1(median(ok.map((t) => t.clientCpuUs)))} | ${f1(srv)} (${f1(median(ok.map((t) => t.serverPrefillCpuUs)))}) | ${f1(gw)} | ${Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)}%: ${met(ratio <= 0.1)}` : "-"} | ${f1(Math.max(0, ...ok.map((t) => t.serverPeakRssMB)))} | ${ok.length}/${all.length} |`,
    );
  }
  return out;
}

export function latencyTable(r: Report): string[] {
  const out = [
    "| client (through the gateway) | rows/s | p50 ms | p99 ms | max ms | p99 target | server µs/row | gateway µs/row | client µs/row | runs ok |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  const keys = [...new Set(r.latency.map((l) => `${l.client}|${l.rate}`))];
  for (const key of keys) {
    const all = r.latency.filter((l) => `${l.client}|${l.rate}` === key);
    const ok = all.filter((l) => l.ok);
    const [client, rate] = [all[0]?.client as ClientKind, all[0]?.rate as number];
    const p99 = median(ok.map((l) => l.p99Ms));
    const target = P99_TARGET_MS[rate];
    out.push(
      `| ${CLIENT_LABELS[client]} | ${k(rate)} (${k(median(ok.map((l) => l.achievedRate)))} achieved) | ${f1(median(ok.map((l) => l.p50Ms)))} | ${f1(p99)} (${ok.map((l) => f1(l.p99Ms)).join(", ")}) | ${f1(Math.max(...ok.map((l) => l.maxMs)))} | ${target ? `≤ ${target}: ${met(p99 <= target)}` : "-"} | ${f1(median(ok.map((l) => l.serverCpuUs)))} | ${f1(median(ok.map((l) => l.gatewayCpuUs)))} | ${f1(median(ok.map((l) => l.clientCpuUs)))} | ${ok.length}/${all.length} |`,
    );
  }
  return out;
}

export function memoryTable(r: Report): string[] {
  const limit = r.maxBytes / 1e6 + RSS_HEADROOM_MB;
  const out = [
    `| scenario | server peak RSS MB | target ≤ store.maxBytes + 100 MB = ${limit.toFixed(0)} MB | rows acked (slow / fast) | RSS each second, MB |`,
    "|---|---|---|---|---|",
  ];
  for (const m of r.memory) {
    out.push(
      `| ${m.scenario} | ${m.ok ? f1(m.peakMB) : `FAILED: ${m.error}`} | ${m.ok ? met(m.peakMB <= limit) : "-"} | ${m.slowRows}${m.fastRows !== undefined ? ` / ${m.fastRows}` : ""} | ${m.perSecondMB.map((x) => x.toFixed(0)).join(" ")} |`,
    );
  }
  return out;
}

export function catchupTable(r: Report): string[] {
  const out = [
    "| rows written while stopped (in s) | stopped s | server peak RSS MB stopped / catching up | target ≤ store.maxBytes + 100 MB | gateway peak RSS MB | catch-up s | rows/s | µs/row server / gateway / client | stream reopened |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const c of r.catchup) {
    if (!c.ok) {
      out.push(`| ${k(c.stoppedRows)} | FAILED: ${c.error?.split("\n")[0]} |  |  |  |  |  |  |  |`);
      continue;
    }
    const peak = Math.max(c.serverPeakStoppedMB, c.serverPeakCatchupMB);
    out.push(
      `| ${k(c.stoppedRows)} (${f1(c.writeSeconds)}) | ${f1(c.stoppedSeconds)} | ${f1(c.serverPeakStoppedMB)} / ${f1(c.serverPeakCatchupMB)} | ≤ ${c.limitMB.toFixed(0)}: ${met(peak <= c.limitMB)} | ${f1(c.gatewayPeakMB)} | ${f1(c.catchupSeconds)} | ${k(c.rowsPerSec)} | ${f1(c.serverCpuUs)} / ${f1(c.gatewayCpuUs)} / ${f1(c.clientCpuUs)} | ${(c.subscriptions ?? 1) - 1}${c.retries?.length ? ` (${c.retries.join("; ")})` : ""} |`,
    );
  }
  return out;
}

export function runList(r: Report): string[] {
  const out = [
    "every run (load = 1-minute load average before → after; other work on the 2 cores slows runs):",
  ];
  for (const d of r.decode) {
    out.push(
      `  round ${d.round} decode only: ${d.ok ? `${k(d.rowsPerSec)} rows/s, ${f1(d.cpuUsPerRow)} µs/row` : `FAILED: ${d.error}`} (load ${f1(d.loadBefore)} → ${f1(d.loadAfter)})`,
    );
  }
  for (const t of r.throughput) {
    out.push(
      `  round ${t.round} ${t.consumer}: ${t.ok ? `${k(t.rowsPerSec)} rows/s in ${t.seconds.toFixed(1)} s, ${t.batches} batches; µs/row client ${f1(t.clientCpuUs)}, server ${f1(t.serverCpuUs)}, gateway ${f1(t.gatewayCpuUs)}; server peak RSS ${f1(t.serverPeakRssMB)} MB${(t.subscriptions ?? 1) > 1 ? `; the stream was reopened ${(t.subscriptions ?? 1) - 1} time(s) (${(t.retries ?? []).join("; ")})` : ""}` : `FAILED: ${t.error?.split("\n")[0]}`} (load ${f1(t.loadBefore)} → ${f1(t.loadAfter)})`,
    );
  }
  for (const l of r.latency) {
    out.push(
      `  round ${l.round} latency ${l.client} at ${l.rate} rows/s: ${l.ok ? `p50 ${f1(l.p50Ms)} p99 ${f1(l.p99Ms)} max ${f1(l.maxMs)} ms over ${l.samples} rows` : `FAILED: ${l.error}`} (load ${f1(l.loadBefore)} → ${f1(l.loadAfter)})`,
    );
  }
  for (const m of r.memory) out.push(`  memory, ${m.scenario}: load ${f1(m.load)} at the start`);
  for (const c of r.catchup) out.push(`  catch-up: load ${f1(c.loadBefore)} → ${f1(c.loadAfter)}`);
  return out;
}

export function formatReport(r: Report): string {
  const out = [...r.header, ""];
  if (r.throughput.length > 0 || r.decode.length > 0) {
    out.push(
      "throughput: rows/s from the first batch to the last ack, the whole dataset per run; CPU per delivered row (medians)",
    );
    out.push(...throughputTable(r), "");
  }
  if (r.latency.length > 0) {
    out.push(
      "commit → consumer latency through the gateway (receive time minus NOW(6) of the row's statement)",
    );
    out.push(...latencyTable(r), "");
  }
  if (r.memory.length > 0) {
    out.push("server memory with a slow consumer (through the gateway)");
    out.push(...memoryTable(r), "");
  }
  if (r.catchup.length > 0) {
    out.push(
      "catch-up: a consumer (ts-grpc, through the gateway) stopped with SIGSTOP while rows are written, then resumed; rows/s from SIGCONT to its last ack",
    );
    out.push(...catchupTable(r), "");
  }
  out.push(...runList(r), "");
  for (const p of r.profiles) {
    out.push(`CPU profiles, ${p.title}:`);
    for (const proc of p.processes) out.push(formatProfile(proc));
    out.push("");
  }
  out.push(`whole run ${(r.seconds / 60).toFixed(1)} min`);
  return out.join("\n");
}
