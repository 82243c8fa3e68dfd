// One byte budget (store.maxBytes) for every ring of a destination (src/server/store/
// store-budget.ts): the shared ring and the catch-up readers' rings together stay within it,
// and a running catch-up reader keeps the room it reserved.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SlabMemory } from "../../../src/server/store/entry-memory.js";
import { EntryRing } from "../../../src/server/store/entry-ring.js";
import { catchUpRing, StoreBudget } from "../../../src/server/store/store-budget.js";
import { storedEntry } from "./stored-entries.js";

const MiB = 1 << 20;

const EMPTY = Buffer.alloc(0);
/** An entry that counts `size` bytes. */
const entry = (size: number) => storedEntry(EMPTY, size);

/** Appends entries of `size` as a reader does: while the ring is not full. */
function fill(ring: EntryRing, size: number): number {
  let n = 0;
  while (!ring.full) {
    ring.append(entry(size));
    n++;
  }
  return n;
}

describe("StoreBudget", () => {
  test("the shared ring and a catch-up ring together hold no more than the budget", () => {
    const budget = new StoreBudget(64 * MiB);
    const shared = new EntryRing({ maxEntries: 1 << 20, maxBytes: 64 * MiB }, budget);
    const catchUp = new EntryRing({ maxEntries: 4096, maxBytes: 8 * MiB }, budget);
    fill(shared, 8192);
    assert.equal(shared.bytes, 64 * MiB);
    // The catch-up reader starts: it has no room until the shared ring gives some back.
    catchUp.reserve(8 * MiB);
    assert.equal(catchUp.full, true);
    assert.equal(fill(catchUp, 8192), 0);
    shared.trimTo(shared.first + shared.count / 2);
    fill(catchUp, 8192);
    assert.equal(catchUp.bytes, 8 * MiB, "the catch-up ring fills up to its own limit");
    assert.equal(budget.held, shared.bytes + catchUp.bytes);
    assert.ok(budget.held <= 64 * MiB);
  });

  test("the shared reader cannot take the room a running catch-up reader reserved", () => {
    const budget = new StoreBudget(64 * MiB);
    const shared = new EntryRing({ maxEntries: 1 << 20, maxBytes: 64 * MiB }, budget);
    const catchUp = new EntryRing({ maxEntries: 4096, maxBytes: 8 * MiB }, budget);
    catchUp.reserve(8 * MiB);
    fill(shared, 8192);
    assert.equal(shared.bytes, 56 * MiB);
    fill(catchUp, 8192);
    assert.equal(catchUp.bytes, 8 * MiB);
    // Its client acks: the room freed stays the catch-up reader's.
    catchUp.trimTo(catchUp.next);
    assert.equal(shared.full, true);
    assert.equal(catchUp.full, false);
  });

  test("a ring that leaves the budget gives back what it held and reserved", () => {
    const budget = new StoreBudget(16 * MiB);
    const shared = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    const catchUp = new EntryRing({ maxEntries: 4096, maxBytes: 4 * MiB }, budget);
    catchUp.reserve(4 * MiB);
    catchUp.append(entry(MiB));
    fill(shared, 4096);
    assert.equal(shared.bytes, 12 * MiB);
    catchUp.leaveBudget();
    assert.equal(budget.held, 12 * MiB);
    assert.equal(shared.full, false);
    assert.equal(fill(shared, 4096), 1024);
  });

  test("whatever the readers and clients do, the rings hold at most the budget and one entry each", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const max = 64 * MiB;
    const budget = new StoreBudget(max);
    const { maxBytes: limit, reserved } = catchUpRing(max, 4, 16 * MiB);
    const rings = [new EntryRing({ maxEntries: 16384, maxBytes: max }, budget)];
    for (let i = 0; i < 4; i++) rings.push(new EntryRing({ maxEntries: 4096, maxBytes: limit }, budget));
    const largest = 200_000;
    let peak = 0;
    for (let step = 0; step < 100_000; step++) {
      const ring = rings[Math.floor(random() * rings.length)] as EntryRing;
      const r = random();
      if (ring !== rings[0] && r < 0.01) ring.reserve(ring.reserved ? 0 : reserved);
      else if (r < 0.97) {
        if (!ring.full) ring.append(entry(400 + Math.floor(random() * largest)));
      } else ring.trimTo(ring.first + Math.floor((random() * (ring.count + 1)) / 4));
      assert.ok(budget.held < max + rings.length * (400 + largest), `step ${step}: ${budget.held}`);
      peak = Math.max(peak, budget.held);
    }
    assert.ok(peak > max - 400 - largest, "the rings filled the budget");
  });
});

describe("catchUpRing", () => {
  test("the catch-up readers reserve at most half the store; each reads up to its limit", () => {
    assert.deepEqual(catchUpRing(64 * MiB, 4, 16 * MiB), { maxBytes: 16 * MiB, reserved: 8 * MiB });
    assert.deepEqual(catchUpRing(1024 * MiB, 4, 16 * MiB), { maxBytes: 16 * MiB, reserved: 16 * MiB });
    assert.deepEqual(catchUpRing(8 * MiB, 1, 16 * MiB), { maxBytes: 4 * MiB, reserved: 4 * MiB });
  });

  test("a catch-up ring reads past its reservation while the budget has room, not into the shared ring's", () => {
    const budget = new StoreBudget(64 * MiB);
    const shared = new EntryRing({ maxEntries: 1 << 20, maxBytes: 64 * MiB }, budget);
    const catchUp = new EntryRing({ maxEntries: 4096, maxBytes: 16 * MiB }, budget);
    catchUp.reserve(8 * MiB);
    fill(catchUp, 8192);
    assert.equal(catchUp.bytes, 16 * MiB, "room in the budget: up to its limit");
    catchUp.trimTo(catchUp.next);
    fill(shared, 8192);
    assert.equal(shared.bytes, 56 * MiB, "the shared ring leaves the reservation");
    fill(catchUp, 8192);
    assert.equal(catchUp.bytes, 8 * MiB, "the budget is full: its reservation only");
  });
});

describe("StoreBudget: memory not yet collected", () => {
  /** A budget whose collections are counted, on a clock the test moves. */
  function counting(max: number) {
    const clock = { now: 0, collections: 0 };
    const budget = new StoreBudget(max, {
      collect: () => clock.collections++,
      minIntervalMs: 100,
      now: () => clock.now,
    });
    return { budget, clock };
  }
  /** Appends entries of `size` in `slab` while the ring is not full. */
  function fillIn(ring: EntryRing, slab: SlabMemory, size: number): number {
    let n = 0;
    while (!ring.full) {
      ring.append(storedEntry(EMPTY, size, slab));
      n++;
    }
    return n;
  }

  test("dropped entries count against the budget until their slab is collected", () => {
    const { budget } = counting(16 * MiB);
    const ring = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    const slab = new SlabMemory();
    assert.equal(fillIn(ring, slab, MiB), 16);
    ring.trimTo(ring.first + 8);
    assert.equal(ring.bytes, 8 * MiB);
    assert.equal(budget.uncollected, 8 * MiB);
    assert.equal(ring.full, true, "what was dropped still occupies memory");
    slab.owner?.collected(slab.dropped);
    assert.equal(budget.uncollected, 0);
    assert.equal(ring.full, false);
    assert.equal(fillIn(ring, new SlabMemory(), MiB), 8);
  });

  test("asks for a collection when uncollected bytes (three quarters of the store) keep a ring from reading", () => {
    const { budget, clock } = counting(16 * MiB);
    const ring = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    fillIn(ring, new SlabMemory(), MiB);
    ring.trimTo(ring.first + 11);
    assert.equal(ring.full, true);
    assert.equal(clock.collections, 0, "11 MiB uncollected: less than three quarters");
    ring.trimTo(ring.first + 1);
    assert.equal(ring.full, true);
    assert.equal(clock.collections, 1);
    clock.now += 50;
    assert.equal(ring.full, true);
    assert.equal(clock.collections, 1, "at most one per interval");
  });

  test("fewer uncollected bytes keep a ring waiting only until the patience has passed", async () => {
    const budget = new StoreBudget(16 * MiB, { collect: () => collections++, patienceMs: 30 });
    let collections = 0;
    const shared = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    const catchUp = new EntryRing({ maxEntries: 4096, maxBytes: 8 * MiB }, budget);
    // An idle client's catch-up reader keeps its reservation; the shared ring's client read and
    // acked everything: nobody will drop more.
    catchUp.reserve(8 * MiB);
    fillIn(shared, new SlabMemory(), MiB);
    shared.trimTo(shared.next);
    assert.equal(shared.full, true);
    assert.equal(collections, 0, "8 MiB uncollected: less than three quarters");
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(collections, 1);
    budget.close();
  });

  test("a collection asked for within the interval runs once it has passed", async () => {
    const budget = new StoreBudget(16 * MiB, { collect: () => collections++, minIntervalMs: 30 });
    let collections = 0;
    const ring = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    fillIn(ring, new SlabMemory(), MiB);
    ring.trimTo(ring.first + 12);
    assert.equal(ring.full, true);
    assert.equal(collections, 1);
    assert.equal(ring.full, true);
    assert.equal(collections, 1);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(collections, 2, "nothing else would ask while the readers wait");
    budget.close();
  });

  test("wakes the waiting readers once collected memory made room", async () => {
    const { budget } = counting(16 * MiB);
    let woken = 0;
    budget.onCollected = () => woken++;
    const ring = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    const slabs = [new SlabMemory(), new SlabMemory()];
    for (const slab of slabs) for (let i = 0; i < 8; i++) ring.append(storedEntry(EMPTY, MiB, slab));
    ring.trimTo(ring.next);
    for (const slab of slabs) slab.owner?.collected(slab.dropped);
    await new Promise((r) => setImmediate(r));
    assert.equal(woken, 1, "one wake for the slabs one collection freed");
  });

  test("uncollected bytes count at most three quarters of the store", () => {
    const { budget, clock } = counting(16 * MiB);
    const ring = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    fillIn(ring, new SlabMemory(), MiB);
    ring.trimTo(ring.next);
    assert.equal(budget.uncollected, 16 * MiB);
    assert.equal(fillIn(ring, new SlabMemory(), MiB), 4);
    assert.equal(clock.collections, 1, "they keep it from reading");
  });

  test("a ring that leaves the budget leaves what it held uncollected", () => {
    const { budget } = counting(16 * MiB);
    const shared = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    const catchUp = new EntryRing({ maxEntries: 4096, maxBytes: 8 * MiB }, budget);
    const slab = new SlabMemory();
    fillIn(catchUp, slab, MiB);
    catchUp.leaveBudget();
    assert.equal(budget.uncollected, 8 * MiB);
    assert.equal(fillIn(shared, new SlabMemory(), MiB), 8);
    slab.owner?.collected(slab.dropped);
    assert.equal(fillIn(shared, new SlabMemory(), MiB), 8);
  });

  test("entries without a followed slab are freed when dropped", () => {
    const { budget } = counting(16 * MiB);
    const ring = new EntryRing({ maxEntries: 1 << 20, maxBytes: 16 * MiB }, budget);
    fill(ring, MiB);
    ring.trimTo(ring.next);
    assert.equal(budget.uncollected, 0);
    assert.equal(fill(ring, MiB), 16);
  });
});
