// A client's acks (src/server/store/client-session.ts): each answered only once a cursor at or
// past its batch is durable; acks that wait behind a cursor write in flight are answered
// together by one write (group commit), each checked as if the ones before it had run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Cursor, EntryPosition } from "../../../src/server/entry/positions.js";
import { BatchError, ClientSession } from "../../../src/server/store/client-session.js";
import { EntryRing } from "../../../src/server/store/entry-ring.js";

const at = (offset: number): EntryPosition => ({
  file: "bin.000001",
  offset,
  after: { file: "bin.000001", position: offset + 10, gtid: "", timestamp: 0 },
  before: { file: "bin.000001", position: offset - 10, gtid: "", timestamp: 0 },
  timestamp: 0,
  gtid: "",
  serverId: 1,
});

/** A session with outstanding batches b1..bn, batch i ending at offset 100 * i. */
function session(n: number): ClientSession {
  const s = new ClientSession("c", new EntryRing({ maxEntries: 100, maxBytes: 1 << 20 }), 1n, {
    filter: undefined,
    filterText: "",
    cursor: undefined,
    readSeq: 0,
  });
  for (let i = 1; i <= n; i++) {
    s.outstanding.push({ id: `b${i}`, entries: [], firstSeq: i - 1, endSeq: i, last: at(100 * i) });
  }
  return s;
}

/** A cursor store whose writes finish when the test says so. */
function heldWrites() {
  const writes: { cursor: Cursor; done: () => void; fail: (e: Error) => void }[] = [];
  const persist = (cursor: Cursor) =>
    new Promise<void>((resolve, reject) => {
      writes.push({ cursor, done: resolve, fail: reject });
    });
  return { writes, persist };
}

const position = (c: Cursor | undefined) => c?.resume.position;
const settle = () => new Promise((r) => setImmediate(r));

describe("ClientSession acks", () => {
  test("acks made together are answered by one write of the cursor after the last of them", async () => {
    const s = session(3);
    const { writes, persist } = heldWrites();
    const answers = ["b1", "b2", "b3"].map((id) => s.ack(id, persist));
    await settle();
    assert.equal(writes.length, 1);
    assert.equal(position(writes[0]?.cursor), 310);
    assert.equal(s.outstanding.length, 3, "nothing moves before the write is durable");
    writes[0]?.done();
    assert.deepEqual((await Promise.all(answers)).map(position), [110, 210, 310]);
    assert.equal(s.outstanding.length, 0);
    assert.equal(position(s.cursor), 310);
  });

  test("acks that arrive while a write is in flight wait for it, then share the next write", async () => {
    const s = session(3);
    const { writes, persist } = heldWrites();
    let firstDone = false;
    const first = s.ack("b1", persist).then((c) => {
      firstDone = true;
      return c;
    });
    await settle();
    assert.equal(writes.length, 1);
    const later = [s.ack("b2", persist), s.ack("b3", persist)];
    await settle();
    assert.equal(writes.length, 1, "no second write while the first is in flight");
    assert.equal(firstDone, false);
    writes[0]?.done();
    assert.equal(position(await first), 110);
    await settle();
    assert.equal(writes.length, 2);
    assert.equal(position(writes[1]?.cursor), 310);
    assert.equal(s.outstanding.length, 2, "b2 and b3 wait for their write");
    writes[1]?.done();
    assert.deepEqual((await Promise.all(later)).map(position), [210, 310]);
  });

  test("each ack is checked as if the ones before it had run: wrong ones fail alone", async () => {
    const s = session(3);
    const { writes, persist } = heldWrites();
    const b2first = s.ack("b2", persist);
    const b1 = s.ack("b1", persist);
    const gone = s.ack("b9", persist);
    const b2 = s.ack("b2", persist);
    await assert.rejects(
      b2first,
      (e: Error) => e instanceof BatchError && /oldest outstanding is "b1"/.test(e.message),
    );
    await assert.rejects(gone, (e: Error) =>
      /no such outstanding batch .* oldest outstanding is "b2"/.test(e.message),
    );
    await settle();
    assert.equal(writes.length, 1);
    assert.equal(position(writes[0]?.cursor), 210);
    writes[0]?.done();
    assert.deepEqual([position(await b1), position(await b2)], [110, 210]);
    assert.deepEqual(
      s.outstanding.map((b) => b.id),
      ["b3"],
    );
  });

  test("a failed write fails every ack it carried and moves nothing; they can be acked again", async () => {
    const s = session(2);
    const { writes, persist } = heldWrites();
    const answers = [s.ack("b1", persist), s.ack("b2", persist)];
    await settle();
    writes[0]?.fail(new Error("ZooKeeper is gone"));
    for (const a of answers) await assert.rejects(a, /ZooKeeper is gone/);
    assert.equal(s.outstanding.length, 2);
    assert.equal(s.cursor, undefined);
    const again = s.ack("b1", persist);
    await settle();
    writes[1]?.done();
    assert.equal(position(await again), 110);
  });

  test("a rollback waits for the acks before it", async () => {
    const s = session(2);
    const { writes, persist } = heldWrites();
    const acked = s.ack("b1", persist);
    const rolledBack = s.rollback(undefined);
    await settle();
    writes[0]?.done();
    await acked;
    assert.deepEqual(await rolledBack, ["b2"]);
  });
});
