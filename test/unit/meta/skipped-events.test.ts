// The file store keeps the events operators skipped, durably and bounded.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { MAX_SKIPPED_EVENTS, type SkippedEventRecord } from "../../../src/server/meta/cursor-store.js";
import { FileCursorStore } from "../../../src/server/meta/file-cursor-store.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-skips-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const skip = (position: number): SkippedEventRecord => ({
  file: "mysql-bin.000001",
  position,
  eventType: "WRITE_ROWS_V1_EVENT",
  table: "shop.legacy",
  cause: "row image truncated in column 1",
  at: 1000 + position,
});

describe("FileCursorStore skipped events", () => {
  test("none at first; each saved one is kept in order, in a file beside the clients", async () => {
    const store = new FileCursorStore(dir, () => ({ host: "127.0.0.1", port: 3306 }));
    assert.deepEqual(await store.loadSkips("example"), []);
    await store.saveSkip("example", skip(100));
    await store.saveSkip("example", skip(200));
    assert.deepEqual(await new FileCursorStore(dir, () => ({ host: "", port: 0 })).loadSkips("example"), [
      skip(100),
      skip(200),
    ]);
    assert.equal(
      JSON.parse(readFileSync(join(dir, "destinations", "example", "skipped-events.json"), "utf8")).length,
      2,
    );
    assert.deepEqual(await store.load("example"), [], "not mistaken for a client");
  });

  test(`at most ${MAX_SKIPPED_EVENTS}: the oldest go first`, async () => {
    const store = new FileCursorStore(dir, () => ({ host: "", port: 0 }));
    for (let i = 1; i <= MAX_SKIPPED_EVENTS + 2; i++) await store.saveSkip("bounded", skip(i));
    const kept = await store.loadSkips("bounded");
    assert.equal(kept.length, MAX_SKIPPED_EVENTS);
    assert.equal(kept[0]?.position, 3);
  });
});
