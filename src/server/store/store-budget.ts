// The bytes one destination's store may hold (store.maxBytes), shared by all its rings: the
// shared ring and the rings of its catch-up readers. Whatever the consumers do, the entries the
// destination holds in memory stay within it (plus the entry each ring appends past it).
//
// A catch-up ring reserves its own limit while its reader runs, so the shared reader, which
// reads ahead as long as there is room, cannot take the room a catch-up reader needs and
// starve it; the shared ring gets what the running catch-up readers neither hold nor reserve.
//
// Entries a ring dropped count against the budget until V8 has collected the memory they lived
// in (entry-memory.ts): a store refilling what its consumers drop would otherwise occupy up
// to twice store.maxBytes until V8 collects, late. When such uncollected bytes are what keeps
// a ring from reading, the budget asks for a full collection once they are three quarters of
// the store, at most one per `minIntervalMs`: the readers wait for it while their consumers
// read on from the quarter left. Fewer keep a reader waiting only until `patienceMs` has passed
// (no consumer may drop more: one waits at the head while idle clients' catch-up readers keep
// their reservations). Forced collections cost more CPU than V8's own (one per 16
// MiB a consumer catching up read cost 2 µs a row), so each frees as much as it can. At most
// those three quarters are counted, so that memory held by anything else (a write in flight)
// cannot stop the readers; past them (a consumer faster than its reader, which then drops
// everything it reads) V8's own collections (every 64 MiB outside its heap) and bulk drops'
// (dropped-entries.ts) take care of it.
import type { CollectedListener } from "./entry-memory.js";
import type { StoredEntry } from "./stored-entry.js";

/** A ring as the budget sees it. */
export interface BudgetMember {
  /** Bytes it holds. */
  readonly bytes: number;
  /** Bytes kept for it even while it holds less (0: none). */
  readonly reserved: number;
}

export interface StoreBudgetOptions {
  /** Starts a full garbage collection (none: the budget never asks for one). */
  collect?: () => void;
  /** Uncollected bytes worth a collection when they keep a ring from reading (3/4 maxBytes). */
  collectAt?: number;
  minIntervalMs?: number;
  /** How long fewer uncollected bytes than collectAt may keep a ring waiting. */
  patienceMs?: number;
  now?: () => number;
}

const MIN_COLLECTION_INTERVAL_MS = 100;
const COLLECTION_PATIENCE_MS = 1000;

/** Uncollected bytes past this many no longer count against a budget of maxBytes. */
function uncountedPast(maxBytes: number): number {
  return Math.floor((maxBytes / 4) * 3);
}

export class StoreBudget implements CollectedListener {
  readonly #members = new Set<BudgetMember>();
  #uncollected = 0;
  /** Told when collected memory made room (the readers waiting for it may go on). */
  onCollected: (() => void) | undefined;
  #wakeQueued = false;
  #lastCollection = Number.NEGATIVE_INFINITY;
  #collectTimer: NodeJS.Timeout | undefined;
  /** When the collection #collectTimer runs is due. */
  #collectDue = 0;
  readonly #collectAt: number;
  readonly #minIntervalMs: number;
  readonly #patienceMs: number;
  readonly #now: () => number;

  constructor(
    readonly maxBytes: number,
    private readonly opts: StoreBudgetOptions = {},
  ) {
    this.#collectAt = opts.collectAt ?? uncountedPast(maxBytes);
    this.#minIntervalMs = opts.minIntervalMs ?? MIN_COLLECTION_INTERVAL_MS;
    this.#patienceMs = opts.patienceMs ?? COLLECTION_PATIENCE_MS;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Bytes of dropped entries whose memory V8 has not collected yet. */
  get uncollected(): number {
    return this.#uncollected;
  }

  /** Uncollected bytes the budget counts: at most three quarters of it. */
  get #counted(): number {
    return Math.min(this.#uncollected, uncountedPast(this.maxBytes));
  }

  /** A member dropped `entry`: its bytes count until their slab is collected. */
  dropped(entry: StoredEntry): void {
    const slab = entry.slab;
    if (!slab) return;
    slab.dropped += entry.size;
    slab.owner = this;
    this.#uncollected += entry.size;
  }

  /** V8 collected a slab whose entries counted `bytes` here. */
  collected(bytes: number): void {
    this.#uncollected = Math.max(0, this.#uncollected - bytes);
    if (this.#wakeQueued || !this.onCollected) return;
    // A collection frees many slabs, each told by a callback of its own: one wake for them all.
    this.#wakeQueued = true;
    setImmediate(() => {
      this.#wakeQueued = false;
      this.onCollected?.();
    });
  }

  /** Stops a collection still to be asked for (the destination stopped). */
  close(): void {
    if (this.#collectTimer) clearTimeout(this.#collectTimer);
    this.#collectTimer = undefined;
    this.onCollected = undefined;
  }

  join(member: BudgetMember): void {
    this.#members.add(member);
  }

  leave(member: BudgetMember): void {
    this.#members.delete(member);
  }

  /** Bytes every member holds. */
  get held(): number {
    let n = 0;
    for (const m of this.#members) n += m.bytes;
    return n;
  }

  /** Bytes reserved by members beyond what they hold. */
  get reservedFree(): number {
    let n = 0;
    for (const m of this.#members) n += Math.max(0, m.reserved - m.bytes);
    return n;
  }

  /**
   * True when `member` may append: what it holds, plus what every other member holds or has
   * reserved, is under maxBytes.
   */
  hasRoom(member: BudgetMember): boolean {
    let claimed = member.bytes;
    for (const m of this.#members) if (m !== member) claimed += Math.max(m.bytes, m.reserved);
    if (claimed + this.#counted < this.maxBytes) return true;
    if (claimed < this.maxBytes)
      this.#collectSoon(this.#uncollected >= this.#collectAt ? 0 : this.#patienceMs);
    return false;
  }

  /**
   * A full collection in `delayMs`, and not before `minIntervalMs` has passed since the last;
   * one asked for sooner than one already due takes its place.
   */
  #collectSoon(delayMs: number): void {
    const collect = this.opts.collect;
    if (!collect) return;
    const now = this.#now();
    const due = Math.max(now + delayMs, this.#lastCollection + this.#minIntervalMs);
    if (this.#collectTimer) {
      if (due >= this.#collectDue) return;
      clearTimeout(this.#collectTimer);
      this.#collectTimer = undefined;
    }
    const run = () => {
      this.#collectTimer = undefined;
      this.#lastCollection = this.#now();
      collect();
    };
    if (due <= now) {
      run();
      return;
    }
    // A timer, as nothing else may ask: the readers wait for this room.
    this.#collectDue = due;
    this.#collectTimer = setTimeout(run, due - now);
  }
}

/**
 * One catch-up reader's ring: its byte limit, `cap` but no more than half the store, and what
 * it reserves of the budget while it reads, so that `catchUpReaders` of them together reserve
 * at most half the store and the shared ring always keeps the other half. A ring reads past its
 * reservation, up to its limit, while the budget has room.
 */
export function catchUpRing(
  maxBytes: number,
  catchUpReaders: number,
  cap: number,
): { maxBytes: number; reserved: number } {
  const limit = Math.min(cap, Math.floor(maxBytes / 2));
  return {
    maxBytes: limit,
    reserved: Math.min(limit, Math.floor(maxBytes / (2 * Math.max(1, catchUpReaders)))),
  };
}
