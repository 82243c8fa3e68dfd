// One clientId of a destination: its filter, its durable cursor, where it reads in the ring,
// and its outstanding (unacked) batches. Implements canal's get / ack / rollback with the
// rules of docs/api.md:
//   - a batch is up to batchSize entries after the last one handed out; empty after the
//     timeout, without a batch id;
//   - several batches may be outstanding; Ack and Rollback name the oldest (else an error
//     that names it); Rollback without id gives back all of them;
//   - Ack persists the cursor (through the last entry the batch covered) before it returns;
//   - a transaction none of whose row changes pass the client's filter is not delivered at
//     all (no empty BEGIN/END pair); filtered entries still move the cursor on ack.
import { EntryType } from "../../gen/sluice/v1/entry_pb.js";
import type { FilterSubject } from "../entry/filter-subject.js";
import { type Cursor, coveredBy, cursorAfter, type EntryPosition } from "../entry/positions.js";
import type { EntryRing, StoredEntry } from "./entry-ring.js";

/**
 * A client's filter as the store applies it to a stored entry: the bytes the client gets (the
 * stored ones, or a copy with fewer columns), or undefined when it drops the entry. The sink
 * stage makes it (sink/entry-filter.ts encodedFilter); the store only calls it.
 */
export type StoredEntryFilter = (bytes: Buffer, subject: FilterSubject | undefined) => Buffer | undefined;

export interface Batch {
  id: string;
  /** Each entry's bytes, as stored (stored-entry.ts); pruned copies for a field filter. */
  entries: Buffer[];
  /** Ring sequence of the first entry this batch examined. */
  firstSeq: number;
  /** Ring sequence after the last entry this batch examined (where the next batch starts). */
  endSeq: number;
  /** Position of the last entry examined: acking the batch moves the cursor through it. */
  last: EntryPosition | undefined;
}

interface WaitingAck {
  batchId: string;
  persist: (cursor: Cursor) => Promise<void>;
  resolve: (cursor: Cursor | undefined) => void;
  reject: (err: unknown) => void;
}

export class BatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BatchError";
  }
}

export class ClientSession {
  filter: StoredEntryFilter | undefined;
  filterText: string;
  /** Durable cursor (what the store holds). */
  cursor: Cursor | undefined;
  /** Next ring sequence to examine. */
  readSeq: number;
  readonly outstanding: Batch[] = [];
  /** Position of the last entry this client has read past (handed out or skipped). */
  lastSettled: EntryPosition | undefined;
  #batchCounter = 0;
  readonly #changeWaiters = new Set<() => void>();
  /** Set while an Ack's cursor write is in flight (acks are serialized per client). */
  #acking: Promise<void> = Promise.resolve();
  /** Acks waiting for the cursor write in flight: the next write covers them all. */
  #waitingAcks: WaitingAck[] = [];

  constructor(
    readonly clientId: string,
    /** The ring this client reads: the destination's, or a private one while catching up. */
    public ring: EntryRing,
    readonly epoch: bigint,
    opts: {
      filter: StoredEntryFilter | undefined;
      filterText: string;
      cursor: Cursor | undefined;
      readSeq: number;
      /** Batches numbered before (same epoch, earlier session of this client): ids never repeat. */
      batchesIssued?: number;
    },
  ) {
    this.#batchCounter = opts.batchesIssued ?? 0;
    this.filter = opts.filter;
    this.filterText = opts.filterText;
    this.cursor = opts.cursor;
    this.readSeq = opts.readSeq;
  }

  /** Resolves at the next ack or rollback, after `timeoutMs`, or when `signal` aborts. */
  waitForChange(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        this.#changeWaiters.delete(done);
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#changeWaiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  #changed(): void {
    for (const w of [...this.#changeWaiters]) w();
  }

  /** Batches the server gave back on its own, with why (for the error a late ack gets). */
  readonly #givenBack = new Map<string, string>();

  /**
   * Gives back every outstanding batch on the server's initiative (the client fell behind the
   * store's window); a later ack of one of them gets `reason` as its error.
   */
  giveBack(reason: string): string[] {
    const ids = this.outstanding.map((b) => b.id);
    for (const id of ids) this.#givenBack.set(id, reason);
    this.lastSettled = undefined; // it reads again from its cursor
    if (this.#givenBack.size > 1000) {
      const oldest = this.#givenBack.keys().next().value;
      if (oldest !== undefined) this.#givenBack.delete(oldest);
    }
    this.outstanding.length = 0;
    this.#changed();
    return ids;
  }

  /** Switches to another ring (only with no outstanding batch: their sequences name the old ring). */
  moveTo(ring: EntryRing, readSeq: number): void {
    if (this.outstanding.length > 0) throw new Error("cannot move a client with outstanding batches");
    this.ring = ring;
    this.readSeq = readSeq;
  }

  /** The oldest ring sequence this client may still need (for rollback or reading). */
  get neededSeq(): number {
    return this.outstanding[0]?.firstSeq ?? this.readSeq;
  }

  /** How many batch ids this session has issued (for a successor in the same epoch). */
  get batchesIssued(): number {
    return this.#batchCounter;
  }

  get oldestBatchId(): string | undefined {
    return this.outstanding[0]?.id;
  }

  /**
   * Takes up to `batchSize` entries from the ring without waiting. Returns undefined when no
   * entry was available for this client. A transaction is held back (its BEGIN not handed
   * out) until one of its changes passes the filter; if none does, it is skipped whole.
   */
  take(batchSize: number): Batch | undefined {
    const entries: Buffer[] = [];
    const firstSeq = this.readSeq;
    let seq = this.readSeq;
    // Entries before settledSeq are decided (handed out or skipped); settledPos is the last.
    let settledSeq = seq;
    let settledPos: EntryPosition | undefined;
    let held: StoredEntry | undefined;
    let lastSeen: EntryPosition | undefined;
    const end = this.ring.next;
    while (seq < end && entries.length < batchSize) {
      const stored = this.ring.get(seq) as StoredEntry;
      const p = stored.position;
      seq++;
      lastSeen = p;
      if (this.cursor && coveredBy(this.cursor, p.file, p.offset)) {
        // Acked before a restart, or behind this client's cursor: never delivered again.
        if (!held) [settledSeq, settledPos] = [seq, p];
        continue;
      }
      const type = stored.entryType;
      if (type === EntryType.TRANSACTION_BEGIN) {
        held = stored;
        continue;
      }
      if (type === EntryType.TRANSACTION_END) {
        if (held)
          held = undefined; // nothing of it passed the filter
        else entries.push(stored.bytes);
        [settledSeq, settledPos] = [seq, p];
        continue;
      }
      const passed = this.filter ? this.filter(stored.bytes, stored.subject) : stored.bytes;
      if (passed && held) {
        if (entries.length > 0 && entries.length + 2 > batchSize) {
          held = undefined; // BEGIN and this entry go together, in the next batch
          break;
        }
        entries.push(held.bytes);
        held = undefined;
      }
      if (passed) entries.push(passed);
      if (!held) [settledSeq, settledPos] = [seq, p];
    }
    if (held && this.ring.full) {
      // The undecided transaction fills the ring: deliver its BEGIN after all (as canal
      // would) rather than wait for an END that cannot arrive until the ring drains.
      entries.push(held.bytes);
      [settledSeq, settledPos] = [seq, lastSeen];
    }
    if (settledSeq === firstSeq) return undefined;
    this.readSeq = settledSeq;
    if (settledPos) this.lastSettled = settledPos;
    if (entries.length === 0) return undefined; // only skipped entries; the next ack covers them
    const batch: Batch = {
      id: `${this.epoch}-${++this.#batchCounter}`,
      entries,
      firstSeq,
      endSeq: settledSeq,
      last: settledPos,
    };
    this.outstanding.push(batch);
    return batch;
  }

  /**
   * Validates that `batchId` names the oldest outstanding batch once the first `acked` are
   * gone (acks answered by the same cursor write); returns it.
   */
  oldest(batchId: string, what: "ack" | "rollback", acked = 0): Batch {
    const given = this.#givenBack.get(batchId);
    if (given) throw new BatchError(`cannot ${what} batch "${batchId}": ${given}`);
    const oldest = this.outstanding[acked];
    if (!oldest) {
      throw new BatchError(
        `cannot ${what} batch "${batchId}": client ${this.clientId} has no outstanding batch`,
      );
    }
    if (oldest.id !== batchId) {
      const known = this.outstanding.some((b, i) => i >= acked && b.id === batchId);
      throw new BatchError(
        known
          ? `cannot ${what} batch "${batchId}": batches are acked in order and the oldest outstanding is "${oldest.id}"`
          : `cannot ${what} batch "${batchId}": no such outstanding batch (already acked, rolled back, or issued before a restart); the oldest outstanding is "${oldest.id}"`,
      );
    }
    return oldest;
  }

  /**
   * Acks the oldest batch: `persist` must make the new cursor durable; only then is the batch
   * removed and the cursor moved. Acks of one client run one after another; acks that arrive
   * while a cursor write is in flight are answered together by one write, of the cursor after
   * the last of them (group commit: a consumer with several batches in flight pays one write
   * per round, not one per batch, and no ack returns before its batch is durable).
   */
  ack(batchId: string, persist: (cursor: Cursor) => Promise<void>): Promise<Cursor | undefined> {
    return new Promise((resolve, reject) => {
      this.#waitingAcks.push({ batchId, persist, resolve, reject });
      if (this.#waitingAcks.length === 1) void this.serialize(() => this.#ackWaiting());
    });
  }

  /** One cursor write for every ack waiting, each checked as if the ones before it had run. */
  async #ackWaiting(): Promise<void> {
    const acks = this.#waitingAcks;
    this.#waitingAcks = [];
    const accepted: { ack: WaitingAck; batch: Batch; cursor: Cursor | undefined }[] = [];
    let cursor = this.cursor;
    for (const ack of acks) {
      try {
        const batch = this.oldest(ack.batchId, "ack", accepted.length);
        if (batch.last) cursor = cursorAfter(batch.last);
        accepted.push({ ack, batch, cursor });
      } catch (err) {
        ack.reject(err);
      }
    }
    const first = accepted[0];
    if (!first) return;
    try {
      if (cursor) await first.ack.persist(cursor);
    } catch (err) {
      for (const a of accepted) a.ack.reject(err);
      return;
    }
    // No other ack ran meanwhile (serialized) and a rollback only touches batches while no
    // ack is in flight; a give-back may have emptied the list, so only these batches go.
    for (const a of accepted) if (this.outstanding[0] === a.batch) this.outstanding.shift();
    this.cursor = cursor;
    this.#changed();
    for (const a of accepted) a.ack.resolve(a.cursor);
  }

  /**
   * Runs `fn` after every ack before it, and before any after it: whatever moves the cursor
   * goes through here, so that two writes of it never cross.
   */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#acking.then(fn);
    this.#acking = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Gives back outstanding batches: all of them, or from `batchId` (which must be the oldest). */
  async rollback(batchId: string | undefined): Promise<string[]> {
    await this.#acking;
    if (batchId) this.oldest(batchId, "rollback");
    const ids = this.outstanding.map((b) => b.id);
    const first = this.outstanding[0];
    if (first) {
      this.readSeq = first.firstSeq;
      this.lastSettled = undefined;
    }
    this.outstanding.length = 0;
    this.#changed();
    return ids;
  }
}
