// `npm run bench` (scripts/bench.sh): every bench of issue 20 and 22 in one run, and
// BENCHMARKS.md written from their figures.
//
//   node dist/bench/all/run.js [--quick] [--parts decode,delivery,catchup,failover,scale]
//        [--out FILE] [--work DIR] [--datadir DIR] [--time-limit SECONDS]
//
// Each part is an existing bench (bench/decode, bench/delivery, bench/failover, bench/scale)
// run as a child process with --json, one after the other (they would skew each other's
// figures on a small machine), each starting its own MariaDB, ZooKeeper, servers and gateways
// on 127.0.0.1 and stopping them when it ends. Decode and delivery share one generated binlog
// (--datadir, or one in the work directory). A failed part is reported in BENCHMARKS.md and the
// run goes on; the exit status is 1 when any part failed. --quick runs small sizes (minutes):
// a check that every part works, its figures not to quote. See docs/benchmarks.md.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { FAULTS } from "../failover/faults.js";
import { describeMachine } from "./machine.js";
import { type Document, type PartRecord, renderDocument } from "./markdown.js";
import { OptionError, type PartName, parseAllOptions, USAGE } from "./options.js";
import { datasetRows, planPart } from "./parts.js";
import { runPart } from "./run-part.js";
import { type Results, targetRows } from "./targets.js";

const DIST = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
const ROOT = DIST.replace(/\/dist$/, "");
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function main(argv: string[]): Promise<number> {
  const o = parseAllOptions(argv, join(ROOT, "BENCHMARKS.md"));
  const t0 = performance.now();
  const startedAt = new Date();
  const work = o.work ?? join(tmpdir(), `sluice-bench-${startedAt.toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(work, { recursive: true });
  const datadir = o.datadir ?? join(work, `dataset-${datasetRows(o.quick) / 1000}k`);
  const machine = describeMachine(ROOT);
  log(`work directory ${work}; writing ${o.out} at the end`);
  const parts: PartRecord[] = [];
  const results: Results = { cores: machine.cores, faultKinds: FAULTS };
  const deadline = Date.now() + o.timeLimitS * 1000;
  for (const name of o.parts) {
    const left = deadline - Date.now();
    if (left < 30_000) {
      log(`the whole run's time limit (${o.timeLimitS} s) is reached: ${name} and after are not run`);
      break;
    }
    parts.push(await runOne(name, { quick: o.quick, datadir, work, timeLimitMs: left }, results));
  }
  const doc: Document = {
    machine,
    loadAfter: loadavg(),
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    startedAt,
    minutes: (performance.now() - t0) / 60_000,
    quick: o.quick,
    parts,
    results,
    targets: targetRows(results),
    didNotPay: readFileSync(join(ROOT, "bench", "all", "did-not-pay.md"), "utf8"),
  };
  writeFileSync(o.out, renderDocument(doc));
  log(`wrote ${o.out} (${doc.minutes.toFixed(1)} min); every part's output and JSON are in ${work}`);
  return parts.every((p) => p.outcome.exit === 0) ? 0 : 1;
}

async function runOne(
  name: PartName,
  c: { quick: boolean; datadir: string; work: string; timeLimitMs: number },
  results: Results,
): Promise<PartRecord> {
  const plan = planPart(name, c);
  const script = join(DIST, plan.script);
  if (!existsSync(script)) throw new Error(`${script} is missing: compile first (npx tsc -p tsconfig.json)`);
  const json = join(c.work, `${name}.json`);
  rmSync(json, { force: true });
  const command = ["node", `dist/${plan.script}`, ...plan.args].join(" ");
  log(`${name}: ${command}`);
  const outcome = await runPart(name, [script, ...plan.args, "--json", json], {
    cwd: ROOT,
    logDir: c.work,
    timeLimitMs: c.timeLimitMs,
  });
  log(`${name}: exit ${outcome.exit} after ${(outcome.seconds / 60).toFixed(1)} min`);
  if (existsSync(json)) {
    const report = JSON.parse(readFileSync(json, "utf8"));
    results[name] = report;
  }
  return { name, title: plan.title, command, outcome };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof OptionError) {
      process.stderr.write(`npm run bench: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`npm run bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
