// The memory of stored entries is followed until V8 collects it (src/server/store/entry-memory.ts):
// what a ring dropped counts against its budget until then, and no longer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { type Entry, EntrySchema, EntryType, EventType } from "../../../src/gen/sluice/v1/entry_pb.js";
import { fullCollection } from "../../../src/server/store/dropped-entries.js";
import { EntryRing } from "../../../src/server/store/entry-ring.js";
import { StoreBudget } from "../../../src/server/store/store-budget.js";
import { EntryStorer } from "../../../src/server/store/stored-entry.js";
import { POSITION } from "./stored-entries.js";

/** A row change of about a kilobyte. */
function rowChange(i: number): Entry {
  const columns = [{ index: 0, name: "id", value: String(i), sqlType: 4 }];
  columns.push({ index: 1, name: "c", value: "x".repeat(1000), sqlType: 12 });
  return create(EntrySchema, {
    entryType: EntryType.ROWDATA,
    header: { schemaName: "shop", tableName: "orders", eventType: EventType.INSERT },
    payload: {
      case: "rowChange",
      value: { eventType: EventType.INSERT, rowDatas: [{ afterColumns: columns }] },
    },
  });
}

test("entries a ring dropped count until V8 has collected their slabs, then the readers are woken", async () => {
  assert.ok(fullCollection, "V8's collection is available");
  const budget = new StoreBudget(64 << 20);
  let woken = 0;
  budget.onCollected = () => woken++;
  const ring = new EntryRing({ maxEntries: 1 << 20, maxBytes: 64 << 20 }, budget);
  const storer = new EntryStorer();
  for (let i = 0; i < 2000; i++) ring.append(storer.store(rowChange(i), undefined, POSITION));
  const held = ring.bytes;
  ring.trimTo(ring.next);
  assert.equal(budget.uncollected, held);
  // The storer keeps its last slab: a new one, so that every dropped entry's slab can go.
  ring.append(new EntryStorer().store(rowChange(0), undefined, POSITION));
  for (let i = 0; i < 20 && budget.uncollected > 0; i++) {
    fullCollection();
    await sleep(20);
  }
  assert.ok(budget.uncollected < held / 10, `${budget.uncollected} of ${held} bytes still uncollected`);
  assert.ok(woken > 0);
});
