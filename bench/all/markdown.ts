// BENCHMARKS.md: the machine and versions, every target with what this run measured (and for a
// target not met, the gap and its cause), then each part's own tables and report, then the
// hand-written table of what was tried and did not pay (bench/all/did-not-pay.md).

import { formatProfile } from "../delivery/profile.js";
import {
  catchupTable,
  type Report as DeliveryReport,
  latencyTable,
  memoryTable,
  runList,
  throughputTable,
} from "../delivery/report.js";
import { resultTable } from "../failover/report.js";
import type { Machine } from "./machine.js";
import type { PartName } from "./options.js";
import type { PartOutcome } from "./run-part.js";
import type { Results, TargetRow } from "./targets.js";

export interface PartRecord {
  name: PartName;
  title: string;
  command: string;
  outcome: PartOutcome;
}

export interface Document {
  machine: Machine;
  loadAfter: number[];
  command: string;
  startedAt: Date;
  minutes: number;
  quick: boolean;
  parts: PartRecord[];
  results: Results;
  targets: TargetRow[];
  didNotPay: string;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
const textBlock = (text: string) => ["```text", text.replace(/\s+$/, ""), "```"];

export function renderDocument(d: Document): string {
  return [
    "# Benchmarks",
    "",
    `Written by \`${d.command}\` on ${d.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC ` +
      `(${d.minutes.toFixed(0)} min). Do not edit it by hand: run the command again. What each bench ` +
      "does and its options: docs/benchmarks.md.",
    ...(d.quick
      ? ["", "**A --quick run: small sizes that show every part runs; not figures to quote.**"]
      : []),
    "",
    ...machineSection(d),
    ...targetSection(d.targets),
    ...partsSection(d.parts),
    ...d.parts.flatMap((p) => partSection(p, d.results)),
    d.didNotPay.trim(),
    "",
  ].join("\n");
}

function machineSection(d: Document): string[] {
  const m = d.machine;
  const rows: [string, string][] = [
    ["CPU", `${m.cpuModel}, ${m.cores} cores`],
    ["memory", `${m.memoryGB} GB`],
    ["OS", `${m.os}, Linux ${m.kernel}`],
    ["Node.js", m.node],
    ["MariaDB", m.mariadb],
    ["ZooKeeper", m.zookeeper],
    ["haproxy", m.haproxy],
    ["Go", m.go],
    ["Python", m.python],
    ["sluice", m.commit],
    ["load average (1, 5, 15 min)", `${load(m.loadBefore)} before, ${load(d.loadAfter)} after`],
  ];
  return ["## Machine", "", "| | |", "|---|---|", ...rows.map(([a, b]) => `| ${a} | ${cell(b)} |`), ""];
}

function targetSection(rows: TargetRow[]): string[] {
  const met = (r: TargetRow) => (r.met === undefined ? "not measured" : r.met ? "met" : "**NOT met**");
  return [
    "## Targets",
    "",
    "Issue 20's (delivery, latency, memory) and issue 22's (failover), with decode against its peers.",
    "",
    "| area | target | measured | | gap and its cause |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) => `| ${r.area} | ${cell(r.target)} | ${cell(r.measured)} | ${met(r)} | ${cell(r.gap ?? "")} |`,
    ),
    "",
  ];
}

function partsSection(parts: PartRecord[]): string[] {
  return [
    "## Parts",
    "",
    "| part | command | minutes | result |",
    "|---|---|---|---|",
    ...parts.map(
      (p) =>
        `| ${p.name} | \`${cell(p.command)}\` | ${(p.outcome.seconds / 60).toFixed(1)} | ${outcomeText(p.outcome)} |`,
    ),
    "",
  ];
}

export function outcomeText(o: PartOutcome): string {
  if (o.timedOut) return "**stopped at its time limit**";
  return o.exit === 0 ? "ok" : `**failed** (exit ${o.exit}; its logs are in the work directory)`;
}

function partSection(p: PartRecord, r: Results): string[] {
  const head = [`## ${p.title}`, "", `\`${p.command}\``, ""];
  if (p.name === "delivery" && r.delivery) return [...head, ...deliveryBody(r.delivery)];
  if (p.name === "catchup" && r.catchup) {
    return [...head, ...catchupTable(r.catchup), "", ...textBlock(runList(r.catchup).join("\n")), ""];
  }
  if (p.name === "failover" && r.failover && r.faultKinds) {
    const table = resultTable(r.failover.faults, r.faultKinds, r.failover.options);
    // The part's own report up to its table (the table is above, as Markdown).
    const faults = p.outcome.stdout.split(/\n(?=Worst pause)/)[0] ?? "";
    return [...head, ...table, "", "The run, fault by fault:", "", ...textBlock(faults), ""];
  }
  return [...head, ...textBlock(p.outcome.stdout || "(no output)"), ""];
}

function deliveryBody(d: DeliveryReport): string[] {
  const out = [...textBlock(d.header.join("\n")), ""];
  if (d.throughput.length)
    out.push(
      "Throughput: the whole dataset per run, CPU per delivered row (medians).",
      "",
      ...throughputTable(d),
      "",
    );
  if (d.latency.length)
    out.push("Commit → consumer latency through the gateway.", "", ...latencyTable(d), "");
  if (d.memory.length) out.push("The server's memory with a slow consumer.", "", ...memoryTable(d), "");
  out.push(...textBlock(runList(d).join("\n")), "");
  for (const p of d.profiles) {
    out.push(`Where the CPU goes, ${p.title} (\`node --cpu-prof\`):`, "");
    out.push(...textBlock(p.processes.map(formatProfile).join("\n")), "");
  }
  return out;
}
