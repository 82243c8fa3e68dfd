// Shared pieces of bench/decode: the dataset manifest, reader results, binlog positions and the
// little event-header parsing every reader needs to know where it is and when to stop.
import { existsSync, readFileSync } from "node:fs";

/** A binlog position: file name and byte offset in it. */
export interface BinlogPos {
  file: string;
  position: number;
}

/** What generate.ts wrote, and where the binlog it wrote starts and ends. */
export interface Dataset {
  /** Row changes written: inserted + updated + deleted rows (an UPDATE row counts once). */
  rows: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** Row changes per table. */
  perTable: Record<string, number>;
  transactions: number;
  /** generate.ts's wideEvery (missing in datasets made before it was recorded: the default, 10). */
  wideEvery?: number;
  /** First event of the workload's binlog range (always file 1, offset 4: the whole binlog). */
  start: BinlogPos;
  /** The head right after generation: every reader stops here. */
  end: BinlogPos;
  /** The binlog files from start to end, with the bytes of each that lie in the range. */
  files: Array<{ file: string; bytes: number }>;
  /** Bytes in [start, end) over all files. */
  bytes: number;
  /** Row changes counted in the binlog itself by `mariadb-binlog --verbose` (undefined: not verified). */
  verifiedRows?: number;
  generationSeconds: number;
  serverVersion: string;
  maxBinlogSize: number;
  createdAt: string;
}

/** What a reader child prints as its last stdout line (JSON). */
export interface ReaderResult {
  reader: string;
  ok: boolean;
  error?: string;
  /** Row changes seen (-1: this reader does not count rows). */
  rows: number;
  /** Event bytes received (transport and sluice) or 0. */
  eventBytes: number;
  events: number;
  /** Seconds from the start of connecting to the end position (excludes process start-up). */
  seconds: number;
  /** CPU time of the whole process, seconds. */
  cpuUser: number;
  cpuSystem: number;
  /** Peak RSS of the process, bytes. */
  maxRss: number;
  /** RSS sampled every second, MB: shows whether memory stays flat. */
  rssSamplesMB: number[];
  /** A digest of the decoded values (sum of text lengths), so no work can be skipped. */
  digest: number;
  /** Free-form notes (e.g. "sluice decoder: not available"). */
  notes: string[];
}

export const MB = 1e6;

/** mysql-bin.000012 -> 12 (the sequence number the server appends). */
export function fileSeq(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  if (!m?.[1]) throw new Error(`not a binlog file name: ${file}`);
  return Number.parseInt(m[1], 10);
}

/** <0, 0, >0 like a comparator. */
export function comparePos(a: BinlogPos, b: BinlogPos): number {
  const f = fileSeq(a.file) - fileSeq(b.file);
  return f !== 0 ? f : a.position - b.position;
}

// Binlog event header (v4): timestamp(4) type(1) server_id(4) event_size(4) log_pos(4) flags(2).
const HEADER_LENGTH = 19;
const TYPE_ROTATE = 4;
const TYPE_FORMAT_DESCRIPTION = 15;
const FLAG_ARTIFICIAL = 0x0020;

/**
 * Follows the stream's position from event headers alone: which file we are in (ROTATE events,
 * real or artificial) and the end position of the last event. `reached` turns true once the
 * event that ends at (or past) `end` has been seen. Works on raw event bytes, so the same code
 * bounds the transport reader and the decoder reader.
 */
export class PositionTracker {
  file = "";
  position = 0;
  reached = false;
  readonly #endSeq: number;
  readonly #endPos: number;
  /** fileSeq(file), kept so that events between ROTATEs cost no regex. */
  #seq = 0;
  /** Trailing checksum bytes on every event (4 with CRC32). Learned from the format event. */
  #checksumLength: number;

  constructor(end: BinlogPos, checksum: "CRC32" | "NONE") {
    this.#endSeq = fileSeq(end.file);
    this.#endPos = end.position;
    this.#checksumLength = checksum === "CRC32" ? 4 : 0;
  }

  /** Feed every event, in order. Returns `reached`. */
  see(ev: Buffer): boolean {
    if (ev.length < HEADER_LENGTH) return this.reached;
    const type = ev[4];
    const logPos = ev.readUInt32LE(13);
    const flags = ev.readUInt16LE(17);
    if (type === TYPE_ROTATE) {
      this.file = rotateTarget(ev, this.#checksumLength);
      this.#seq = fileSeq(this.file);
      this.position = Number(ev.readBigUInt64LE(HEADER_LENGTH));
      if (this.#seq > this.#endSeq) this.reached = true;
      return this.reached;
    }
    if (type === TYPE_FORMAT_DESCRIPTION) {
      // The checksum algorithm byte sits before the (optional) checksum at the very end.
      const alg = ev[ev.length - 5];
      if (alg === 1) this.#checksumLength = 4;
      else if (alg === 0) this.#checksumLength = 0;
    }
    if (logPos === 0 || (flags & FLAG_ARTIFICIAL) !== 0) return this.reached;
    this.position = logPos;
    if (this.file !== "") {
      const seq = this.#seq;
      if (seq > this.#endSeq || (seq === this.#endSeq && logPos >= this.#endPos)) this.reached = true;
    }
    return this.reached;
  }
}

/** The file name a ROTATE event points to. Tolerates either checksum setting. */
function rotateTarget(ev: Buffer, checksumLength: number): string {
  const plain = /^[\w.-]+\.\d+$/;
  for (const cut of [checksumLength, 4 - checksumLength]) {
    const name = ev.toString("latin1", HEADER_LENGTH + 8, ev.length - cut);
    if (plain.test(name)) return name;
  }
  throw new Error(`cannot read the file name of a ROTATE event (${ev.length} bytes)`);
}

/** Tiny argv parser: --flag, --key value, --key=value. */
export function parseArgs(argv: string[], known: readonly string[]): Map<string, string> {
  if (argv.includes("--help") || argv.includes("-h")) printUsage();
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("--")) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
    } else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        out.set(a.slice(2), next);
        i++;
      } else {
        out.set(a.slice(2), "");
      }
    }
  }
  for (const key of out.keys()) {
    if (!known.includes(key)) throw new Error(`unknown option --${key} (--help lists the options)`);
  }
  return out;
}

/**
 * Prints the running script's usage, the comment it opens with (every bench's run.ts says
 * there how to call it and what it measures), and exits.
 */
function printUsage(): never {
  const script = process.argv[1] ?? "";
  const lines = existsSync(script) ? readFileSync(script, "utf8").split("\n") : [];
  const head: string[] = [];
  for (const line of lines) {
    if (!line.startsWith("//")) break;
    head.push(line.replace(/^\/\/ ?/, ""));
  }
  process.stdout.write(`${head.length > 0 ? head.join("\n") : "see docs/benchmarks.md"}\n`);
  process.exit(0);
}

/** "1M" / "250k" / "1000000" / "1_000_000" -> number. */
export function parseCount(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.replace(/[_,]/g, ""));
  if (!m?.[1]) throw new Error(`not a count: ${text}`);
  const unit = m[2]?.toLowerCase() === "m" ? 1e6 : m[2]?.toLowerCase() === "k" ? 1e3 : 1;
  return Math.round(Number.parseFloat(m[1]) * unit);
}

export function log(msg: string): void {
  process.stderr.write(`[bench/decode] ${msg}\n`);
}
