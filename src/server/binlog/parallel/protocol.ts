// Messages between ParallelDecoder and its workers.
import type { TableInfo } from "../table-map.js";

export interface WorkerInit {
  /** DecoderOptions.timeZone, when it is a zone name (functions cannot cross threads). */
  timeZone?: string;
}

/** int32s per job in BatchMessage.jobs. */
export const JOB_FIELDS = 7;
// [event start in buf, event length, body position (column count), body end (before the
//  checksum), event type code, plan key, verify CRC32 (1/0)]

/** Calling thread -> worker: the rows events of one batch, back to back in `buf`. */
export interface BatchMessage {
  seq: number;
  buf: ArrayBuffer;
  /** Bytes of buf in use. */
  length: number;
  jobs: Int32Array;
  /** Tables first needed by this batch: [plan key, TableInfo]. */
  tables: [number, TableInfo][];
  /** Plan keys no longer used (their table id was mapped to another table). */
  drop: number[];
  /** Output arrays of an earlier result, given back for reuse. */
  desc: Int32Array | undefined;
  fmt: Uint8Array | undefined;
}

/** Worker -> calling thread: the batch's results (see wire.ts), with `buf` given back. */
export interface ResultMessage {
  seq: number;
  buf: ArrayBuffer;
  results: Int32Array;
  desc: Int32Array;
  fmt: Uint8Array;
  extra: unknown[];
}
