// bench/decode: binlog decode throughput, side by side in one run.
//
//   node dist/bench/decode/run.js [--rows N] [--keep] [--datadir DIR] [--json FILE] [--cpu-prof]
//                                 [--repeat N] [--timeout SECONDS] [--readers raw,verbose,...]
//                                 [--max-binlog-size BYTES] [--wide-every N] [--no-verify]
//                                 [--cpu-prof-out FILE.cpuprofile]
//
// Starts a private MariaDB 10.11 (test harness, loopback only), generates a binlog of at least
// --rows row changes (generate.ts), or restarts one saved by an earlier --keep/--datadir run,
// then has every reader read that SAME binlog over TCP from its first byte to the head
// recorded after generation:
//   raw        mariadb-binlog --read-from-remote-server --raw        (the transport, in C)
//   verbose    mariadb-binlog ... --base64-output=decode-rows --verbose > /dev/null
//   zongji     @vlasky/zongji, rows decoded to JS values
//   transport  sluice's ReplicationClient alone, nothing decoded
//   sluice     sluice's ReplicationClient + BinlogDecoder, every value as exact text
// Each runs in its own process, with a time limit. See docs/benchmarks.md.
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "../../test/harness/processes.js";
import { type Dataset, log, MB, parseArgs, parseCount, type ReaderResult } from "./common.js";
import { formatProfile, type ProfileSummary, summarizeProfile } from "./cpuprofile.js";
import {
  binlogRangeArgs,
  DEFAULT_MAX_BINLOG_SIZE,
  DEFAULT_ROWS,
  describeDataset,
  generate,
} from "./generate.js";
import { type Measured, runMeasured } from "./measure.js";
import type { ReaderConfig } from "./reader.js";
import { LABELS, READERS, type ReaderName, type ReaderRun, type Report } from "./results.js";
import {
  type BenchServer,
  readSavedDataset,
  saveDataset,
  startFreshServer,
  startSavedServer,
} from "./server.js";
import { importSluiceDecoder } from "./sluice-decoder.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..", "..", "..").replace(/\/dist$/, "");

async function main(): Promise<number> {
  const tStart = performance.now();
  const args = parseArgs(process.argv.slice(2), [
    ...["rows", "keep", "datadir", "json", "cpu-prof", "cpu-prof-out", "repeat", "timeout"],
    ...["readers", "max-binlog-size", "wide-every", "no-verify"],
  ]);
  const rows = args.has("rows") ? parseCount(args.get("rows") as string) : DEFAULT_ROWS;
  const keep = args.has("keep");
  const datadir = args.get("datadir") || undefined;
  const repeat = args.has("repeat") ? Math.max(1, parseCount(args.get("repeat") as string)) : 1;
  const maxBinlogSize = args.has("max-binlog-size")
    ? parseCount(args.get("max-binlog-size") as string)
    : DEFAULT_MAX_BINLOG_SIZE;
  const wanted = (args.get("readers") ?? READERS.join(",")).split(",").map((s) => s.trim());
  for (const r of wanted) {
    if (!(READERS as readonly string[]).includes(r))
      throw new Error(`unknown reader "${r}" (${READERS.join(",")})`);
  }
  const readers = READERS.filter((r) => wanted.includes(r));

  let db: BenchServer | undefined;
  let ds: Dataset;
  let generationSeconds: number | null = null;
  const tmp = makeTempDir("bench-decode-out");
  // Also on an abrupt exit (e.g. EPIPE when the output is piped into `head`).
  const cleanTmp = () => rmSync(tmp, { recursive: true, force: true });
  process.once("exit", cleanTmp);
  let exitCode = 0;
  try {
    const saved = datadir ? readSavedDataset(datadir) : undefined;
    if (datadir && saved) {
      if (args.has("rows") && saved.rows < rows) {
        log(
          `note: the dataset in ${datadir} has ${saved.rows} row changes, fewer than --rows ${rows}; using it`,
        );
      }
      log(`reusing the dataset in ${datadir}: ${describeDataset(saved)}`);
      db = await startSavedServer(datadir, saved);
      ds = saved;
    } else {
      log(`starting MariaDB and generating ${rows.toLocaleString("en-US")} row changes`);
      db = await startFreshServer({ maxBinlogSize, keepDataDir: keep || datadir !== undefined });
      ds = await generate(db, {
        rows,
        verify: !args.has("no-verify"),
        maxBinlogSize,
        ...(args.has("wide-every") ? { wideEvery: parseCount(args.get("wide-every") as string) } : {}),
      });
      generationSeconds = ds.generationSeconds;
      log(`generated in ${ds.generationSeconds.toFixed(1)} s: ${describeDataset(ds)}`);
      if (datadir) {
        await db.stop();
        saveDataset(db, ds, datadir);
        log(`dataset saved in ${datadir}; restarting MariaDB on it`);
        db = await startSavedServer(datadir, ds);
      } else if (keep) {
        saveDatasetManifest(db, ds);
      }
    }
    const timeoutSeconds = args.has("timeout") ? Number(args.get("timeout")) : 120 + ds.rows / 20_000;
    if (!(timeoutSeconds > 0))
      throw new Error(`--timeout must be a number of seconds, got ${args.get("timeout")}`);
    const timeoutMs = timeoutSeconds * 1000;

    // Other work on the machine skews every figure: the load average goes into the report.
    const loadAvgBefore = loadavg();
    const decoder = await importSluiceDecoder();
    const decoderAvailable = typeof decoder !== "string";
    if (!decoderAvailable) log(`sluice decoder: not available (${decoder})`);

    const runs: ReaderRun[][] = [];
    for (let i = 0; i < repeat; i++) {
      const round: ReaderRun[] = [];
      for (const reader of readers) {
        if (reader === "sluice" && !decoderAvailable) continue;
        log(`${repeat > 1 ? `[${i + 1}/${repeat}] ` : ""}${LABELS[reader]} ...`);
        const r = await runReader(reader, db, ds, tmp, timeoutMs);
        log(
          `  ${r.ok ? "" : "FAILED "}${r.seconds.toFixed(2)} s, ${fmtRate(r.rowsPerSec)} rows/s, ` +
            `${r.mbPerSec.toFixed(0)} MB/s${r.error ? `: ${r.error.split("\n")[0]}` : ""}`,
        );
        if (!r.ok && !(reader === "sluice" && r.error?.includes("not available"))) exitCode = 1;
        round.push(r);
      }
      runs.push(round);
    }
    const results = readers
      .map((reader) => fastest(runs.map((round) => round.find((r) => r.reader === reader))))
      .filter((r): r is ReaderRun => r !== undefined);
    if (!decoderAvailable && readers.includes("sluice")) {
      results.push(unavailable("sluice", `sluice decoder: not available (${decoder})`));
    }

    let profile: Report["profile"];
    if (args.has("cpu-prof")) {
      const which: "sluice" | "transport" = decoderAvailable ? "sluice" : "transport";
      log(`profiling ${LABELS[which]} (node --cpu-prof) ...`);
      const summary = await profileReader(
        which,
        db,
        ds,
        tmp,
        timeoutMs,
        args.get("cpu-prof-out") || undefined,
      );
      if (summary) profile = { reader: which, summary };
    }

    const report: Report = {
      dataset: ds,
      machine: {
        cpus: cpus().length,
        node: process.version,
        measuredWith: "",
        loadAvgBefore,
        loadAvgAfter: loadavg(),
      },
      runs,
      results,
      ratios: ratiosOf(results),
      medians: mediansOf(readers, runs),
      medianRoundRatios: medianRoundRatios(runs),
      targets: {},
      ...(profile ? { profile } : {}),
      seconds: { generation: generationSeconds, total: 0 },
    };
    report.targets = targetsOf(report.ratios, results);
    report.seconds.total = (performance.now() - tStart) / 1000;
    report.machine.measuredWith = results[0]?.notes.find((n) => n.startsWith("measured with")) ?? "";

    process.stdout.write(`${formatReport(report)}\n`);
    const json = JSON.stringify(report, null, 2);
    const jsonFile = args.get("json");
    if (jsonFile) {
      writeFileSync(jsonFile, `${json}\n`);
      log(`JSON written to ${jsonFile}`);
    } else {
      process.stdout.write(`\nJSON:\n${json}\n`);
    }
    if (keep && !datadir) {
      log(`dataset kept in ${dirname(db.dataDir)}; reuse it with --datadir ${dirname(db.dataDir)}`);
    }
    for (const r of results) {
      if (r.ok && r.rowsCounted >= 0 && r.rowsCounted !== ds.rows) exitCode = 1;
    }
  } finally {
    await db?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return exitCode;
}

/** With --keep (no --datadir) the harness leaves its dir (data/ + logs): make it reusable. */
function saveDatasetManifest(db: BenchServer, ds: Dataset): void {
  writeFileSync(join(dirname(db.dataDir), "dataset.json"), `${JSON.stringify(ds, null, 2)}\n`);
}

async function runReader(
  reader: ReaderName,
  db: BenchServer,
  ds: Dataset,
  tmp: string,
  timeoutMs: number,
): Promise<ReaderRun> {
  if (reader === "raw" || reader === "verbose") {
    const outDir = join(tmp, "raw");
    rmSync(outDir, { recursive: true, force: true });
    const args =
      reader === "raw"
        ? // --raw ignores --stop-position: it copies whole files, which end at the recorded head
          // (after a restart on a saved dataset the last one also holds a STOP event: counted).
          [...binlogRangeArgs(db, ds), "--raw", `--result-file=${outDir}/`]
        : [
            ...binlogRangeArgs(db, ds),
            `--stop-position=${ds.end.position}`,
            "--base64-output=decode-rows",
            "--verbose",
          ];
    if (reader === "raw") mkdirSync(outDir, { recursive: true });
    const m = await runMeasured("mariadb-binlog", args, {
      timeoutMs,
      captureStdout: false,
      serverPid: db.pid,
      tmpDir: tmp,
    });
    let bytes = ds.bytes;
    if (reader === "raw") {
      bytes = 0;
      for (const f of readdirSync(outDir)) bytes += statSync(join(outDir, f)).size;
      rmSync(outDir, { recursive: true, force: true });
    }
    const ok = m.exit === 0 && !m.timedOut;
    return toRun(reader, m, {
      ok,
      ...(ok
        ? {}
        : {
            error: m.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${m.exit}: ${m.stderr.slice(-500)}`,
          }),
      rowsCounted: -1,
      rows: ds.rows,
      bytes,
      seconds: m.wallSeconds,
      cpuSeconds: m.cpuUser + m.cpuSystem,
      maxRss: m.maxRss,
      notes: [`measured with ${m.method}`],
    });
  }
  const cfg: ReaderConfig = {
    reader,
    sourceUrl: db.sourceUrl,
    start: ds.start,
    end: ds.end,
    // The child gives up a little before it would be killed, so it can still report.
    timeoutMs: Math.max(timeoutMs * 0.9, timeoutMs - 1000),
  };
  const m = await runMeasured(process.execPath, [join(here, "reader.js"), JSON.stringify(cfg)], {
    timeoutMs,
    captureStdout: true,
    serverPid: db.pid,
    tmpDir: tmp,
  });
  const res = lastJson(m.stdout);
  if (!res) {
    return toRun(reader, m, {
      ok: false,
      error: m.timedOut
        ? `timed out after ${timeoutMs} ms`
        : `exit ${m.exit}, no result: ${m.stderr.slice(-800)}`,
      rowsCounted: 0,
      rows: 0,
      bytes: 0,
      seconds: m.wallSeconds,
      cpuSeconds: m.cpuUser + m.cpuSystem,
      maxRss: m.maxRss,
      notes: [],
    });
  }
  const notes = [...res.notes];
  if (res.rows >= 0 && res.ok && res.rows !== ds.rows) {
    notes.push(`ROW COUNT MISMATCH: counted ${res.rows}, the binlog holds ${ds.rows}`);
  }
  return toRun(reader, m, {
    ok: res.ok,
    ...(res.error ? { error: res.error } : {}),
    rowsCounted: res.rows,
    rows: res.rows >= 0 ? res.rows : ds.rows,
    bytes: ds.bytes,
    seconds: res.seconds,
    // The child's own account of itself: whole-process CPU and peak RSS.
    cpuSeconds: res.cpuUser + res.cpuSystem,
    maxRss: res.maxRss,
    rssSamplesMB: res.rssSamplesMB,
    notes,
  });
}

function toRun(
  reader: ReaderName,
  m: Measured,
  r: {
    ok: boolean;
    error?: string;
    rowsCounted: number;
    rows: number;
    bytes: number;
    seconds: number;
    cpuSeconds: number;
    maxRss: number;
    rssSamplesMB?: number[];
    notes: string[];
  },
): ReaderRun {
  const s = r.seconds > 0 ? r.seconds : Number.NaN;
  return {
    reader,
    label: LABELS[reader],
    ok: r.ok,
    ...(r.error ? { error: r.error } : {}),
    rowsCounted: r.rowsCounted,
    rows: r.rows,
    bytes: r.bytes,
    seconds: r.seconds,
    wallSeconds: m.wallSeconds,
    rowsPerSec: r.ok ? r.rows / s : 0,
    mbPerSec: r.ok ? r.bytes / MB / s : 0,
    cpuSeconds: r.cpuSeconds,
    rowsPerCpuSecond: r.ok && r.cpuSeconds > 0 ? r.rows / r.cpuSeconds : 0,
    cores: r.ok ? r.cpuSeconds / m.wallSeconds : 0,
    ...(m.serverCpu !== undefined ? { serverCpuSeconds: m.serverCpu } : {}),
    ...(m.machineCpu !== undefined
      ? { otherCpuSeconds: Math.max(0, m.machineCpu - (m.serverCpu ?? 0) - m.cpuUser - m.cpuSystem) }
      : {}),
    maxRssMB: r.maxRss / MB,
    ...(r.rssSamplesMB ? { rssSamplesMB: r.rssSamplesMB } : {}),
    notes: r.notes,
  };
}

function unavailable(reader: ReaderName, why: string): ReaderRun {
  return {
    reader,
    label: LABELS[reader],
    ok: false,
    error: why,
    rowsCounted: 0,
    rows: 0,
    bytes: 0,
    seconds: 0,
    wallSeconds: 0,
    rowsPerSec: 0,
    mbPerSec: 0,
    cpuSeconds: 0,
    rowsPerCpuSecond: 0,
    cores: 0,
    maxRssMB: 0,
    notes: [why],
  };
}

function lastJson(stdout: string): ReaderResult | undefined {
  const lines = stdout.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = (lines[i] as string).trim();
    if (l.startsWith("{")) {
      try {
        return JSON.parse(l) as ReaderResult;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function fastest(runs: Array<ReaderRun | undefined>): ReaderRun | undefined {
  const ok = runs.filter((r): r is ReaderRun => r?.ok === true).sort((a, b) => a.seconds - b.seconds);
  return ok[0] ?? runs.find((r) => r !== undefined);
}

function rate(results: ReaderRun[], reader: ReaderName): number | undefined {
  const r = results.find((x) => x.reader === reader);
  return r?.ok ? r.rowsPerSec : undefined;
}

function ratiosOf(results: ReaderRun[]): Record<string, number | null> {
  const ratio = (a: ReaderName, b: ReaderName) => {
    const x = rate(results, a);
    const y = rate(results, b);
    return x !== undefined && y !== undefined && y > 0 ? x / y : null;
  };
  return {
    "sluice / zongji": ratio("sluice", "zongji"),
    "sluice / mariadb-binlog --verbose": ratio("sluice", "verbose"),
    "sluice decoder / sluice transport": ratio("sluice", "transport"),
    "sluice transport / mariadb-binlog --raw": ratio("transport", "raw"),
    "zongji / mariadb-binlog --verbose": ratio("zongji", "verbose"),
  };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function mediansOf(readers: ReaderName[], runs: ReaderRun[][]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const reader of readers) {
    const rates = runs.flatMap((round) =>
      round.filter((r) => r.reader === reader && r.ok).map((r) => r.rowsPerSec),
    );
    out[LABELS[reader]] = median(rates);
  }
  return out;
}

function medianRoundRatios(runs: ReaderRun[][]): Record<string, number | null> {
  const perRound = runs.map((round) => ratiosOf(round));
  const out: Record<string, number | null> = {};
  for (const key of Object.keys(perRound[0] ?? {})) {
    out[key] = median(perRound.map((r) => r[key]).filter((v): v is number => typeof v === "number"));
  }
  return out;
}

function targetsOf(
  ratios: Record<string, number | null>,
  results: ReaderRun[],
): Record<string, boolean | null> {
  const sluice = rate(results, "sluice");
  const z = ratios["sluice / zongji"];
  const v = ratios["sluice / mariadb-binlog --verbose"];
  return {
    "sluice >= 3x zongji": z === null || z === undefined ? null : z >= 3,
    "sluice >= mariadb-binlog --verbose": v === null || v === undefined ? null : v >= 1,
    "sluice > 650k rows/s": sluice === undefined ? null : sluice > 650_000,
  };
}

async function profileReader(
  reader: ReaderConfig["reader"],
  db: BenchServer,
  ds: Dataset,
  tmp: string,
  timeoutMs: number,
  keepAs?: string,
): Promise<ProfileSummary | undefined> {
  const profDir = join(tmp, "cpuprof");
  const cfg: ReaderConfig = { reader, sourceUrl: db.sourceUrl, start: ds.start, end: ds.end, timeoutMs };
  const m = await runMeasured(
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${profDir}`, join(here, "reader.js"), JSON.stringify(cfg)],
    { timeoutMs: timeoutMs * 2, captureStdout: true, tmpDir: tmp },
  );
  const files = (() => {
    try {
      return readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile"));
    } catch {
      return [];
    }
  })();
  const file = files[0];
  if (m.exit !== 0 || !file) {
    log(`profiling failed (exit ${m.exit}): ${m.stderr.slice(-500)}`);
    return undefined;
  }
  if (keepAs) {
    copyFileSync(join(profDir, file), keepAs);
    log(`CPU profile saved as ${keepAs} (open it in Chrome DevTools or VS Code)`);
  }
  return summarizeProfile(join(profDir, file), repoRoot);
}

function fmtRate(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return "-";
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return n.toFixed(0);
}

function formatReport(rep: Report): string {
  const ds = rep.dataset;
  const out: string[] = [];
  out.push("");
  out.push(`bench/decode on MariaDB ${ds.serverVersion}, ${rep.machine.cpus} CPUs, node ${rep.machine.node}`);
  out.push(`binlog: ${describeDataset(ds)}`);
  if (ds.verifiedRows !== undefined) {
    out.push(
      `row changes verified in the binlog with mariadb-binlog --verbose: ${ds.verifiedRows.toLocaleString("en-US")}`,
    );
  }
  out.push("");
  const head = [
    "reader".padEnd(30),
    "rows".padStart(10),
    "MB".padStart(7),
    "s".padStart(6),
    "rows/s".padStart(8),
    "MB/s".padStart(6),
    "CPU s".padStart(6),
    "cores".padStart(5),
    "srv CPU".padStart(7),
    "other".padStart(6),
    "peak RSS".padStart(9),
  ].join(" ");
  out.push(head);
  out.push("-".repeat(head.length));
  for (const r of rep.results) {
    if (!r.ok) {
      out.push(
        `${r.label.padEnd(30)} ${r.error?.includes("not available") ? "pending: " : "FAILED: "}${(r.error ?? "").split("\n")[0]}`,
      );
      continue;
    }
    out.push(
      [
        r.label.padEnd(30),
        (r.rowsCounted >= 0
          ? r.rows.toLocaleString("en-US")
          : `(${r.rows.toLocaleString("en-US")})`
        ).padStart(10),
        (r.bytes / MB).toFixed(1).padStart(7),
        r.seconds.toFixed(2).padStart(6),
        fmtRate(r.rowsPerSec).padStart(8),
        r.mbPerSec.toFixed(0).padStart(6),
        r.cpuSeconds.toFixed(2).padStart(6),
        r.cores.toFixed(2).padStart(5),
        (r.serverCpuSeconds !== undefined ? r.serverCpuSeconds.toFixed(2) : "-").padStart(7),
        (r.otherCpuSeconds !== undefined ? r.otherCpuSeconds.toFixed(2) : "-").padStart(6),
        `${r.maxRssMB.toFixed(0)} MB`.padStart(9),
      ].join(" "),
    );
  }
  out.push("");
  out.push(
    "rows in (parentheses): the binlog's count (the reader does not count rows). s: reading time " +
      "(node readers: connect to end position, process start-up excluded). cores: reader CPU / wall. " +
      "srv CPU: mariadbd CPU seconds meanwhile. other: CPU seconds everything else on the machine used " +
      "meanwhile (well above 0: the figures are skewed by other work).",
  );
  for (const r of rep.results) {
    if (r.ok && r.rssSamplesMB && r.rssSamplesMB.length > 0) {
      out.push(`RSS each second, ${r.label}: ${r.rssSamplesMB.map((x) => x.toFixed(0)).join(" ")} MB`);
    }
    for (const n of r.notes) if (n.includes("MISMATCH")) out.push(`${r.label}: ${n}`);
  }
  if (rep.runs.length > 1) {
    out.push(
      `each reader ran ${rep.runs.length} times; the table shows its fastest run (all runs are in the JSON)`,
    );
  }
  out.push("");
  out.push("ratios (rows/s, fastest runs):");
  for (const [k, v] of Object.entries(rep.ratios))
    out.push(`  ${k.padEnd(42)} ${v === null ? "n/a" : `${v.toFixed(2)}x`}`);
  if (rep.runs.length > 1) {
    out.push(`median of ${rep.runs.length} runs (rows/s):`);
    for (const [k, v] of Object.entries(rep.medians))
      out.push(`  ${k.padEnd(42)} ${v === null ? "n/a" : fmtRate(v)}`);
    out.push("ratios within each round, median over the rounds:");
    for (const [k, v] of Object.entries(rep.medianRoundRatios))
      out.push(`  ${k.padEnd(42)} ${v === null ? "n/a" : `${v.toFixed(2)}x`}`);
  }
  out.push("targets (fastest runs):");
  for (const [k, v] of Object.entries(rep.targets)) {
    const why =
      rate(rep.results, "sluice") === undefined ? "pending (no sluice decoder)" : "n/a (not measured)";
    out.push(`  ${k.padEnd(42)} ${v === null ? why : v ? "met" : "NOT met"}`);
  }
  if (rep.profile) {
    out.push("");
    out.push(
      formatProfile(
        `CPU profile of ${LABELS[rep.profile.reader as ReaderName]} (top self time)`,
        rep.profile.summary,
      ),
    );
  }
  out.push("");
  out.push(
    `time: generation ${rep.seconds.generation === null ? "skipped (saved dataset)" : `${rep.seconds.generation.toFixed(1)} s`}, ` +
      `whole run ${rep.seconds.total.toFixed(1)} s`,
  );
  return out.join("\n");
}

process.exitCode = await main();
