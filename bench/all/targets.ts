// Every target of issues 20 and 22 next to what a run measured, and for a target not met the
// gap and what the same run says about its cause (CPU per row of each process, memory before
// the store filled). Pure: reads the parts' JSON reports, returns rows for BENCHMARKS.md.
import type { Report as DecodeReport } from "../decode/results.js";
import type { ClientKind } from "../delivery/consumers.js";
import { CLIENT_LABELS } from "../delivery/consumers.js";
import {
  type Report as DeliveryReport,
  formatOneDecimal as f1,
  formatRate as k,
  median,
  P99_TARGET_MS,
  RSS_HEADROOM_MB,
  TARGET_ROWS,
} from "../delivery/report.js";
import type { FaultKind } from "../failover/faults.js";
import { summarize } from "../failover/pauses.js";
import { type FailoverReport, goalMs } from "../failover/report.js";
import type { ScaleReport } from "../scale/report.js";

export interface Results {
  cores: number;
  decode?: DecodeReport;
  delivery?: DeliveryReport;
  failover?: FailoverReport;
  /** bench/delivery's report of its catchup phase alone. */
  catchup?: DeliveryReport;
  scale?: ScaleReport;
  /** The failover bench's fault kinds (title, goal), for its rows. */
  faultKinds?: FaultKind[];
}

export interface TargetRow {
  area: string;
  target: string;
  measured: string;
  /** undefined: not measured in this run. */
  met: boolean | undefined;
  /** For a target not met: how far off, and what this run shows of the cause. */
  gap?: string;
}

export function targetRows(r: Results): TargetRow[] {
  return [
    ...decodeRows(r.decode),
    ...deliveryRows(r.delivery, r.cores),
    ...catchupRows(r.catchup),
    ...failoverRows(r),
    ...scaleRows(r.scale),
  ];
}

function decodeRows(d: DecodeReport | undefined): TargetRow[] {
  if (!d) return [];
  const ratio = (key: string) => d.ratios[key] ?? null;
  const rows: TargetRow[] = [];
  const z = ratio("sluice / zongji");
  rows.push({
    area: "decode",
    target: "sluice ≥ 3x @vlasky/zongji (rows/s, same binlog, same run)",
    measured: z === null ? "-" : `${z.toFixed(2)}x`,
    met: z === null ? undefined : z >= 3,
  });
  const v = ratio("sluice / mariadb-binlog --verbose");
  rows.push({
    area: "decode",
    target: "sluice ≥ mariadb-binlog --verbose",
    measured: v === null ? "-" : `${v.toFixed(2)}x`,
    met: v === null ? undefined : v >= 1,
  });
  return rows;
}

export interface Throughput {
  rate: number;
  client: number;
  /** The server's CPU per row, and of it what it spent filling its store before the consumer came. */
  server: number;
  prefill: number;
  gateway: number;
}

function throughputOf(d: DeliveryReport, consumer: string): Throughput | undefined {
  const ok = d.throughput.filter((t) => t.consumer === consumer && t.ok);
  if (ok.length === 0) return undefined;
  return {
    rate: median(ok.map((t) => t.rowsPerSec)),
    client: median(ok.map((t) => t.clientCpuUs)),
    server: median(ok.map((t) => t.serverCpuUs)),
    prefill: median(ok.map((t) => t.serverPrefillCpuUs)),
    gateway: median(ok.filter((t) => t.gatewayCpuUs !== undefined).map((t) => t.gatewayCpuUs as number)),
  };
}

/**
 * The CPU-bound ceiling of the measured window: every process of the path shares the machine's
 * cores. The server filled its store from the binlog before the consumer came (the prefill,
 * outside the window); a live source costs it that share as well.
 */
export function cpuGap(t: Throughput, cores: number): string {
  const delivering = t.server - t.prefill;
  const gateway = Number.isFinite(t.gateway) ? t.gateway : 0;
  const sum = t.client + delivering + gateway;
  const parts = [
    `server ${f1(delivering)}`,
    ...(gateway ? [`gateway ${f1(gateway)}`] : []),
    `client ${f1(t.client)}`,
  ];
  return (
    `while the consumer read, CPU per row added up to ${f1(sum)} µs (${parts.join(", ")}): on ${cores} cores ` +
    `shared with MariaDB that allows at most ${k((cores * 1e6) / sum)} rows/s; filling its store before the ` +
    `consumer came cost the server another ${f1(t.prefill)} µs a row`
  );
}

function deliveryRows(d: DeliveryReport | undefined, cores: number): TargetRow[] {
  if (!d) return [];
  const decodeRate = median(d.decode.filter((x) => x.ok).map((x) => x.rowsPerSec));
  const rows: TargetRow[] = [];
  for (const client of Object.keys(TARGET_ROWS) as ClientKind[]) {
    const t = throughputOf(d, `${client}:gateway`);
    if (!t) continue;
    const target = TARGET_ROWS[client];
    rows.push({
      area: "delivery",
      target: `${CLIENT_LABELS[client]} through the gateway ≥ ${k(target)} rows/s`,
      measured: `${k(t.rate)} rows/s`,
      met: t.rate >= target,
      ...(t.rate >= target
        ? {}
        : { gap: `${((t.rate / target) * 100).toFixed(0)}% of it; ${cpuGap(t, cores)}` }),
    });
    if (client.startsWith("ts-") && Number.isFinite(decodeRate)) {
      const pct = (t.rate / decodeRate) * 100;
      rows.push({
        area: "delivery",
        target: `${CLIENT_LABELS[client]} ≥ 20% of decode-only rows/s (same run)`,
        measured: `${pct.toFixed(1)}% of ${k(decodeRate)}`,
        met: pct >= 20,
      });
    }
    const ratio = t.gateway / t.server;
    if (Number.isFinite(ratio)) {
      rows.push({
        area: "delivery",
        target: `gateway CPU per row ≤ 10% of the server's (${CLIENT_LABELS[client]})`,
        measured: `${(ratio * 100).toFixed(0)}% (${f1(t.gateway)} of ${f1(t.server)} µs)`,
        met: ratio <= 0.1,
        ...(ratio <= 0.1 ? {} : { gap: gatewayGap(client, d) }),
      });
    }
  }
  rows.push(...latencyRows(d), ...memoryRows(d));
  return rows;
}

/**
 * Where the gateway's CPU goes, from the run's profile of this client through the gateway
 * (or of another client through it, said so); else only what the path does.
 */
function gatewayGap(client: ClientKind, d: DeliveryReport): string {
  const path =
    client === "json"
      ? "HTTP/JSON: the gateway relays the server's JSON answers"
      : "this path is relayed as bytes";
  const own = d.profiles.find((p) => p.title.startsWith(`${client}:gateway `));
  const profile =
    own ??
    d.profiles.find((p) => p.title.includes(":gateway ") && p.processes.some((x) => x.process === "gateway"));
  const gw = profile?.processes.find((x) => x.process === "gateway");
  const top = gw?.parts.slice(0, 2).map((t) => `${t.name} ${t.percent.toFixed(0)}%`);
  if (!profile || !top?.length) return `${path}; no profile of the gateway in this run`;
  const which = own ? "its" : `the ${profile.title.split(" ")[0]} run's`;
  return `${path}; ${which} profile puts the gateway's CPU in ${top.join(", ")}`;
}

function latencyRows(d: DeliveryReport): TargetRow[] {
  const rows: TargetRow[] = [];
  const keys = [...new Set(d.latency.map((l) => `${l.client}|${l.rate}`))];
  for (const key of keys) {
    const ok = d.latency.filter((l) => `${l.client}|${l.rate}` === key && l.ok);
    const first = d.latency.find((l) => `${l.client}|${l.rate}` === key);
    const limit = first ? P99_TARGET_MS[first.rate] : undefined;
    if (!first || limit === undefined) continue;
    const p99 = median(ok.map((l) => l.p99Ms));
    rows.push({
      area: "latency",
      target: `commit → consumer p99 ≤ ${limit} ms at ${first.rate.toLocaleString("en-US")} rows/s (${CLIENT_LABELS[first.client]}, gateway)`,
      measured: ok.length ? `${f1(p99)} ms (p50 ${f1(median(ok.map((l) => l.p50Ms)))})` : "failed",
      met: ok.length ? p99 <= limit : undefined,
    });
  }
  return rows;
}

function memoryRows(d: DeliveryReport): TargetRow[] {
  const limit = d.maxBytes / 1e6 + RSS_HEADROOM_MB;
  return d.memory.map((m) => {
    const before = m.perSecondMB[0] ?? Number.NaN;
    return {
      area: "memory",
      target: `server RSS ≤ store.maxBytes + 100 MB = ${limit.toFixed(0)} MB (${m.scenario} consumer)`,
      measured: m.ok ? `${f1(m.peakMB)} MB` : "failed",
      met: m.ok ? m.peakMB <= limit : undefined,
      ...(m.ok && m.peakMB > limit
        ? {
            gap:
              `${f1(m.peakMB - limit)} MB over; RSS was already ${f1(before)} MB in the measurement's first ` +
              `second (the store filled from the binlog, store.maxBytes ${f1(d.maxBytes / 1e6)} MB), and rose ` +
              `${f1(m.peakMB - before)} MB above that while the consumer was slow`,
          }
        : {}),
    };
  });
}

function failoverRows(r: Results): TargetRow[] {
  const f = r.failover;
  if (!f) return [];
  const rows: TargetRow[] = [];
  for (const kind of r.faultKinds ?? []) {
    const mine = f.faults.filter((x) => x.kind === kind.name);
    if (mine.length === 0) continue;
    const goal = goalMs(kind, f.options.sessionTimeoutMs);
    // A consumer with no delivery after the fault never resumed: an endless pause.
    const worst = summarize(mine.flatMap((x) => Object.values(x.pauses).map((p) => p?.ms ?? Infinity))).worst;
    rows.push({
      area: "failover",
      target: `${kind.title}: longest pause ≤ ${goal} ms`,
      measured: Number.isFinite(worst)
        ? `${worst} ms worst of ${mine.length} round(s)`
        : "a consumer never resumed",
      met: worst <= goal,
    });
  }
  const exact = f.checks.every((c) => c.exact);
  rows.push({
    area: "failover",
    target: "every consumer acked exactly the committed rows, in order, through every fault",
    measured: exact
      ? `${f.rows.toLocaleString("en-US")} rows, exact`
      : f.checks
          .filter((c) => !c.exact)
          .map((c) => `${c.consumer}: ${c.problem}`)
          .join("; "),
    met: exact,
  });
  return rows;
}

function catchupRows(d: DeliveryReport | undefined): TargetRow[] {
  return (d?.catchup ?? []).flatMap((c): TargetRow[] => {
    const what = `a consumer stopped for ${k(c.stoppedRows)} row changes`;
    if (!c.ok)
      return [
        {
          area: "memory",
          target: `server RSS ≤ store.maxBytes + 100 MB (${what})`,
          measured: "failed",
          met: undefined,
        },
      ];
    const rows: TargetRow[] = [];
    for (const [phase, peak] of [
      ["while it is stopped", c.serverPeakStoppedMB],
      ["while it catches up", c.serverPeakCatchupMB],
    ] as const) {
      rows.push({
        area: "memory",
        target: `server RSS ≤ store.maxBytes + 100 MB = ${c.limitMB.toFixed(0)} MB, ${what}, ${phase}`,
        measured: `${f1(peak)} MB`,
        met: peak <= c.limitMB,
        ...(peak <= c.limitMB ? {} : { gap: `${f1(peak - c.limitMB)} MB over` }),
      });
    }
    rows.push({
      area: "catch-up",
      target: `${what} gets every row exactly once it runs again`,
      measured: `${k(c.rowsPerSec)} rows/s, ${f1(c.catchupSeconds)} s`,
      met: true,
    });
    return rows;
  });
}

function scaleRows(s: ScaleReport | undefined): TargetRow[] {
  if (!s) return [];
  const spread = (x: Record<string, number> | undefined) => (x ? Object.values(x).join("/") : "-");
  const servers = s.servers?.length ?? 0;
  const rows: TargetRow[] = [
    {
      area: "scale",
      target: `${s.options.destinations} destinations over ${servers} servers: every one running, the spread balanced`,
      measured:
        s.balance.balancedS === undefined
          ? "not balanced"
          : `${f1(s.balance.balancedS)} s (${spread(s.balance.perServer)})`,
      met: s.balance.balancedS !== undefined,
    },
  ];
  const d = s.delivery;
  rows.push({
    area: "scale",
    target: `${s.streams.count} streams through one gateway: every stream's rows exact`,
    measured: d
      ? `${k(d.rowsPerSec)} rows/s delivered; p50 ${f1(d.p50Ms)} ms, p99 ${f1(d.p99Ms)} ms`
      : s.errors.join("; ") || "no delivery",
    met: s.ok,
    ...(s.ok ? {} : { gap: s.errors.slice(0, 3).join("; ") }),
  });
  return rows;
}
