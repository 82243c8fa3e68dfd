// ParallelDecoder: BinlogDecoder with the rows of rows events decoded on worker threads, so
// that the transport (socket, packet framing) on the calling thread and the row decoding run
// on two cores.
//
//   const pd = new ParallelDecoder({ timeZone, onEvent(ev) {...}, onError(err) {...},
//                                    onDrain() { dump.resume(); } });
//   ... for each event: if (!pd.push(bytes, { file, offset })) dump.pause();
//   await pd.close();
//
// How: push() decodes every event on the calling thread with decodeDeferred(): all decoder
// state (format description, table maps, schema provider) stays here, in stream order, and
// every event but a rows event is complete at once. A rows event's bytes are copied into the
// current batch (a transferable buffer, ~128 KiB); a batch goes to a worker when full or at
// the end of the current tick (setImmediate). The worker checks the checksums, decodes the
// rows and sends them back compactly (wire.ts: byte ranges and formatted text, not one
// structured-cloned string per value), with the buffer. Events are delivered to onEvent in
// exactly the order they were pushed, each rows event once its batch is back. Values are
// those of BinlogDecoder.decode(), by construction: the same code decodes them.
//
// Errors: the first decode error (a BinlogDecodeError with file, offset and event type, as
// decode() would throw it), a worker failure or an exception from onEvent goes to onError
// after every event before it was delivered; nothing is delivered after it.
// Back-pressure: push() returns false once `maxBatches` batches are in flight (or 4096 events
// wait for delivery): stop pushing (pause the source) until onDrain. Events pushed anyway are
// still accepted.
//
// Measured (bench/decode, 1M rows, 2 vCPUs shared with mariadbd and other work): this is NOT
// faster than BinlogDecoder.decode() on one thread there (~300k vs ~400k rows/s, 5+ vs 3.2 CPU
// seconds): turning the compact form back into strings costs the calling thread about a third
// of decoding, and the worker pays ~1.2-1.4x a plain decode (encoding, messages). It may pay
// where whole cores are free for it and values are costly (wide rows); measure before use.
import { Worker } from "node:worker_threads";
import { BinlogDecoder, type DecoderOptions, type DeferredRows, deferredRows } from "../decoder.js";
import { BinlogDecodeError, type BinlogPosition } from "../errors.js";
import type { BinlogEvent, RowsEvent, UpdateRow } from "../events.js";
import type { TableInfo } from "../table-map.js";
import { type BatchMessage, JOB_FIELDS, type ResultMessage, type WorkerInit } from "./protocol.js";
import { JOB_RESULT_FIELDS, JobStatus, readRows, type WireError } from "./wire.js";

export interface ParallelDecoderOptions extends DecoderOptions {
  /**
   * Worker threads decoding rows (default 1: with the calling thread, two cores). 0 decodes
   * everything on the calling thread, with the same interface. A `timeZone` function cannot
   * be sent to a thread: then 0 is used.
   */
  workers?: number;
  /** Bytes of rows events per batch (default 128 KiB; a larger event gets a batch of its own). */
  batchBytes?: number;
  /** Batches in flight at which push() starts returning false (default 4 per worker). */
  maxBatches?: number;
  /** Every decoded event, in the order pushed. */
  onEvent: (event: BinlogEvent) => void;
  /** The first failure; nothing is delivered after it. */
  onError: (err: Error) => void;
  /** Called once there is room again after push() returned false. */
  onDrain?: () => void;
}

interface Batch {
  seq: number;
  worker: number;
  buf: Buffer;
  used: number;
  /** JOB_FIELDS numbers per job. */
  jobs: number[];
  tables: [number, TableInfo][];
  drop: number[];
  /** Jobs not yet delivered. */
  left: number;
  result: ResultMessage | undefined;
  fmt: Buffer | undefined;
}

interface Entry {
  event: BinlogEvent | undefined;
  batch: Batch | undefined;
  job: number;
  error: Error | undefined;
}

interface WorkerSlot {
  worker: Worker;
  inFlight: number;
  /** Plan keys this worker has. */
  known: Set<number>;
  /** Plan keys to drop with its next batch. */
  drop: number[];
  /** The last result, whose output arrays go back with the next batch for reuse. */
  spare: ResultMessage | undefined;
}

const WORKER_URL = new URL("./worker.js", import.meta.url);
/** Undelivered events at which push() asks the caller to wait. */
const MAX_PENDING = 4096;

export class ParallelDecoder {
  /** Worker threads in use (0: decoding on the calling thread). */
  readonly workers: number;
  readonly #decoder: BinlogDecoder;
  readonly #opts: ParallelDecoderOptions;
  readonly #batchBytes: number;
  readonly #maxBatches: number;
  readonly #slots: WorkerSlot[] = [];
  readonly #job: DeferredRows = deferredRows();
  #queue: Entry[] = [];
  #head = 0;
  #open: Batch | undefined;
  #seq = 0;
  #nextWorker = 0;
  #inFlight = 0;
  readonly #batches = new Map<number, Batch>();
  #flushScheduled = false;
  #needDrain = false;
  #delivering = false;
  #failed: Error | undefined;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  readonly #freeBuffers: Buffer[] = [];
  /** Results whose batch still has rows to deliver. */
  readonly #inUse = new Set<ResultMessage>();
  /** Plan key of each TableInfo sent to workers, and the current key of each table id. */
  readonly #keys = new WeakMap<TableInfo, number>();
  readonly #keyOfTableId = new Map<number, number>();
  #nextKey = 1;

  constructor(opts: ParallelDecoderOptions) {
    this.#opts = opts;
    this.#decoder = new BinlogDecoder(opts);
    const wanted = Math.max(0, Math.floor(opts.workers ?? 1));
    this.workers = typeof opts.timeZone === "function" ? 0 : wanted;
    this.#batchBytes = Math.max(4096, opts.batchBytes ?? 128 * 1024);
    this.#maxBatches = Math.max(1, opts.maxBatches ?? 4 * Math.max(1, this.workers));
    const init: WorkerInit = typeof opts.timeZone === "string" ? { timeZone: opts.timeZone } : {};
    for (let i = 0; i < this.workers; i++) {
      const worker = new Worker(WORKER_URL, { workerData: init });
      worker.unref();
      worker.on("message", (msg: ResultMessage) => this.#onResult(msg));
      worker.on("error", (err) =>
        this.#fail(new Error(`decoder worker failed: ${err.message}`, { cause: err })),
      );
      worker.on("exit", (code) => {
        if (!this.#closed) this.#fail(new Error(`decoder worker exited (code ${code})`));
      });
      this.#slots.push({ worker, inFlight: 0, known: new Set(), drop: [], spare: undefined });
    }
  }

  /** The calling thread's decoder: table(), formatDescription, invalidateSchema(), reset(). */
  get decoder(): BinlogDecoder {
    return this.#decoder;
  }

  /** Events pushed and not yet delivered. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Decodes one event (as BinlogDecoder.decode() takes it). Returns false when the caller
   * should stop pushing until onDrain.
   */
  push(event: Buffer, position?: BinlogPosition): boolean {
    if (this.#failed !== undefined || this.#closed) return false;
    if (this.workers === 0) {
      let ev: BinlogEvent;
      try {
        ev = this.#decoder.decode(event, position);
      } catch (err) {
        this.#enqueue(undefined, undefined, 0, err as Error);
        return false;
      }
      this.#enqueue(ev, undefined, 0, undefined);
      return this.#failed === undefined;
    }
    const job = this.#job;
    let ev: BinlogEvent;
    try {
      ev = this.#decoder.decodeDeferred(event, position, job);
    } catch (err) {
      this.#enqueue(undefined, undefined, 0, err as Error);
      return false;
    }
    const table = job.table;
    if (table === undefined) {
      this.#enqueue(ev, undefined, 0, undefined);
      return this.#room();
    }
    let b = this.#open;
    if (b !== undefined && b.used + event.length > b.buf.length) {
      this.#send();
      b = undefined;
    }
    if (b === undefined) b = this.#newBatch(event.length);
    event.copy(b.buf, b.used);
    const index = b.jobs.length / JOB_FIELDS;
    b.jobs.push(
      b.used,
      event.length,
      job.bodyPos,
      job.end,
      event[4] as number,
      this.#planKey(table, b),
      job.checkCrc ? 1 : 0,
    );
    b.used += event.length;
    b.left++;
    this.#enqueue(ev, b, index, undefined);
    if (b.used >= this.#batchBytes) this.#send();
    else this.#scheduleFlush();
    return this.#room();
  }

  /** Sends the partly filled batch now (push() does so by itself at the end of the tick). */
  flush(): void {
    if (this.#open !== undefined) this.#send();
  }

  /** Resolves once every event pushed so far has been delivered (or a failure was reported). */
  idle(): Promise<void> {
    this.flush();
    if (this.pending === 0 || this.#failed !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Delivers what was pushed, then stops the workers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.idle();
    this.destroy();
  }

  /** Stops the workers at once; undelivered events are dropped. */
  destroy(): void {
    this.#closed = true;
    for (const s of this.#slots) void s.worker.terminate();
    this.#queue = [];
    this.#head = 0;
    this.#open = undefined;
    this.#batches.clear();
    this.#inUse.clear();
    this.#wakeIdle();
  }

  /**
   * Whether the caller may go on pushing: fewer than maxBatches batches in flight and fewer
   * than MAX_PENDING events waiting for delivery (events decoded here queue behind a batch
   * still at a worker; unbounded, they would pile up and outlive the young generation).
   */
  #room(): boolean {
    const pending = this.pending;
    if (pending >= MAX_PENDING / 2 && this.#open !== undefined) this.#send();
    if (this.#inFlight < this.#maxBatches && pending < MAX_PENDING) return true;
    this.#needDrain = true;
    return false;
  }

  #enqueue(
    event: BinlogEvent | undefined,
    batch: Batch | undefined,
    job: number,
    error: Error | undefined,
  ): void {
    this.#queue.push({ event, batch, job, error });
    if (batch === undefined) this.#deliver();
  }

  #newBatch(eventLength: number): Batch {
    const size = Math.max(this.#batchBytes, eventLength);
    const buf =
      size === this.#batchBytes && this.#freeBuffers.length > 0
        ? (this.#freeBuffers.pop() as Buffer)
        : Buffer.allocUnsafeSlow(size);
    const worker = this.#nextWorker;
    this.#nextWorker = (worker + 1) % this.workers;
    const slot = this.#slots[worker] as WorkerSlot;
    const b: Batch = {
      seq: this.#seq++,
      worker,
      buf,
      used: 0,
      jobs: [],
      tables: [],
      drop: slot.drop,
      left: 0,
      result: undefined,
      fmt: undefined,
    };
    slot.drop = [];
    this.#open = b;
    return b;
  }

  /** The plan key of a table, sending its TableInfo with this batch if its worker lacks it. */
  #planKey(table: TableInfo, b: Batch): number {
    let key = this.#keys.get(table);
    if (key === undefined) {
      key = this.#nextKey++;
      this.#keys.set(table, key);
      const old = this.#keyOfTableId.get(table.tableId);
      this.#keyOfTableId.set(table.tableId, key);
      if (old !== undefined) {
        for (const s of this.#slots) {
          if (s.known.delete(old)) s.drop.push(old);
        }
      }
    }
    const slot = this.#slots[b.worker] as WorkerSlot;
    if (!slot.known.has(key)) {
      slot.known.add(key);
      b.tables.push([key, table]);
    }
    return key;
  }

  /**
   * At the end of the tick, sends the open batch if its worker is idle; a busy worker's next
   * batch stays open (growing, fewer messages) until it is full or the worker is done.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const b = this.#open;
      if (b !== undefined && !this.#closed && (this.#slots[b.worker] as WorkerSlot).inFlight === 0)
        this.#send();
    });
  }

  #send(): void {
    const b = this.#open;
    if (b === undefined) return;
    this.#open = undefined;
    const slot = this.#slots[b.worker] as WorkerSlot;
    const msg: BatchMessage = {
      seq: b.seq,
      buf: b.buf.buffer as ArrayBuffer,
      length: b.used,
      jobs: Int32Array.from(b.jobs),
      tables: b.tables,
      drop: b.drop,
      desc: undefined,
      fmt: undefined,
    };
    const transfer: ArrayBuffer[] = [msg.buf, msg.jobs.buffer as ArrayBuffer];
    // The worker's output arrays of a batch whose rows are all delivered: reuse them.
    const spare = slot.spare;
    if (spare !== undefined && !this.#batchOf(spare)) {
      slot.spare = undefined;
      msg.desc = spare.desc;
      msg.fmt = spare.fmt;
      transfer.push(spare.desc.buffer as ArrayBuffer, spare.fmt.buffer as ArrayBuffer);
    }
    this.#batches.set(b.seq, b);
    this.#inFlight++;
    if (slot.inFlight++ === 0) slot.worker.ref();
    slot.worker.postMessage(msg, transfer);
  }

  #onResult(msg: ResultMessage): void {
    const b = this.#batches.get(msg.seq);
    if (b === undefined) return; // destroyed meanwhile
    this.#batches.delete(msg.seq);
    b.result = msg;
    this.#inUse.add(msg);
    b.buf = Buffer.from(msg.buf);
    this.#inFlight--;
    const slot = this.#slots[b.worker] as WorkerSlot;
    slot.spare = msg;
    if (--slot.inFlight === 0) {
      slot.worker.unref();
      // Its next batch may have waited for it.
      if (this.#open?.worker === b.worker) this.#send();
    }
    this.#deliver();
  }

  #deliver(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      const q = this.#queue;
      while (this.#head < q.length && this.#failed === undefined && !this.#closed) {
        const e = q[this.#head] as Entry;
        if (e.error !== undefined) {
          this.#fail(e.error);
          break;
        }
        const b = e.batch;
        if (b !== undefined) {
          if (b.result === undefined) break;
          const err = this.#fillRows(e.event as RowsEvent, b, e.job);
          if (--b.left === 0) this.#recycle(b);
          if (err !== undefined) {
            this.#fail(err);
            break;
          }
        }
        q[this.#head++] = undefined as unknown as Entry;
        try {
          this.#opts.onEvent(e.event as BinlogEvent);
        } catch (err) {
          this.#fail(err instanceof Error ? err : new Error(String(err)));
          break;
        }
      }
      if (this.#head > 1024 && this.#head * 2 > q.length) {
        this.#queue = q.slice(this.#head);
        this.#head = 0;
      }
    } finally {
      this.#delivering = false;
    }
    if (
      this.#needDrain &&
      this.#inFlight < this.#maxBatches &&
      this.pending < MAX_PENDING / 2 &&
      this.#failed === undefined
    ) {
      this.#needDrain = false;
      this.#opts.onDrain?.();
    }
    if (this.pending === 0) this.#wakeIdle();
  }

  /** Puts a job's rows into its event; returns the job's error, if it failed. */
  #fillRows(ev: RowsEvent, b: Batch, job: number): Error | undefined {
    const res = b.result as ResultMessage;
    const r = job * JOB_RESULT_FIELDS;
    const status = res.results[r] as number;
    const first = res.results[r + 1] as number;
    if (status === JobStatus.OK) {
      const o = job * JOB_FIELDS;
      const start = b.jobs[o] as number;
      b.fmt ??= Buffer.from(res.fmt.buffer, res.fmt.byteOffset, res.fmt.length);
      readRows(
        res.desc,
        res.results[r + 2] as number,
        first,
        ev.table.columnCount,
        ev.kind === "update",
        {
          event: b.buf.subarray(start, start + (b.jobs[o + 1] as number)),
          fmt: b.fmt,
          fmtStart: res.results[r + 3] as number,
          fmtEnd: res.results[r + 4] as number,
          extra: res.extra,
        },
        ev.rows as (UpdateRow | (string | null | undefined)[])[],
      );
      return undefined;
    }
    if (status === JobStatus.ROWS_IN_EXTRA) {
      (ev as { rows: unknown }).rows = res.extra[first];
      return undefined;
    }
    const w = (status === JobStatus.ERROR ? res.extra[first] : undefined) as WireError | undefined;
    const cause = w
      ? w.decodeError
        ? Object.assign(new BinlogDecodeError(w.reason), { definitionNeeded: w.definitionNeeded ?? false })
        : new Error(w.reason)
      : new Error("internal: rows job was not run");
    return this.#decoder
      .errorFor(cause, ev.header, ev.position)
      .setContext({ table: `${ev.table.schema}.${ev.table.name}` });
  }

  /** Whether a result's arrays are still needed (its batch has undelivered rows). */
  #batchOf(res: ResultMessage): boolean {
    return this.#inUse.has(res);
  }

  #recycle(b: Batch): void {
    if (b.result !== undefined) this.#inUse.delete(b.result);
    if (b.buf.length === this.#batchBytes && this.#freeBuffers.length < this.#maxBatches + 1) {
      this.#freeBuffers.push(b.buf);
    }
    b.result = undefined;
    b.fmt = undefined;
  }

  #fail(err: Error): void {
    if (this.#failed !== undefined || this.#closed) return;
    this.#failed = err;
    this.#wakeIdle();
    this.#opts.onError(err);
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
