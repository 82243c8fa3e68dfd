// What a consumer process of the cluster bench tells the bench, one JSON object per line on
// its stdout: the contract between bench/failover/consumer-*.ts and the bench that reads them.
// Times are the consumer's Date.now() when the thing happened (one clock: all on one host).

/** Runs of consecutive row ids, [first, last] each: a batch's rows, compactly. */
export type Runs = [number, number][];

export type ConsumerEvent =
  /** The process started. */
  | { ev: "start"; t: number; pid: number }
  /** A subscription took effect; `cursor` is where it resumes ("" for none yet). */
  | { ev: "sub"; t: number; cursor: string }
  /** A batch arrived (the consumer acks it next). */
  | { ev: "batch"; t: number; id: string; rows: Runs }
  /** The ack of batch `id` returned: its rows are acked. */
  | { ev: "acked"; t: number; id: string }
  /** The ack of batch `id` failed or was not sent: its fate is unknown until the next batch. */
  | { ev: "unacked"; t: number; id: string; why: string }
  /** A call or the stream failed (what the consumer noticed, when). */
  | { ev: "error"; t: number; call: string; code: string; message: string };

export function encodeEvent(e: ConsumerEvent): string {
  return `${JSON.stringify(e)}\n`;
}

/** The event on a line, or undefined for a line that is not one (a stray log line). */
export function parseEvent(line: string): ConsumerEvent | undefined {
  if (!line.startsWith('{"ev":')) return undefined;
  try {
    return JSON.parse(line) as ConsumerEvent;
  } catch {
    return undefined;
  }
}

export function toRuns(ids: readonly number[]): Runs {
  const runs: Runs = [];
  for (const id of ids) {
    const last = runs[runs.length - 1];
    if (last && id === last[1] + 1) last[1] = id;
    else runs.push([id, id]);
  }
  return runs;
}

export function fromRuns(runs: Runs): number[] {
  const ids: number[] = [];
  for (const [first, last] of runs) for (let id = first; id <= last; id++) ids.push(id);
  return ids;
}
