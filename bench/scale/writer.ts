// The steady write load of bench/scale: `rate` rows/s in all, as `txRows`-row INSERTs (each its
// own autocommit transaction) to the destinations' databases in turn, spread evenly over time:
// statement i goes to destination i mod D and is due at i / (rate / txRows) s, so every
// destination gets rate / D rows/s with consecutive ids and no moment gets all D transactions
// at once (statements that are due together go in one round trip). Each row carries the time
// its statement ran on the source (NOW(6) in µs, column t_us), which the consumers subtract
// from their receive time.
import { performance } from "node:perf_hooks";
import type { MariaDB } from "../../test/harness/mariadb.js";
import { databaseOf } from "./cluster.js";

const PAD = "98765432109-".repeat(5).slice(0, 59);

/** One INSERT of rows with ids firstId .. firstId + txRows - 1 into a destination's table. */
export function insertSql(destination: string, firstId: number, txRows: number): string {
  const values = Array.from(
    { length: txRows },
    (_, i) => `(${firstId + i},CAST(UNIX_TIMESTAMP(NOW(6))*1000000 AS SIGNED),'${PAD}')`,
  ).join(",");
  return `INSERT INTO ${databaseOf(destination)}.t (id,t_us,pad) VALUES ${values}`;
}

/** One statement per destination (the first rows, written at once). */
export function roundSql(destinations: string[], firstId: number, txRows: number): string {
  return destinations.map((d) => insertSql(d, firstId, txRows)).join(";");
}

export interface WriteResult {
  /** Rows written to each destination (ids firstId .. firstId + rowsEach - 1). */
  rowsEach: number;
  seconds: number;
  /** Rows per second achieved, in all. */
  achievedRate: number;
  /** Round trips to MariaDB (statements due together share one), and how long they took, ms. */
  queries: number;
  queryMeanMs: number;
  queryMaxMs: number;
}

/** Writes `rowsEach` rows per destination, paced to `rate` rows/s in all (a late statement goes at once). */
export async function writeLoad(
  db: MariaDB,
  o: { destinations: string[]; firstId: number; rowsEach: number; txRows: number; rate: number },
): Promise<WriteResult> {
  const d = o.destinations.length;
  const total = Math.ceil(o.rowsEach / o.txRows) * d;
  const perSecond = o.rate / o.txRows;
  const t0 = performance.now();
  let sent = 0;
  let queries = 0;
  let queryTotal = 0;
  let queryMaxMs = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * perSecond) + 1);
    if (due <= sent) {
      await new Promise((r) =>
        setTimeout(r, Math.max(1, (sent / perSecond) * 1000 - (performance.now() - t0))),
      );
      continue;
    }
    const statements: string[] = [];
    for (; sent < due; sent++) {
      const n = Math.floor(sent / d) * o.txRows;
      statements.push(
        insertSql(o.destinations[sent % d] as string, o.firstId + n, Math.min(o.txRows, o.rowsEach - n)),
      );
    }
    const q0 = performance.now();
    await db.query(statements.join(";"));
    const took = performance.now() - q0;
    queries++;
    queryTotal += took;
    queryMaxMs = Math.max(queryMaxMs, took);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    rowsEach: o.rowsEach,
    seconds,
    achievedRate: (o.rowsEach * d) / seconds,
    queries,
    queryMeanMs: queryTotal / queries,
    queryMaxMs,
  };
}
