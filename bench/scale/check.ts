// What bench/scale checks of every stream: it acked exactly its destination's rows, ids 1 ..
// rowsEach inserted in order (nothing skipped, repeated or reordered), and read the same values
// as every other stream of that destination.
import type { StreamResult } from "./consumer.js";

/** What is wrong with the streams (empty: every one is exact). */
export function checkStreams(
  streams: StreamResult[],
  expected: Array<[string, string]>,
  rowsEach: number,
): string[] {
  const errors: string[] = [];
  const got = new Map(streams.map((s) => [`${s.destination}/${s.clientId}`, s]));
  const chars = new Map<string, number>();
  const want = JSON.stringify([["t", "I", 1, rowsEach]]);
  for (const [d, c] of expected) {
    const s = got.get(`${d}/${c}`);
    if (!s) {
      errors.push(`${d}/${c}: no result`);
      continue;
    }
    if (s.rows !== rowsEach || JSON.stringify(s.runs) !== want)
      errors.push(
        `${d}/${c}: expected ids 1..${rowsEach} inserted in order, got ${s.rows} rows: ${JSON.stringify(s.runs).slice(0, 200)}`,
      );
    const seen = chars.get(d);
    if (seen === undefined) chars.set(d, s.valueChars);
    else if (seen !== s.valueChars)
      errors.push(`${d}/${c}: read ${s.valueChars} value chars, another stream ${seen}`);
  }
  return errors;
}
