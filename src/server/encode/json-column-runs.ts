// The run cache of entry-json.ts: a run is consecutive fixed fields of a Column (COLUMN_FIXED),
// in increasing number order, as bytes, with the JSON members they write. Rows of a table
// repeat them: a run whose bytes equal a cached run's writes that run's JSON (the same bytes
// parse to the same fields, so the JSON is the same; the member before it decides only the
// comma, and the run's first field is checked for order as any field is: its fields increase,
// so the rest pass). Cached per place: the column's position in its list and the run's in the
// column, two ways (entries of two tables alternate). Bounded: MAX_ORDINAL × RUNS × WAYS runs
// of one column.
export interface Run {
  bytes: Uint8Array;
  /** The bytes as little-endian words (the last 0-3 bytes left out), to compare fast. */
  words: Int32Array;
  /** Members written, without the comma before the first (empty: every field a default). */
  json: Uint8Array;
  /** Number of the last member written (0: none). */
  last: number;
}
export const RUNS = 4;
export const WAYS = 2;
export const MAX_ORDINAL = 4096;
const runCache: (Run | undefined)[] = [];

/** The cached run at `slot` (either way) that b[i, end) starts with (`view`: b's). */
export function cachedRun(
  slot: number,
  view: DataView,
  b: Uint8Array,
  i: number,
  end: number,
): Run | undefined {
  for (let way = 0; way < WAYS; way++) {
    const run = runCache[slot + way];
    if (run === undefined) return undefined;
    const { bytes, words } = run;
    const n = bytes.length;
    if (i + n > end) continue;
    // Four bytes at a time: a byte loop made a third of the writer's time.
    let k = 0;
    while (k < words.length && view.getInt32(i + 4 * k, true) === words[k]) k++;
    if (k < words.length) continue;
    k *= 4;
    while (k < n && bytes[k] === b[i + k]) k++;
    if (k < n) continue;
    if (way > 0) {
      runCache[slot + way] = runCache[slot];
      runCache[slot] = run;
    }
    return run;
  }
  return undefined;
}

function cacheRun(slot: number, bytes: Uint8Array, json: Uint8Array, last: number): void {
  for (let way = WAYS - 1; way > 0; way--) runCache[slot + way] = runCache[slot + way - 1];
  const words = new Int32Array(bytes.length >> 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let k = 0; k < words.length; k++) words[k] = view.getInt32(4 * k, true);
  runCache[slot] = { bytes, words, json, last };
}

const copyOf = (b: Uint8Array, start: number, end: number): Uint8Array =>
  Uint8Array.prototype.slice.call(b, start, end);

/**
 * Caches the run just written: its bytes b[start, end), the members it wrote to o[json, p)
 * (after the comma the first took when `before`, the last member before the run, is one), and
 * `last` after it.
 */
export function endRun(
  slot: number,
  b: Uint8Array,
  start: number,
  end: number,
  o: Uint8Array,
  json: number,
  p: number,
  before: number,
  last: number,
): void {
  const wrote = last !== before;
  const from = wrote && before !== 0 ? json + 1 : json;
  cacheRun(slot, copyOf(b, start, end), copyOf(o, from, p), wrote ? last : 0);
}
