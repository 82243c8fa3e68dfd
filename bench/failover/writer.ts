// The steady load: transactions of `txRows` rows with ids 1, 2, 3, ... committed on a fixed
// schedule (rows per second), by one connection at a time, so that the committed rows are in id
// order. A failed transaction (MariaDB restarting) is tried again with the same ids until it
// commits; a duplicate key then means the failed try had committed after all.
import { sleep } from "../../test/harness/entries.js";
import type { MariaDB } from "../../test/harness/mariadb.js";

export class Writer {
  /** The highest id committed. */
  committed = 0;
  /** When each transaction committed (ms since the epoch). */
  readonly commits: number[] = [];
  /** Failed tries (time, message): while the source is down. */
  readonly failures: { t: number; message: string }[] = [];
  /** Why it stopped writing, if it failed (a bug: ids taken twice). */
  error?: string;
  #running = true;
  #done: Promise<void>;

  constructor(
    private readonly db: MariaDB,
    private readonly rowsPerSecond: number,
    private readonly txRows: number,
  ) {
    this.#done = this.#run().catch((err: Error) => {
      this.error = err.message;
    });
  }

  /** Stops after the transaction under way (one still failing is given up). */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }

  async #run(): Promise<void> {
    const everyMs = (1000 * this.txRows) / this.rowsPerSecond;
    let next = Date.now();
    while (this.#running) {
      if (!(await this.#commit(this.committed + 1))) return;
      this.committed += this.txRows;
      this.commits.push(Date.now());
      // A fixed schedule; after a stall it goes on from now instead of catching up in a burst.
      next = Math.max(next + everyMs, Date.now() - everyMs);
      await sleep(Math.max(0, next - Date.now()));
    }
  }

  /** True once rows first.. are committed; false when stopped before they were. */
  async #commit(first: number): Promise<boolean> {
    const values = Array.from(
      { length: this.txRows },
      (_, i) => `(${first + i}, REPEAT('p', ${1 + ((first + i) % 40)}))`,
    );
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db.query(`INSERT INTO fo.t VALUES ${values.join(",")}`);
        return true;
      } catch (err) {
        const e = err as Error & { code?: string };
        if (e.code === "ER_DUP_ENTRY") {
          if (attempt > 0) return true;
          throw new Error(`rows ${first}..: ${e.message}`);
        }
        this.failures.push({ t: Date.now(), message: e.message });
        if (!this.#running) return false;
        await sleep(50);
      }
    }
  }
}
