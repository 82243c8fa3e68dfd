// Small helpers for tests and benches that check what a consumer received: row ids in order,
// a cursor as one comparable string, a seeded random source, a sleep.
import type { Entry } from "../../src/gen/sluice/v1/entry_pb.js";
import type { Position } from "../../src/gen/sluice/v1/position_pb.js";

/** The `id` column of every row change's after image, DDL left out; only `table`'s if given. */
export function rowIds(entries: Entry[], table?: string): number[] {
  const out: number[] = [];
  for (const e of entries) {
    if (e.payload.case !== "rowChange" || e.payload.value.isDdl) continue;
    if (table !== undefined && e.header?.tableName !== table) continue;
    for (const r of e.payload.value.rowDatas) {
      const id = r.afterColumns.find((c) => c.name === "id");
      if (id) out.push(Number(id.value));
    }
  }
  return out;
}

/** A cursor as one string, to compare cursors ("" for none). */
export const cursorKey = (p: Position | undefined): string =>
  p ? `${p.journalName}:${p.position}:${p.gtid}` : "";

/** A seeded pseudo-random source in [0, 1) (mulberry32), so that a failing seed can be rerun. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
