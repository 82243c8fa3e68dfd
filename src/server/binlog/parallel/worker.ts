// A ParallelDecoder worker: decodes the rows of the rows events in each batch it is sent
// (checksum check included) and sends them back in the compact form of wire.ts, with the
// batch's buffer. All decoder state (format description, table maps, schema) lives on the
// calling thread, which sends each table's TableInfo along with the first job that needs it.
import { parentPort, workerData } from "node:worker_threads";
import { EventText } from "../charsets.js";
import { verifyChecksum } from "../checksum.js";
import { compilePlan, type RowPlan, type ValueContext } from "../column-values.js";
import { BinlogDecodeError } from "../errors.js";
import { parseRowsBody, rowsType } from "../rows-event.js";
import { timeZoneOffset } from "../temporal.js";
import { type BatchMessage, JOB_FIELDS, type ResultMessage, type WorkerInit } from "./protocol.js";
import { JOB_RESULT_FIELDS, JobStatus, RowsEncoder, type WireError } from "./wire.js";

const port = parentPort;
if (!port) throw new Error("parallel/worker.js must run as a worker thread");

const init = workerData as WorkerInit;
const plans = new Map<number, RowPlan>();
const ctx: ValueContext = { tz: timeZoneOffset(init.timeZone), text: new EventText() };
const enc = new RowsEncoder();

function wireError(err: unknown, inRows: boolean): WireError {
  if (err instanceof BinlogDecodeError)
    return { reason: err.reason, decodeError: true, inRows, definitionNeeded: err.definitionNeeded };
  return { reason: err instanceof Error ? err.message : String(err), decodeError: false, inRows };
}

function run(msg: BatchMessage): ResultMessage {
  for (const key of msg.drop) plans.delete(key);
  for (const [key, table] of msg.tables) plans.set(key, compilePlan(table));
  enc.reset(msg.desc, msg.fmt);
  const buf = Buffer.from(msg.buf, 0, msg.length);
  const jobs = msg.jobs;
  const count = jobs.length / JOB_FIELDS;
  const results = new Int32Array(count * JOB_RESULT_FIELDS);
  let failed = false;
  for (let j = 0; j < count; j++) {
    const r = j * JOB_RESULT_FIELDS;
    if (failed) {
      results[r] = JobStatus.SKIPPED;
      continue;
    }
    const o = j * JOB_FIELDS;
    const start = jobs[o] as number;
    const event = buf.subarray(start, start + (jobs[o + 1] as number));
    const info = rowsType(jobs[o + 4] as number);
    const plan = plans.get(jobs[o + 5] as number);
    results[r + 2] = enc.descLength;
    enc.startJob(plan?.n ?? 0);
    let inRows = false;
    try {
      if (!info || !plan) throw new Error(`internal: job ${j} has no rows type or table plan`);
      if (jobs[o + 6] === 1) verifyChecksum(event);
      inRows = true;
      if (info.partial) {
        const body = parseRowsBody(event, jobs[o + 2] as number, jobs[o + 3] as number, info, plan, ctx);
        results[r] = JobStatus.ROWS_IN_EXTRA;
        results[r + 1] = enc.extra.length;
        enc.extra.push(body.rows);
      } else {
        // Ranges refer to `event`, which the calling thread has: not after decompression.
        ctx.emit = info.compressed ? undefined : enc;
        parseRowsBody(event, jobs[o + 2] as number, jobs[o + 3] as number, info, plan, ctx, enc);
        results[r] = JobStatus.OK;
        results[r + 1] = enc.images;
      }
    } catch (err) {
      enc.clearRanges();
      results[r] = JobStatus.ERROR;
      results[r + 1] = enc.extra.length;
      enc.extra.push(wireError(err, inRows));
      failed = true;
    }
    ctx.emit = undefined;
    results[r + 3] = enc.fmtBase;
    results[r + 4] = enc.fmtLength;
  }
  return {
    seq: msg.seq,
    buf: msg.buf,
    results,
    desc: enc.desc,
    fmt: enc.fmt,
    extra: enc.extra,
  };
}

port.on("message", (msg: BatchMessage) => {
  const out = run(msg);
  port.postMessage(out, [out.buf, out.results.buffer, out.desc.buffer, out.fmt.buffer] as ArrayBuffer[]);
});
