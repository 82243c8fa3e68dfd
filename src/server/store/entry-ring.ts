// The in-memory window of entries between the binlog reader and the clients (canal's
// MemoryEventStoreWithBuffer), bounded by entry count and bytes. Entries get consecutive
// sequence numbers; the ring keeps [first, next) and drops from the front when told that no
// reader needs the oldest entries any more. When it is full, `full` is true and the reader
// must wait (back-pressure) until trim() frees room. A ring may share a byte budget with other
// rings (store-budget.ts): it is then also full when the budget has no room for it.

import type { CancelSignal } from "../../protocol/call-cancel.js";
import { type BinlogPoint, comparePoints } from "../entry/positions.js";
import { droppedEntries } from "./dropped-entries.js";
import type { StoreBudget } from "./store-budget.js";
import type { StoredEntry } from "./stored-entry.js";

export type { StoredEntry } from "./stored-entry.js";

export interface RingLimits {
  maxEntries: number;
  maxBytes: number;
}

export class EntryRing {
  readonly #entries: StoredEntry[] = [];
  /** Index in #entries of the first live entry (compacted lazily). */
  #start = 0;
  #first = 1;
  #next = 1;
  #bytes = 0;
  #reserved = 0;
  #budget: StoreBudget | undefined;
  readonly #appendWaiters = new Set<() => void>();
  readonly #spaceWaiters = new Set<() => void>();

  /** `budget`: the bytes this ring shares with others (joined at once); none: its limits only. */
  constructor(
    readonly limits: RingLimits,
    budget?: StoreBudget,
  ) {
    this.#budget = budget;
    budget?.join(this);
  }

  /** Sequence number of the oldest entry held (== next when empty). */
  get first(): number {
    return this.#first;
  }

  /** Sequence number the next appended entry gets. */
  get next(): number {
    return this.#next;
  }

  get count(): number {
    return this.#next - this.#first;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes the budget keeps for this ring even while it holds less (see reserve()). */
  get reserved(): number {
    return this.#reserved;
  }

  /** Full by its own limits, whatever the budget says. */
  get atLimit(): boolean {
    return this.count >= this.limits.maxEntries || this.#bytes >= this.limits.maxBytes;
  }

  get full(): boolean {
    return this.atLimit || (this.#budget !== undefined && !this.#budget.hasRoom(this));
  }

  /** Keeps `bytes` of the shared budget for this ring (0: none). */
  reserve(bytes: number): void {
    this.#reserved = bytes;
  }

  /** Gives everything this ring holds or reserves back to the budget (the ring is dropped). */
  leaveBudget(): void {
    droppedEntries.dropped(this.#bytes);
    if (this.#budget)
      for (let s = this.#first; s < this.#next; s++) this.#budget.dropped(this.get(s) as StoredEntry);
    this.#budget?.leave(this);
    this.#budget = undefined;
    this.#reserved = 0;
  }

  /** Appends `stored`, giving it the next sequence number. */
  append(stored: StoredEntry): StoredEntry {
    stored.seq = this.#next++;
    this.#entries.push(stored);
    this.#bytes += stored.size;
    for (const w of this.#appendWaiters) w();
    this.#appendWaiters.clear();
    return stored;
  }

  /** The entry with sequence `seq`, if the ring still holds it. */
  get(seq: number): StoredEntry | undefined {
    if (seq < this.#first || seq >= this.#next) return undefined;
    return this.#entries[this.#start + (seq - this.#first)];
  }

  /** Sequence of the first entry at or after `point` (`next` when the ring holds none). */
  firstAtOrAfter(point: BinlogPoint): number {
    let lo = this.#first;
    let hi = this.#next;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = (this.get(mid) as StoredEntry).position;
      if (comparePoints({ file: p.file, position: p.offset }, point) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops every entry before `seq`. */
  trimTo(seq: number): void {
    const upto = Math.min(seq, this.#next);
    if (upto <= this.#first) return;
    const held = this.#bytes;
    for (let s = this.#first; s < upto; s++) {
      const i = this.#start + (s - this.#first);
      const dropped = this.#entries[i] as StoredEntry;
      this.#bytes -= dropped.size;
      this.#budget?.dropped(dropped);
      this.#entries[i] = undefined as unknown as StoredEntry;
    }
    droppedEntries.dropped(held - this.#bytes);
    this.#start += upto - this.#first;
    this.#first = upto;
    if (this.#start > 4096 && this.#start * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#start);
      this.#start = 0;
    }
    if (!this.full) {
      for (const w of this.#spaceWaiters) w();
      this.#spaceWaiters.clear();
    }
  }

  /** Resolves at the next append, or after `timeoutMs`, or when `signal` aborts. */
  waitForAppend(timeoutMs: number, signal?: CancelSignal): Promise<void> {
    return waitOn(this.#appendWaiters, timeoutMs, signal);
  }

  /** Resolves once the ring has room again. */
  waitForSpace(signal?: CancelSignal): Promise<void> {
    if (!this.full) return Promise.resolve();
    return waitOn(this.#spaceWaiters, Number.POSITIVE_INFINITY, signal);
  }

  /** Wakes every waiter (shutdown). */
  wakeAll(): void {
    for (const w of this.#appendWaiters) w();
    for (const w of this.#spaceWaiters) w();
    this.#appendWaiters.clear();
    this.#spaceWaiters.clear();
  }
}

function waitOn(set: Set<() => void>, timeoutMs: number, signal?: CancelSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      set.delete(done);
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    set.add(done);
    if (Number.isFinite(timeoutMs)) timer = setTimeout(done, timeoutMs);
    signal?.addEventListener("abort", done, { once: true });
  });
}
