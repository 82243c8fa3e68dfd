// Entries a store drops in bulk are collected soon (src/server/store/dropped-entries.ts): a
// full collection when a store drops the threshold or more at once, and it frees them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { coalesced, DroppedEntries, droppedEntries } from "../../../src/server/store/dropped-entries.js";
import { EntryRing } from "../../../src/server/store/entry-ring.js";
import { StoreBudget } from "../../../src/server/store/store-budget.js";
import { storedEntry } from "./stored-entries.js";

const MiB = 1 << 20;

describe("DroppedEntries", () => {
  test("asks for a collection when a store drops the threshold or more at once, not for small drops", () => {
    let collected = 0;
    let now = 0;
    const d = new DroppedEntries(
      16 * MiB,
      () => collected++,
      5000,
      () => now,
    );
    for (let i = 0; i < 64; i++) d.dropped(MiB);
    assert.equal(collected, 0, "the drops of acks");
    d.dropped(16 * MiB);
    assert.equal(collected, 1);
    now = 1000;
    d.dropped(60 * MiB);
    assert.equal(collected, 1, "not again within the interval");
    now = 5000;
    d.dropped(60 * MiB);
    assert.equal(collected, 2);
  });

  test("requests before the collection runs are one collection; one after it, another", () => {
    let collected = 0;
    const deferred: Array<() => void> = [];
    const collect = coalesced(
      () => collected++,
      (run) => deferred.push(run),
    );
    collect();
    collect();
    collect();
    assert.equal(collected, 0, "the caller does not wait");
    assert.equal(deferred.length, 1, "one collection asked for");
    deferred.shift()?.();
    assert.equal(collected, 1);
    collect();
    assert.equal(deferred.length, 1, "asked again once it ran");
    deferred.shift()?.();
    assert.equal(collected, 2);
  });

  test("asks for nothing where V8 gives no way to collect", () => {
    const d = new DroppedEntries(1, undefined);
    d.dropped(64 * MiB);
    assert.equal(d.collections, 0);
  });

  test("the entries a ring drops are freed by V8's collection, not left for later", async () => {
    const ring = new EntryRing({ maxEntries: 1 << 20, maxBytes: 1 << 30 }, new StoreBudget(1 << 30));
    for (let i = 0; i < 64; i++) ring.append(storedEntry(Buffer.alloc(MiB, 1)));
    // Long enough for the entries to reach the old generation.
    for (let i = 0; i < 20; i++) {
      const junk: object[] = [];
      for (let j = 0; j < 100_000; j++) junk.push({ j });
      await sleep(1);
    }
    const before = droppedEntries.collections;
    ring.trimTo(ring.next);
    assert.ok(droppedEntries.collections > before, "a collection asked for");
    await sleep(100);
    const left = process.memoryUsage().arrayBuffers;
    assert.ok(left < 32 * MiB, `${left} bytes of array buffers left`);
  });
});
