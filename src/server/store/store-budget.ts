// The bytes one destination's store may hold (store.maxBytes), shared by all its rings: the
// shared ring and the rings of its catch-up readers. Whatever the consumers do, the entries the
// destination holds in memory stay within it (plus the entry each ring appends past it).
//
// A catch-up ring reserves its own limit while its reader runs, so the shared reader, which
// reads ahead as long as there is room, cannot take the room a catch-up reader needs and
// starve it; the shared ring gets what the running catch-up readers neither hold nor reserve.

/** A ring as the budget sees it. */
export interface BudgetMember {
  /** Bytes it holds. */
  readonly bytes: number;
  /** Bytes kept for it even while it holds less (0: none). */
  readonly reserved: number;
}

export class StoreBudget {
  readonly #members = new Set<BudgetMember>();

  constructor(readonly maxBytes: number) {}

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
    return claimed < this.maxBytes;
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
