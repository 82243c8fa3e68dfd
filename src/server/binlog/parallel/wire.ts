// The compact form in which a ParallelDecoder worker hands decoded rows back to the calling
// thread, and the code that turns it back into row images there.
//
// Moving strings between threads costs a structured clone per string, about as much as making
// them. So the worker does not send strings for most values: every value is two int32s in a
// descriptor array,
//   (start, len >= 0, start >= 0)  the Latin-1 reading of event bytes [start, start + len):
//                                  a pure-ASCII text value, which the calling thread slices
//                                  out of one Latin-1 string of the event (it still holds the
//                                  event's bytes: the batch buffer comes back with the results);
//   (~start, len >= 0)             a value the worker formatted (numbers, dates, ...) whose
//                                  characters are all Latin-1: bytes [start, start + len) of
//                                  the job's formatted-text area, sliced likewise;
//   (i, -3)                        any other string: extra[i] (structured clone);
//   (0, -1)                        SQL NULL;
//   (0, -2)                        undefined (column not in the image).
// Slices of 13+ characters are V8 sliced strings (no copy); a kept value keeps its event's
// (or formatted area's) string alive, one event's worth of text, nothing longer-lived.
import { latin1Text } from "../charsets.js";
import type { RowImage, ValueEmitter } from "../column-values.js";
import type { UpdateRow } from "../events.js";
import type { ImageSink } from "../rows-event.js";

export const NULL_LEN = -1;
export const UNDEFINED_LEN = -2;
export const EXTRA_LEN = -3;

/** Job status in the per-job results. */
export const JobStatus = {
  /** Images in the descriptors. */
  OK: 0,
  /** The whole rows array is extra[first] (PARTIAL_UPDATE_ROWS: rows with jsonDiffs). */
  ROWS_IN_EXTRA: 1,
  /** Decoding failed: extra[first] is a WireError; later jobs of the batch were not run. */
  ERROR: 2,
  /** Not run (after an error). */
  SKIPPED: 3,
} as const;

/** Per-job result fields (JOB_RESULT_FIELDS int32s per job). */
export const JOB_RESULT_FIELDS = 5;
// [status, images or extra index, descriptor start (int32 index), fmt start, fmt end]

export interface WireError {
  /** The decoder's reason (BinlogDecodeError) or the message of another error. */
  reason: string;
  /** True for a BinlogDecodeError (else the message is wrapped as "cannot decode: ..."). */
  decodeError: boolean;
  /** Thrown by the rows, not the checksum: named with the table, as the decoder names it. */
  inRows: boolean;
  /** BinlogDecodeError.definitionNeeded. */
  definitionNeeded?: boolean;
}

/**
 * Worker side: collects row images as descriptors + formatted text. As the decoder's
 * ValueEmitter it takes ASCII text as byte ranges and integers as digits written straight into
 * the formatted area (no string made); other values arrive as strings in the row.
 */
export class RowsEncoder implements ImageSink, ValueEmitter {
  desc: Int32Array = new Int32Array(0);
  descLength = 0;
  private descCapacity = 1 << 14;
  fmt: Uint8Array = new Uint8Array(0);
  fmtLength = 0;
  private fmtCapacity = 1 << 14;
  /** Offset that formatted-text positions of the current job are relative to. */
  fmtBase = 0;
  extra: unknown[] = [];
  images = 0;
  /** ValueEmitter.ranges, sized for the widest table seen. */
  ranges = new Int32Array(64).fill(-1);

  /**
   * Starts a new batch. The previous batch's arrays were transferred away (leaving them
   * empty): use the ones given back, or new ones sized for the largest batch so far.
   */
  reset(desc: Int32Array | undefined, fmt: Uint8Array | undefined): void {
    this.descCapacity = Math.max(this.descCapacity, this.descLength);
    this.fmtCapacity = Math.max(this.fmtCapacity, this.fmtLength);
    this.desc =
      desc !== undefined && desc.length >= this.descCapacity ? desc : new Int32Array(this.descCapacity);
    this.descLength = 0;
    this.fmt = fmt !== undefined && fmt.length >= this.fmtCapacity ? fmt : new Uint8Array(this.fmtCapacity);
    this.fmtLength = 0;
    this.extra = [];
  }

  /** Starts a job (one rows event) of `columns` columns. */
  startJob(columns: number): void {
    this.images = 0;
    this.fmtBase = this.fmtLength;
    if (this.ranges.length < 2 * columns) this.ranges = new Int32Array(2 * columns).fill(-1);
  }

  image(row: RowImage): void {
    const n = row.length;
    if (this.descLength + 2 * n > this.desc.length) this.growDesc(2 * n);
    const d = this.desc;
    const ranges = this.ranges;
    let k = this.descLength;
    for (let i = 0; i < n; i++) {
      const len = ranges[2 * i + 1] as number;
      if (len >= 0) {
        d[k] = ranges[2 * i] as number;
        d[k + 1] = len;
        ranges[2 * i + 1] = -1;
      } else {
        const v = row[i];
        if (typeof v === "string") {
          const at = this.writeLatin1(v);
          if (at >= 0) {
            d[k] = ~(at - this.fmtBase);
            d[k + 1] = v.length;
          } else {
            d[k] = this.extra.length;
            d[k + 1] = EXTRA_LEN;
            this.extra.push(v);
          }
        } else {
          d[k] = 0;
          d[k + 1] = v === null ? NULL_LEN : UNDEFINED_LEN;
        }
      }
      k += 2;
    }
    this.descLength = k;
    this.images++;
  }

  int(i: number, v: number): void {
    if (this.fmtLength + 24 > this.fmt.length) this.growFmt(24);
    const f = this.fmt;
    const start = this.fmtLength;
    let at = start;
    if (v < 0) {
      f[at++] = 45;
      v = -v;
    }
    if (v < 2147483648) {
      // int32 arithmetic: (x / 10) | 0 compiles to a multiply and shift.
      let x = v | 0;
      at +=
        x < 100000
          ? x < 100
            ? x < 10
              ? 1
              : 2
            : x < 1000
              ? 3
              : x < 10000
                ? 4
                : 5
          : x < 10000000
            ? x < 1000000
              ? 6
              : 7
            : x < 100000000
              ? 8
              : x < 1000000000
                ? 9
                : 10;
      let p = at;
      do {
        const q = (x / 10) | 0;
        f[--p] = 48 + x - q * 10;
        x = q;
      } while (x !== 0);
    } else {
      let digits = 1;
      for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
      at += digits;
      let p = at;
      do {
        const q = Math.floor(v / 10);
        f[--p] = 48 + (v - q * 10);
        v = q;
      } while (v > 0);
    }
    this.fmtLength = at;
    this.ranges[2 * i] = ~(start - this.fmtBase);
    this.ranges[2 * i + 1] = at - start;
  }

  /** Clears ranges left by an image that failed half-way. */
  clearRanges(): void {
    this.ranges.fill(-1);
  }

  /** Appends s to the formatted area if every character is Latin-1; its offset, else -1. */
  private writeLatin1(s: string): number {
    const len = s.length;
    const at = this.fmtLength;
    if (at + len > this.fmt.length) this.growFmt(len);
    const f = this.fmt;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) return -1;
      f[at + i] = c;
    }
    this.fmtLength = at + len;
    return at;
  }

  private growDesc(need: number): void {
    const bigger = new Int32Array(Math.max(this.desc.length * 2, this.descLength + need));
    bigger.set(this.desc.subarray(0, this.descLength));
    this.desc = bigger;
  }

  private growFmt(need: number): void {
    const bigger = new Uint8Array(Math.max(this.fmt.length * 2, this.fmtLength + need));
    bigger.set(this.fmt.subarray(0, this.fmtLength));
    this.fmt = bigger;
  }
}

/** Calling-thread side: the strings one job's descriptors refer to. */
export interface JobText {
  /** The event's bytes (in the returned batch buffer). */
  event: Buffer;
  /** The batch's formatted-text area and this job's part of it. */
  fmt: Buffer;
  fmtStart: number;
  fmtEnd: number;
  extra: unknown[];
}

/**
 * Rebuilds `images` row images of `n` columns from desc[at...] into `rows` (pairs of images
 * as { before, after } when `update`).
 */
export function readRows(
  desc: Int32Array,
  at: number,
  images: number,
  n: number,
  update: boolean,
  text: JobText,
  rows: (RowImage | UpdateRow)[],
): void {
  let evStr: string | undefined;
  let fmtStr: string | undefined;
  const extra = text.extra;
  let k = at;
  let before: RowImage | undefined;
  for (let img = 0; img < images; img++) {
    const row: RowImage = new Array(n);
    for (let i = 0; i < n; i++) {
      const a = desc[k] as number;
      const len = desc[k + 1] as number;
      k += 2;
      if (len >= 0) {
        if (a >= 0) {
          evStr ??= latin1Text(text.event, 0, text.event.length);
          row[i] = evStr.slice(a, a + len);
        } else {
          fmtStr ??= latin1Text(text.fmt, text.fmtStart, text.fmtEnd);
          const s = ~a;
          row[i] = fmtStr.slice(s, s + len);
        }
      } else if (len === NULL_LEN) row[i] = null;
      else if (len === UNDEFINED_LEN) row[i] = undefined;
      else row[i] = extra[a] as string;
    }
    if (!update) rows.push(row);
    else if (before === undefined) before = row;
    else {
      rows.push({ before, after: row });
      before = undefined;
    }
  }
}
