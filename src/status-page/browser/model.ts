// What the status page shows, computed from AdminService.ListDestinations' JSON answer: texts,
// levels, and each client's lag history drawn as a sparkline. No DOM here, so that Node's tests
// run it as the browser does (page.ts draws it).
import type { ClientStatusJson, DestinationStatusJson } from "../../gen/sluice/v1/admin_service_pb.js";
import type { PositionJson } from "../../gen/sluice/v1/position_pb.js";

/** How often the page asks, in milliseconds. */
export const POLL_MS = 2000;
/** Samples each sparkline keeps: three minutes at one every two seconds. */
export const HISTORY_LENGTH = 90;

/** int64 fields come as strings in proto3 JSON (and may be absent when zero). */
export function int(v: string | number | undefined): number {
  if (v === undefined) return 0;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** A client's lag in ms, or undefined when the server does not know it (lag_ms -1). */
export function lagOf(c: ClientStatusJson): number | undefined {
  const ms = int(c.lagMs);
  return ms < 0 ? undefined : ms;
}

export function lagText(ms: number | undefined): string {
  if (ms === undefined) return "unknown";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return durationText(ms);
}

/** Lag at a glance: ok under 10 s, warn under a minute, bad beyond. */
export type Level = "ok" | "warn" | "bad" | "unknown";

export function lagLevel(ms: number | undefined): Level {
  if (ms === undefined) return "unknown";
  if (ms < 10_000) return "ok";
  if (ms < 60_000) return "warn";
  return "bad";
}

/** "3 s", "4 min 12 s", "2 h 5 min", "3 d 4 h": the two largest units. */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const units: [string, number][] = [
    ["d", Math.floor(s / 86_400)],
    ["h", Math.floor(s / 3600) % 24],
    ["min", Math.floor(s / 60) % 60],
    ["s", s % 60],
  ];
  const first = units.findIndex(([, n]) => n > 0);
  if (first < 0) return "0 s";
  return units
    .slice(first, first + 2)
    .filter(([, n]) => n > 0)
    .map(([u, n]) => `${n} ${u}`)
    .join(" ");
}

/** "mysql-bin.000003:1234", with the GTID when there is one; "none" when unset. */
export function positionText(p: PositionJson | undefined): string {
  if (!p?.journalName) return "none";
  const at = `${p.journalName}:${int(p.position)}`;
  return p.gtid ? `${at} (${p.gtid})` : at;
}

/** A time as UTC, to the second: "2026-12-07 06:40:01 UTC". */
export function timeText(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "for 5 min" since `ms`, or "" when `ms` is 0 (unknown). */
export function ageText(ms: number, now: number): string {
  return ms > 0 ? `for ${durationText(now - ms)}` : "";
}

export function holderText(c: ClientStatusJson): string {
  return c.holder ? c.holder : "nobody";
}

export type DestinationState = "running" | "failed" | "no runner";

export function stateOf(d: DestinationStatusJson): DestinationState {
  if (d.failure) return "failed";
  return d.running?.address ? "running" : "no runner";
}

/** What an operator can do about a failure, as the admin API's Fix says. */
export function fixText(d: DestinationStatusJson): string {
  const f = d.failure;
  if (!f) return "";
  switch (f.fix) {
    case "FIX_SKIP_EVENT":
      return `sluice skip-event -d ${d.name} --at ${f.journalName}:${int(f.position)} passes over the event`;
    case "FIX_SET_CURSOR":
      return `sluice cursor set -d ${d.name} -c CLIENT_ID moves each client to a position the source can stream from`;
    default:
      return "the server exits and its supervisor restarts it";
  }
}

/** One sample of a client's lag; undefined lag: not known then (a gap in the line). */
export interface Sample {
  at: number;
  lagMs: number | undefined;
}

/**
 * The lag of every client, sample by sample, kept by the page (the servers keep no history for
 * it). A client that leaves the answer is forgotten.
 */
export class LagHistory {
  private readonly series = new Map<string, Sample[]>();

  constructor(private readonly limit = HISTORY_LENGTH) {}

  static key(destination: string, clientId: string): string {
    return JSON.stringify([destination, clientId]);
  }

  record(at: number, destinations: DestinationStatusJson[]): void {
    const seen = new Set<string>();
    for (const d of destinations) {
      for (const c of d.clients ?? []) {
        const key = LagHistory.key(d.name ?? "", c.clientId ?? "");
        seen.add(key);
        const samples = this.series.get(key) ?? [];
        this.add(samples, { at, lagMs: lagOf(c) });
        this.series.set(key, samples);
      }
    }
    for (const key of [...this.series.keys()]) if (!seen.has(key)) this.series.delete(key);
  }

  /** An answer that did not come: every client's line has a gap there. */
  gap(at: number): void {
    for (const samples of this.series.values()) this.add(samples, { at, lagMs: undefined });
  }

  private add(samples: Sample[], sample: Sample): void {
    samples.push(sample);
    if (samples.length > this.limit) samples.splice(0, samples.length - this.limit);
  }

  samples(destination: string, clientId: string): readonly Sample[] {
    return this.series.get(LagHistory.key(destination, clientId)) ?? [];
  }
}

/** An SVG sparkline: polylines' points (one per run of known samples), and the scale's top. */
export interface Sparkline {
  lines: string[];
  maxMs: number;
}

/**
 * Draws samples into a width × height box, the newest at the right edge and one slot per
 * sample of a full history, so the line moves left as samples come. The scale's top is the
 * largest lag shown, at least a second (an idle client lies flat at the bottom).
 */
export function sparkline(
  samples: readonly Sample[],
  width: number,
  height: number,
  slots = HISTORY_LENGTH,
): Sparkline {
  const known = samples.map((s) => s.lagMs).filter((v): v is number => v !== undefined);
  const maxMs = Math.max(1000, ...known);
  const step = slots > 1 ? width / (slots - 1) : 0;
  const offset = slots - samples.length;
  const lines: string[] = [];
  let run: string[] = [];
  samples.forEach((s, i) => {
    if (s.lagMs === undefined) {
      if (run.length) lines.push(run.join(" "));
      run = [];
      return;
    }
    const x = (offset + i) * step;
    const y = height - (s.lagMs / maxMs) * height;
    run.push(`${round(x)},${round(y)}`);
  });
  if (run.length) lines.push(run.join(" "));
  return { lines, maxMs };
}

const round = (v: number) => Math.round(v * 10) / 10;

/** A Connect error's code and message from a failed answer's status and JSON body. */
export function connectError(httpStatus: number, body: unknown): { code: string; message: string } {
  const b = body as { code?: unknown; message?: unknown } | undefined;
  const code = typeof b?.code === "string" ? b.code : `http ${httpStatus}`;
  const message = typeof b?.message === "string" ? b.message : "";
  return { code, message };
}
