// A streaming consumer for the gateway tests, written as a careful user would: it acks each
// batch with the session of its stream, reopens the stream (with that session) whenever it
// ends, and keeps its own record of what was acked. An ack whose outcome is unknown (the
// connection broke) is settled by what comes next: the same batch delivered again means it was
// not acked; anything else (or nothing) means it was.
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { ids, sleep } from "./cluster.js";

export interface ConsumerResult {
  acked: number[];
  reconnects: number;
  errors: string[];
}

export async function consumeExactly(
  client: () => Client<typeof CanalService>,
  opts: {
    clientId: string;
    filter: string;
    rows: number;
    timeoutMs: number;
    /** Called with the ids of each acked batch, for a test that waits for progress. */
    onAcked?: (ids: number[]) => void;
  },
): Promise<ConsumerResult> {
  const acked: number[] = [];
  const errors: string[] = [];
  let pending: number[] | undefined;
  let session = "";
  let reconnects = 0;
  const deadline = Date.now() + opts.timeoutMs;
  let lastProgress = Date.now();
  const settle = (next: number[] | undefined) => {
    if (!pending) return;
    if (next === undefined || next[0] !== pending[0]) acked.push(...pending);
    pending = undefined;
  };
  while (acked.length + (pending?.length ?? 0) < opts.rows || pending) {
    if (Date.now() > deadline)
      throw new Error(`consumer timed out with ${acked.length} rows acked; errors: ${errors.join(" | ")}`);
    if (pending && acked.length + pending.length >= opts.rows && Date.now() - lastProgress > 3000) {
      settle(undefined); // nothing came again: it was acked
      break;
    }
    const c = client();
    const stop = new AbortController();
    const idle = setInterval(() => {
      if (Date.now() - lastProgress > 3000) stop.abort();
    }, 500);
    try {
      for await (const m of c.stream(
        {
          destination: "example",
          clientId: opts.clientId,
          filter: opts.filter,
          batchSize: 7,
          window: 2,
          session,
          wait: true,
        },
        { signal: stop.signal },
      )) {
        if (m.message.case === "subscribed") {
          session = m.message.value.session;
          continue;
        }
        if (m.message.case !== "batch") continue;
        lastProgress = Date.now();
        const got = ids(m.message.value.entries);
        settle(got);
        try {
          await c.ack({
            destination: "example",
            clientId: opts.clientId,
            batchId: m.message.value.batchId,
            session,
          });
          acked.push(...got);
          opts.onAcked?.(got);
        } catch (e) {
          const err = ConnectError.from(e);
          errors.push(`ack: ${err.message}`);
          if (err.code !== Code.FailedPrecondition) pending = got;
          break; // reopen: unacked batches come again
        }
        if (acked.length >= opts.rows) break;
      }
    } catch (e) {
      const err = ConnectError.from(e);
      if (err.code !== Code.Canceled) errors.push(`stream: ${err.message}`);
    } finally {
      clearInterval(idle);
      stop.abort();
    }
    if (acked.length + (pending?.length ?? 0) < opts.rows || pending) {
      reconnects++;
      await sleep(100);
    }
  }
  return { acked, reconnects, errors };
}
