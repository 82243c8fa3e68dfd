// The decoder alone, without server or transport: decodes a saved dataset's binlog files
// (run.js --datadir DIR / --keep) from memory, several passes in one process, exactly as the
// bench's sluice reader does (BinlogDecoder.decode() on every event, CRC32 verified, every value
// of every row image as text, summed into the digest). For comparing decoder changes on a busy
// machine: one process, no server, CPU seconds beside the wall time.
//   node dist/bench/decode/offline.js --datadir /tmp/sluice-bench/ds1m [--repeat 7]
//     [--table wide16]   only that table's rows events (with the format description and its
//                        table maps): what one table's rows cost
//     [--hash]           one more pass that prints the SHA-256 of every value of every row
//                        image: the same before and after a decoder change, and with
//                        `node --disallow-code-generation-from-strings` (the generic path)
// Pass 1 includes the JIT's warm-up (as a live run does); the summary is over passes 2..N.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Dataset, log, parseArgs } from "./common.js";
import { importSluiceDecoder, makeRowsDecoder } from "./sluice-decoder.js";

interface Pass {
  seconds: number;
  cpuSeconds: number;
  rows: number;
  digest: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const FORMAT_DESCRIPTION = 15;
const TABLE_MAP = 19;
const ROWS_EVENTS = new Set([23, 24, 25, 30, 31, 32, 39]); // v1, v2, MySQL partial updates

/** Whether a TABLE_MAP event maps table `name` (its body: table id, flags, schema, table). */
function mapsTable(event: Buffer, name: string): boolean {
  const body = 19 + 8; // header, 6-byte table id, 2-byte flags
  const schemaLen = event[body] as number;
  const at = body + 1 + schemaLen + 1;
  return event[at] === name.length && event.toString("utf8", at + 1, at + 1 + name.length) === name;
}

/**
 * Every event of the dataset's range, as views into the files' bytes (file name, offset); with
 * `table`, only the format descriptions, that table's table maps and its rows events.
 */
function loadEvents(
  dir: string,
  ds: Dataset,
  table?: string,
): { bytes: Buffer; file: string; offset: number }[] {
  const events: { bytes: Buffer; file: string; offset: number }[] = [];
  let inTable = false;
  for (const [k, f] of ds.files.entries()) {
    const whole = readFileSync(join(dir, "data", f.file));
    const end = k === ds.files.length - 1 ? ds.end.position : whole.length;
    let pos = 4;
    while (pos + 19 <= end) {
      const size = whole.readUInt32LE(pos + 9);
      if (size < 19 || pos + size > end) break;
      const bytes = whole.subarray(pos, pos + size);
      const type = bytes[4] as number;
      if (type === TABLE_MAP && table !== undefined) inTable = mapsTable(bytes, table);
      if (
        table === undefined ||
        type === FORMAT_DESCRIPTION ||
        ((type === TABLE_MAP || ROWS_EVENTS.has(type)) && inTable)
      ) {
        events.push({ bytes, file: f.file, offset: pos });
      }
      pos += size;
    }
  }
  return events;
}

/**
 * SHA-256 over every row image's values (JSON of each image, before then after for updates):
 * a fingerprint of the decoded text, to compare between decoder versions or code paths.
 */
function hashValues(
  mod: Record<string, unknown>,
  info: Record<string, string>,
  events: { bytes: Buffer; file: string; offset: number }[],
): string {
  const Ctor = mod.BinlogDecoder as new (
    options?: unknown,
  ) => {
    decode(event: Buffer, position?: unknown): { rows?: unknown[] };
  };
  const decoder = new Ctor({ timeZone: info.timeZone });
  const hash = createHash("sha256");
  for (const e of events) {
    const ev = decoder.decode(e.bytes, { file: e.file, offset: e.offset });
    for (const row of ev.rows ?? []) {
      if (Array.isArray(row)) hash.update(JSON.stringify(row));
      else {
        const pair = row as { before: unknown; after: unknown };
        hash.update(JSON.stringify(pair.before));
        hash.update(JSON.stringify(pair.after));
      }
    }
  }
  return hash.digest("hex");
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ["datadir", "hash", "repeat", "table"]);
  const dir = args.get("datadir");
  if (!dir) throw new Error("--datadir DIR is required (a dataset saved by run.js --datadir DIR or --keep)");
  const repeat = Math.max(2, Number(args.get("repeat") ?? 5));
  const ds = JSON.parse(readFileSync(join(dir, "dataset.json"), "utf8")) as Dataset;
  const mod = await importSluiceDecoder();
  if (typeof mod === "string") throw new Error(`sluice decoder: not available (${mod})`);
  const table = args.get("table") || undefined;
  let expectedRows = ds.rows;
  if (table !== undefined) {
    const key = Object.keys(ds.perTable).find((k) => k.endsWith(`.${table}`));
    if (key === undefined)
      throw new Error(`--table: no table "${table}" in the dataset (${Object.keys(ds.perTable).join(", ")})`);
    expectedRows = ds.perTable[key] as number;
  }
  const events = loadEvents(dir, ds, table);
  const mb = events.reduce((s, e) => s + e.bytes.length, 0) / 1e6;
  log(
    `${events.length.toLocaleString("en-US")} events, ${mb.toFixed(1)} MB, ${expectedRows.toLocaleString("en-US")} row changes${table ? ` (${table} only)` : ""}`,
  );
  const info = { flavor: "mariadb", version: ds.serverVersion, checksum: "CRC32", timeZone: "UTC" };
  const passes: Pass[] = [];
  for (let p = 0; p < repeat; p++) {
    const decoder = makeRowsDecoder(mod, info, 0);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const e of events) {
      if (!decoder.push(e.bytes, e.file, e.offset))
        throw decoder.error ?? new Error("decoder refused an event");
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const pass = {
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rows: decoder.rows,
      digest: decoder.digest,
    };
    if (pass.rows !== expectedRows)
      throw new Error(`pass ${p + 1} counted ${pass.rows} row changes, the dataset has ${expectedRows}`);
    passes.push(pass);
    log(
      `pass ${p + 1}: ${seconds.toFixed(3)} s, ${Math.round(pass.rows / seconds / 1000)}k rows/s, ${pass.cpuSeconds.toFixed(3)} CPU s, digest ${pass.digest}`,
    );
  }
  const warm = passes.slice(1);
  const rate = (s: number) => Math.round(expectedRows / s / 1000);
  const med = median(warm.map((p) => p.seconds));
  const best = Math.min(...warm.map((p) => p.seconds));
  const cpuMed = median(warm.map((p) => p.cpuSeconds));
  const sha256 = args.has("hash") ? hashValues(mod, info, events) : undefined;
  if (sha256 !== undefined) log(`SHA-256 of every value of every row image: ${sha256}`);
  process.stdout.write(
    `${JSON.stringify({
      rows: expectedRows,
      ...(table ? { table } : {}),
      ...(sha256 ? { sha256 } : {}),
      mb,
      firstPass: { seconds: passes[0]?.seconds, rowsPerSecond: rate(passes[0]?.seconds ?? 1) * 1000 },
      warmMedian: { seconds: med, rowsPerSecond: rate(med) * 1000, cpuSeconds: cpuMed },
      warmBest: { seconds: best, rowsPerSecond: rate(best) * 1000 },
      passes,
    })}\n`,
  );
  log(
    `passes 2..${repeat}: median ${rate(med)}k rows/s (${cpuMed.toFixed(3)} CPU s), best ${rate(best)}k rows/s`,
  );
}

await main();
