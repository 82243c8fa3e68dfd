// What every consumer of bench/delivery reports, and how the bench checks it: the row changes
// a consumer counted, as runs of consecutive ids per table and kind, must equal the runs the
// workload plan says the binlog holds, so a consumer that skips, repeats or reorders rows fails
// however fast it is. The Go and Python consumers (consumer.go, consumer.py) print the same
// JSON and merge runs by the same rule.

/** [table, kind ("I", "U", "D"), first id, row count]: ids first .. first + count - 1 in order. */
export type IdRun = [string, string, number, number];

/** The last line a consumer prints on stdout (JSON). */
export interface ConsumerResult {
  ok: boolean;
  error?: string;
  /** Row changes of the counted tables. */
  rows: number;
  batches: number;
  runs: IdRun[];
  /** Sum of the lengths (UTF-16 units) of every value of the counted rows: proof all were read. */
  digest: number;
  /** From the first batch received to the last ack answered. */
  seconds: number;
  /** When the last ack was answered, ms since the epoch (TypeScript consumer). */
  lastAckEpochMs?: number;
  /** The consumer's own CPU (user + system) from before it subscribed to after its last ack. */
  cpuSeconds: number;
  /** TypeScript consumer: subscriptions its stream made (more than 1: it resubscribed). */
  subscriptions?: number;
  /** Why it subscribed again (the first few). */
  retries?: string[];
  /** Latency mode: per row, receive time minus the commit time in the row, µs. */
  latenciesUs?: number[];
}

/** Merges ids into runs: an id extends the last run when table and kind match and it follows. */
export class RunRecorder {
  readonly runs: IdRun[] = [];
  #last: IdRun | undefined;

  /** Where the recorder stands, for reset(). */
  mark(): { runs: number; lastCount: number } {
    return { runs: this.runs.length, lastCount: this.#last?.[3] ?? 0 };
  }

  /** Forgets every id added since mark() (rows of a batch that will be delivered again). */
  reset(m: { runs: number; lastCount: number }): void {
    this.runs.length = m.runs;
    this.#last = this.runs[m.runs - 1];
    if (this.#last) this.#last[3] = m.lastCount;
  }

  add(table: string, kind: string, id: number): void {
    const last = this.#last;
    if (last && last[0] === table && last[1] === kind && id === last[2] + last[3]) {
      last[3]++;
      return;
    }
    this.#last = [table, kind, id, 1];
    this.runs.push(this.#last);
  }
}

/** The runs of statements that each change `rowsEach` consecutive ids starting at `from`. */
export function expectedRuns(
  statements: Iterable<{ table: string; kind: string; from: number }>,
  rowsEach: number,
): IdRun[] {
  const r = new RunRecorder();
  for (const s of statements) for (let i = 0; i < rowsEach; i++) r.add(s.table, s.kind, s.from + i);
  return r.runs;
}

/** Undefined when equal, else where the two first differ, in words. */
export function compareRuns(expected: IdRun[], got: IdRun[]): string | undefined {
  const show = (r: IdRun | undefined) => (r ? `${r[1]} ${r[0]} ids ${r[2]}..${r[2] + r[3] - 1}` : "nothing");
  const n = Math.max(expected.length, got.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i];
    const g = got[i];
    if (e && g && e[0] === g[0] && e[1] === g[1] && e[2] === g[2] && e[3] === g[3]) continue;
    const rowsBefore = expected.slice(0, i).reduce((s, r) => s + r[3], 0);
    return `after ${rowsBefore} rows in order, expected ${show(e)}, got ${show(g)}`;
  }
  return undefined;
}
