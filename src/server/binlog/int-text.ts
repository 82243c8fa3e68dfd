// Decimal text of integers, made without V8's number-to-string cache.
//
// Every `${n}`, String(n) or n.toString(10) of a JavaScript number goes through V8's
// NumberToString, which keeps its last results in a heap-wide table of up to 16,384 entries
// that lives in the old generation. A string in that table is alive, so every young-generation
// GC (scavenge) copies the integer strings made since the one before: 393,216 bytes each time
// while a binlog is decoded (16,384 strings of 24 bytes; --trace-gc-nvp's new_space_survived),
// which made each scavenge take 3.3 ms instead of 0.3 ms, about a tenth of the decoder's time.
// Two tables and plain concatenation give the same text without the cache: below 10,000 a
// shared string (nothing allocated at all), above it one flat string per value.

/** "0" .. "9999" */
const SMALL: string[] = [];
/** "0000" .. "9999" */
const PAD4: string[] = [];
for (let i = 0; i < 10000; i++) {
  const s = `${i}`;
  SMALL.push(s);
  PAD4.push("000".slice(0, 4 - s.length) + s);
}

/** Decimal text of a non-negative integer (at most 2^53). */
export function uintText(n: number): string {
  if (n < 10000) return SMALL[n] as string;
  if (n < 100000000) {
    const q = Math.floor(n / 10000);
    return (SMALL[q] as string) + (PAD4[n - q * 10000] as string);
  }
  if (n < 1000000000000) {
    const q = Math.floor(n / 100000000);
    const r = n - q * 100000000;
    const m = Math.floor(r / 10000);
    // Two concatenations of at most 12 characters: V8 copies them into one flat string (from
    // 13 characters on it would build a rope instead).
    return (SMALL[q] as string) + (PAD4[m] as string) + (PAD4[r - m * 10000] as string);
  }
  return `${n}`; // 13 digits or more: rare enough for the cache not to matter
}

/** Decimal text of an integer (|n| at most 2^53). */
export function intText(n: number): string {
  return n < 0 ? `-${uintText(-n)}` : uintText(n);
}

/** Decimal text of a non-negative integer, left-padded with zeros to `width` (at most 12) digits. */
export function zeroPadded(n: number, width: number): string {
  const s = uintText(n);
  return s.length >= width ? s : "000000000000".slice(0, width - s.length) + s;
}
