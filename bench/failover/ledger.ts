// What one consumer (across its restarts) acked, from its events, and whether that is exactly
// the committed rows: nothing lost, nothing acked came back. The rows are ids 1, 2, 3, ...
// committed in order by one writer, so every batch must start right after the last acked row
// (or, after an ack whose fate is unknown, at the start of that batch again).
//
// An ack whose fate is unknown (it failed on a broken connection, was never sent because the
// subscription ended, or the consumer was killed before it returned) is settled by the next
// batch with rows: the same rows again mean it did not take effect; anything else means it
// did (the server resumes after the durable cursor). When nothing comes any more, it did.
import { type ConsumerEvent, fromRuns } from "./events.js";

/** Violations kept (the first ones say what went wrong; the rest would repeat it). */
const MAX_VIOLATIONS = 10;

export class Ledger {
  /** Row ids whose ack took effect, in order. */
  readonly acked: number[] = [];
  /** When each batch with rows arrived (consumer's clock), in order. */
  readonly deliveries: number[] = [];
  /** What the consumer noticed: its error events. */
  readonly errors: Extract<ConsumerEvent, { ev: "error" }>[] = [];
  readonly violations: string[] = [];
  /** Rows delivered more than once (unacked batches given again after a fault). */
  redelivered = 0;
  subscriptions = 0;
  #open?: { id: string; rows: number[] };
  #pending?: number[];
  #highestDelivered = 0;

  /** Feeds one event of the consumer's process. */
  add(e: ConsumerEvent): void {
    switch (e.ev) {
      case "batch":
        this.#batch(e.t, e.id, fromRuns(e.rows));
        break;
      case "acked":
        if (this.#open?.id === e.id) this.acked.push(...this.#open.rows);
        else this.#violate(`ack of batch ${e.id}, which is not the batch the consumer holds`);
        this.#open = undefined;
        break;
      case "unacked":
        this.#unknown();
        break;
      case "sub":
        this.subscriptions++;
        break;
      case "error":
        this.errors.push(e);
        break;
      case "start":
        break;
    }
  }

  /** The consumer's process was killed: the batch it held has an unknown ack. */
  killed(): void {
    this.#unknown();
  }

  /** Nothing more will come: an ack still unknown took effect (its rows were not given again). */
  settle(): void {
    if (this.#pending) this.acked.push(...this.#pending);
    this.#pending = undefined;
  }

  /** Rows acked so far, counting an unknown ack as taken (what settle() would make it). */
  get ackedCount(): number {
    return this.acked.length + (this.#pending?.length ?? 0);
  }

  /** Whether the acked rows are exactly 1..committed, with no violation seen on the way. */
  exactly(committed: readonly number[]): string | undefined {
    if (this.violations.length) return this.violations.join("; ");
    if (this.acked.length !== committed.length)
      return `acked ${this.acked.length} rows, ${committed.length} were committed`;
    for (let i = 0; i < committed.length; i++) {
      if (this.acked[i] !== committed[i])
        return `acked row #${i + 1} is id ${this.acked[i]}, the committed row there is id ${committed[i]}`;
    }
    return undefined;
  }

  #unknown(): void {
    if (this.#open?.rows.length) this.#pending = this.#open.rows;
    this.#open = undefined;
  }

  #batch(t: number, id: string, rows: number[]): void {
    if (this.#open) this.#unknown(); // delivered again before its ack said anything
    this.#open = { id, rows };
    const first = rows[0];
    if (first === undefined) return;
    this.deliveries.push(t);
    if (this.#pending) {
      if (first !== this.#pending[0]) this.acked.push(...this.#pending);
      this.#pending = undefined;
    }
    const expected = (this.acked[this.acked.length - 1] ?? 0) + 1;
    if (first < expected)
      this.#violate(
        `batch ${id} delivered rows ${first}..${rows[rows.length - 1]} again after they were acked`,
      );
    else if (first > expected)
      this.#violate(
        `batch ${id} starts at row ${first}: rows ${expected}..${first - 1} were never delivered`,
      );
    for (let i = 1; i < rows.length; i++) {
      if (rows[i] !== (rows[i - 1] as number) + 1) {
        this.#violate(`batch ${id} skips from row ${rows[i - 1]} to ${rows[i]}`);
        break;
      }
    }
    if (first <= this.#highestDelivered)
      this.redelivered += Math.min(this.#highestDelivered, rows[rows.length - 1] as number) - first + 1;
    this.#highestDelivered = Math.max(this.#highestDelivered, rows[rows.length - 1] as number);
  }

  #violate(what: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(what);
  }
}
