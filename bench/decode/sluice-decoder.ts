// The one place where the bench meets sluice's binlog decoder (src/server/binlog). It is loaded
// dynamically so that the bench builds and runs before the decoder exists and whatever shape
// its API settles on: if the module is missing or does not look like
//   new BinlogDecoder(options?) ; decoder.decode(eventBytes, position?) -> event(s)
// with rows events carrying `rows` (row images of text values), the bench prints
// "sluice decoder: not available (...)" and carries on with the other readers.
// When the module also exports ParallelDecoder (rows decoded on worker threads, events back
// in order through onEvent, push() returning false for back-pressure), the reader
// "sluice-parallel" (and "sluice" with SLUICE_DECODER_WORKERS=N > 0) uses it with N worker(s).
//
// If the decoder's API changes, `makeRowsDecoder` and `rowChanges` below are all that needs
// adapting.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * What the bench needs from a decoder: take events in stream order, count the row changes and
 * the text of every value. A single-threaded decoder counts inside push(); a parallel one
 * counts as its events come back, and finish() waits for the last.
 */
export interface RowsDecoder {
  /** "single-threaded" or "N worker(s)". */
  readonly mode: string;
  /** Takes one raw event (the bytes after the OK marker). False: pause the source until onDrain. */
  push(event: Buffer, file: string, offset: number): boolean;
  /** Called when the source may resume after push() returned false. */
  onDrain: () => void;
  /** Called with the first decode error (also for a parallel decoder's, which come later). */
  onError: (err: Error) => void;
  /** Resolves once every event pushed has been decoded and counted; rejects on a decode error. */
  finish(): Promise<void>;
  /** Row changes counted so far. */
  readonly rows: number;
  /** Sum of the lengths of every text value produced, so that no value can go unproduced. */
  readonly digest: number;
  /** The first decode error, if any (push() then returns false and finish() rejects). */
  readonly error: Error | undefined;
}

/**
 * Decoder worker threads: SLUICE_DECODER_WORKERS (default 0 = the single-threaded
 * BinlogDecoder.decode(), the faster on a 2-vCPU machine shared with the server; > 0 =
 * ParallelDecoder with that many workers).
 */
export function decoderWorkers(): number {
  const v = process.env.SLUICE_DECODER_WORKERS;
  const n = v === undefined || v === "" ? 0 : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** The server facts a decoder may want (a subset of ReplicationClient's ServerInfo). */
export interface DecoderServerInfo {
  flavor: string;
  version: string;
  checksum: string;
  timeZone: string;
}

// Relative to this file in both layouts (bench/decode/*.ts and dist/bench/decode/*.js).
const MODULE_URL = new URL("../../src/server/binlog/index.js", import.meta.url);

/** Loads the decoder module, or returns why it cannot be used. Call before timing starts. */
export async function importSluiceDecoder(): Promise<Record<string, unknown> | string> {
  const path = fileURLToPath(MODULE_URL);
  if (!existsSync(path)) return `${path.replace(/.*\/(dist\/)/, "$1")} does not exist`;
  try {
    const mod = (await import(MODULE_URL.href)) as Record<string, unknown>;
    if (typeof mod.BinlogDecoder !== "function") return "src/server/binlog/index.ts exports no BinlogDecoder";
    return mod;
  } catch (err) {
    return `importing src/server/binlog/index.js failed: ${(err as Error).message}`;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the decoder's API is not known at compile time
type AnyDecoder = { decode: (event: Buffer, position?: unknown) => any };
interface AnyParallelDecoder {
  push(event: Buffer, position?: unknown): boolean;
  close(): Promise<void>;
  destroy(): void;
}
type ParallelCtor = new (options: Record<string, unknown>) => AnyParallelDecoder;

/** Builds the decoder for one stream. Throws when its API does not fit. */
export function makeRowsDecoder(
  mod: Record<string, unknown>,
  info: DecoderServerInfo,
  workers = decoderWorkers(),
): RowsDecoder {
  // Everything a decoder could want to know about the source; extra fields are ignored.
  const options = {
    flavor: info.flavor,
    serverVersion: info.version,
    checksum: info.checksum,
    timeZone: info.timeZone,
  };
  if (workers > 0 && typeof mod.ParallelDecoder === "function") {
    return parallelRowsDecoder(mod.ParallelDecoder as ParallelCtor, options, workers);
  }
  const Ctor = mod.BinlogDecoder as new (options?: unknown) => AnyDecoder;
  const decoder = new Ctor(options);
  if (typeof decoder.decode !== "function") throw new Error("BinlogDecoder has no decode() method");
  let digest = 0;
  let rows = 0;
  let error: Error | undefined;
  const self: RowsDecoder = {
    mode: "single-threaded",
    onDrain: () => {},
    onError: () => {},
    push(event: Buffer, file: string, offset: number): boolean {
      if (error) return false;
      let out: unknown;
      try {
        out = decoder.decode(event, { file, offset });
      } catch (err) {
        error = err as Error;
        self.onError(error);
        return false;
      }
      for (const ev of Array.isArray(out) ? out : [out]) {
        const r = rowChanges(ev);
        rows += r.rows;
        digest += r.digest;
      }
      return true;
    },
    finish: () => (error ? Promise.reject(error) : Promise.resolve()),
    get rows() {
      return rows;
    },
    get digest() {
      return digest;
    },
    get error() {
      return error;
    },
  };
  return self;
}

/** sluice's ParallelDecoder: rows decoded on `workers` threads, events back in order. */
function parallelRowsDecoder(
  Ctor: ParallelCtor,
  options: Record<string, unknown>,
  workers: number,
): RowsDecoder {
  let digest = 0;
  let rows = 0;
  let error: Error | undefined;
  const self: RowsDecoder = {
    mode: `${workers} worker${workers === 1 ? "" : "s"}`,
    onDrain: () => {},
    onError: () => {},
    push(event: Buffer, file: string, offset: number): boolean {
      return error === undefined && pd.push(event, { file, offset });
    },
    async finish() {
      await pd.close();
      if (error) throw error;
    },
    get rows() {
      return rows;
    },
    get digest() {
      return digest;
    },
    get error() {
      return error;
    },
  };
  const pd = new Ctor({
    ...options,
    workers,
    onEvent(ev: unknown) {
      const r = rowChanges(ev);
      rows += r.rows;
      digest += r.digest;
    },
    onError(err: Error) {
      if (error) return;
      error = err;
      self.onError(err);
    },
    onDrain() {
      self.onDrain();
    },
  });
  return self;
}

/**
 * Row changes in one decoded event and the total length of their text values. A rows event is
 * anything with a `rows` array; each element is one row change: a row image (array or object
 * of values) or an update's { before, after } pair.
 */
export function rowChanges(ev: unknown): { rows: number; digest: number } {
  if (ev === null || typeof ev !== "object") return { rows: 0, digest: 0 };
  const rows = (ev as { rows?: unknown }).rows;
  if (!Array.isArray(rows)) return { rows: 0, digest: 0 };
  let digest = 0;
  for (const row of rows) digest += rowDigest(row);
  return { rows: rows.length, digest };
}

/** Text length of a row change: an image, or both images of an update. */
export function rowDigest(row: unknown): number {
  if (row !== null && typeof row === "object" && !Array.isArray(row) && ("before" in row || "after" in row)) {
    const r = row as { before?: unknown; after?: unknown };
    return imageDigest(r.before) + imageDigest(r.after);
  }
  return imageDigest(row);
}

function imageDigest(image: unknown): number {
  if (image === null || image === undefined) return 0;
  if (Array.isArray(image)) {
    let s = 0;
    for (const v of image) s += valueDigest(v);
    return s;
  }
  if (typeof image === "object") {
    if (image instanceof Uint8Array) return image.length;
    let s = 0;
    const o = image as Record<string, unknown>;
    for (const k in o) s += valueDigest(o[k]);
    return s;
  }
  return valueDigest(image);
}

function valueDigest(v: unknown): number {
  if (typeof v === "string") return v.length;
  if (v === null || v === undefined) return 0;
  if (v instanceof Uint8Array) return v.length;
  // A value object such as { text, isNull } from a decoder that wraps values.
  if (typeof v === "object" && typeof (v as { text?: unknown }).text === "string") {
    return ((v as { text: string }).text as string).length;
  }
  return 1;
}
