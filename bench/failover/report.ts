// What the cluster bench records of each fault, and the table it prints: per fault kind, the
// median and worst pause of each consumer next to the goal of issue 22.
import type { FaultKind } from "./faults.js";
import type { BenchOptions } from "./options.js";
import { type Gap, summarize } from "./pauses.js";

export interface FaultRecord {
  kind: string;
  round: number;
  /** What it hit, e.g. "server-2" or "gateway-a (holds A)". */
  target: string;
  /** When the fault was injected, and when the bench stopped watching (ms since the epoch). */
  t0: number;
  end: number;
  /** The machine's 1-minute load average when it was injected. */
  load: number;
  /** The steps after t0 (restart, SIGCONT), ms after it. */
  actions: { at: number; what: string }[];
  /** Per consumer ("A", "B"): the longest gap between deliveries spanning the fault. */
  pauses: Record<string, Gap | undefined>;
  /** The longest gap between commits in the same span (the source's own pause). */
  commitGap?: Gap;
  /** Per consumer: the errors it saw, "+ms call code: message". */
  noticed: Record<string, string[]>;
}

/** What --json writes: every fault's record and the exactness checks. */
export interface FailoverReport {
  options: BenchOptions;
  cores: number;
  faults: FaultRecord[];
  /** Rows committed by the writer over the whole run. */
  rows: number;
  checks: { consumer: string; exact: boolean; problem?: string; redelivered: number }[];
}

/** Issue 22's goal: a graceful handover 0.5 s, any other single fault the session timeout + 1 s. */
export function goalMs(kind: Pick<FaultKind, "graceful">, sessionTimeoutMs: number): number {
  return kind.graceful ? 500 : sessionTimeoutMs + 1000;
}

export function resultTable(records: FaultRecord[], kinds: FaultKind[], opts: BenchOptions): string[] {
  const consumers = [...new Set(records.flatMap((r) => Object.keys(r.pauses)))].sort();
  const lines = [
    `Worst pause in deliveries per fault, ms (median / worst over the rounds); A streams, B calls Get/Ack; ` +
      `goal: session timeout + 1 s = ${opts.sessionTimeoutMs + 1000} ms, graceful handover 500 ms`,
    "",
    `| fault | rounds | goal | ${consumers.map((c) => `${c} median | ${c} worst`).join(" | ")} | commits' longest gap |`,
    `|---|---|---|${consumers.map(() => "---|---|").join("")}---|`,
  ];
  for (const kind of kinds) {
    const mine = records.filter((r) => r.kind === kind.name);
    if (!mine.length) continue;
    const goal = goalMs(kind, opts.sessionTimeoutMs);
    const cells = consumers.flatMap((c) => {
      const s = summarize(mine.map((r) => r.pauses[c]?.ms ?? Number.NaN));
      return [String(s.median), `${s.worst}${s.worst > goal ? " (over)" : ""}`];
    });
    const commits = summarize(mine.map((r) => r.commitGap?.ms ?? 0)).worst;
    lines.push(`| ${kind.title} | ${mine.length} | ${goal} | ${cells.join(" | ")} | ${commits} |`);
  }
  return lines;
}
