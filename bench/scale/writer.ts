// The steady write load of bench/scale: at `rate` rows/s in all, rounds of one `txRows`-row
// INSERT per destination's database (each its own autocommit transaction, a round in one round
// trip), so every destination gets rate / destinations rows/s with consecutive ids. Each row
// carries the time its statement ran on the source (NOW(6) in µs, column t_us), which the
// consumers subtract from their receive time.
import { performance } from "node:perf_hooks";
import type { MariaDB } from "../../test/harness/mariadb.js";
import { databaseOf } from "./cluster.js";

const PAD = "98765432109-".repeat(5).slice(0, 59);

/** One round's SQL: rows with ids firstId .. firstId + txRows - 1 in every destination's table. */
export function roundSql(destinations: string[], firstId: number, txRows: number): string {
  const values = Array.from(
    { length: txRows },
    (_, i) => `(${firstId + i},CAST(UNIX_TIMESTAMP(NOW(6))*1000000 AS SIGNED),'${PAD}')`,
  ).join(",");
  return destinations.map((d) => `INSERT INTO ${databaseOf(d)}.t (id,t_us,pad) VALUES ${values}`).join(";");
}

export interface WriteResult {
  /** Rows written to each destination (ids firstId .. firstId + rowsEach - 1). */
  rowsEach: number;
  seconds: number;
  /** Rows per second achieved, in all. */
  achievedRate: number;
}

/** Writes `rounds` rounds paced to `rate` rows/s in all; a late round goes out at once. */
export async function writeLoad(
  db: MariaDB,
  o: { destinations: string[]; firstId: number; rounds: number; txRows: number; rate: number },
): Promise<WriteResult> {
  const roundsPerSecond = o.rate / (o.destinations.length * o.txRows);
  const t0 = performance.now();
  for (let r = 0; r < o.rounds; r++) {
    const due = t0 + (r / roundsPerSecond) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    await db.query(roundSql(o.destinations, o.firstId + r * o.txRows, o.txRows));
  }
  const seconds = (performance.now() - t0) / 1000;
  const rowsEach = o.rounds * o.txRows;
  return { rowsEach, seconds, achievedRate: (rowsEach * o.destinations.length) / seconds };
}
