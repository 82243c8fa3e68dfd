// Reading binlog files: the end_log_pos chain (events removed or duplicated are an error naming
// file:offset, never rows lost or repeated) and event lengths the file cannot hold (a clean
// error, never a buffer of that size or a crash of fs.read).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  BINLOG_MAGIC,
  BinlogDecodeError,
  EventChain,
  readBinlogEvents,
} from "../../../src/server/binlog/index.js";

const QUERY = 2;
const FORMAT_DESCRIPTION = 15;

/** An event of `type` with `bodyLength` filler bytes, written as if at `at` (its end_log_pos follows). */
function event(type: number, at: number, bodyLength: number, opts: { logPos?: number } = {}): Buffer {
  const size = 19 + bodyLength;
  const e = Buffer.alloc(size, 0x61);
  e.writeUInt32LE(1700000000, 0);
  e[4] = type;
  e.writeUInt32LE(1, 5);
  e.writeUInt32LE(size, 9);
  e.writeUInt32LE(opts.logPos ?? at + size, 13);
  e.writeUInt16LE(0, 17);
  return e;
}

/** Events laid out back to back from offset 4, each with its true end_log_pos. */
function chain(count: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const e = event(i === 0 ? FORMAT_DESCRIPTION : QUERY, at, 10 + i);
    out.push(e);
    at += e.length;
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "sluice-binlog-file-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(events: Buffer[]): string {
  const path = join(dir, `mysql-bin.${String(++n).padStart(6, "0")}`);
  writeFileSync(path, Buffer.concat([BINLOG_MAGIC, ...events]));
  return path;
}

async function offsets(path: string, opts: { startOffset?: number; checkChain?: boolean } = {}) {
  const out: number[] = [];
  for await (const raw of readBinlogEvents(path, opts)) out.push(raw.offset);
  return out;
}

async function failure(path: string): Promise<BinlogDecodeError> {
  try {
    await offsets(path);
  } catch (err) {
    assert.ok(err instanceof BinlogDecodeError, String(err));
    return err;
  }
  assert.fail("no error");
}

describe("the end_log_pos chain", () => {
  test("a whole file reads through, from the start and from an event in the middle", async () => {
    const events = chain(5);
    const path = file(events);
    const starts = [4];
    for (const e of events.slice(0, -1)) starts.push((starts.at(-1) as number) + e.length);
    assert.deepEqual(await offsets(path), starts);
    assert.deepEqual(await offsets(path, { startOffset: starts[3] }), [4, starts[3], starts[4]]);
  });

  test("a duplicated event stops the reader at the copy, naming file and offset", async () => {
    const events = chain(5);
    const copyAt = 4 + events.slice(0, 3).reduce((a, e) => a + e.length, 0);
    const path = file([...events.slice(0, 3), events[2] as Buffer, ...events.slice(3)]);
    const err = await failure(path);
    assert.equal(err.offset, copyAt);
    assert.equal(err.file, path);
    assert.match(err.message, /put this event at \d+, but the event before it ended at \d+ .*repeats/);
    assert.match(err.message, /events are missing or duplicated here/);
  });

  test("a removed event stops the reader at the event after the gap", async () => {
    const events = chain(5);
    const path = file([...events.slice(0, 2), ...events.slice(3)]);
    const err = await failure(path);
    assert.equal(err.offset, 4 + (events[0] as Buffer).length + (events[1] as Buffer).length);
    assert.match(err.message, new RegExp(`skips ${(events[2] as Buffer).length} bytes`));
    assert.equal(err.eventTypeName, "QUERY_EVENT");
  });

  test("events without a place (end_log_pos 0) and a file saved from the middle of another read through", async () => {
    // What `mysqlbinlog --raw --start-position=N` writes: the dump's FORMAT_DESCRIPTION with
    // end_log_pos 0, then the events as the server wrote them, at other offsets than here.
    const fde = event(FORMAT_DESCRIPTION, 4, 20, { logPos: 0 });
    const rest = [event(QUERY, 1000, 10), event(QUERY, 1029, 12)];
    assert.equal(await offsets(file([fde, ...rest])).then((o) => o.length), 3);
  });

  test("checkChain: false reads a broken file as it is", async () => {
    const events = chain(4);
    const path = file([...events, events[3] as Buffer]);
    assert.equal((await offsets(path, { checkChain: false })).length, 5);
  });
});

describe("event lengths the file cannot hold", () => {
  for (const size of [2 ** 31, 2 ** 31 + 100, 2 ** 32 - 1]) {
    test(`event_size ${size}: a clean error, no crash`, async () => {
      const events = chain(2);
      const huge = event(QUERY, 4 + (events[0] as Buffer).length + (events[1] as Buffer).length, 30);
      huge.writeUInt32LE(size, 9);
      const path = file([...events, huge]);
      const err = await failure(path);
      assert.match(err.message, new RegExp(`event of ${size} bytes truncated by end of file`));
      assert.equal(err.offset, 4 + (events[0] as Buffer).length + (events[1] as Buffer).length);
    });
  }
});

describe("the chain of a dump (EventChain with serverSkips)", () => {
  const TABLE_MAP = 19;
  const WRITE_ROWS = 30;
  const XID = 16;
  const GTID = 162;
  /** An event at `at` of `size` bytes; rows events end their statement unless told. */
  const ev = (type: number, at: number, size = 40, stmtEnd = true) => {
    const e = event(type, at, size - 19);
    if (type === WRITE_ROWS) e.writeUInt16LE(stmtEnd ? 1 : 0, 25);
    return e;
  };
  /** The breaks a sequence of [type, at, size?, stmtEnd?] makes, as the index of each breaking event. */
  const breaks = (seq: [number, number, number?, boolean?][]) => {
    const chain = new EventChain(true);
    const out: number[] = [];
    seq.forEach(([type, at, size, stmtEnd], i) => {
      const e = ev(type, at, size, stmtEnd);
      if (chain.check(e)) out.push(i);
      chain.accept(e);
    });
    return out;
  };

  test("gaps the source makes are taken: before a statement's TABLE_MAP, before a GTID", () => {
    // GTID, (ANNOTATE_ROWS left out), TABLE_MAP, rows, (ANNOTATE), TABLE_MAP, rows, XID, (a skipped transaction), GTID
    assert.deepEqual(
      breaks([
        [GTID, 100],
        [TABLE_MAP, 200],
        [WRITE_ROWS, 240],
        [TABLE_MAP, 330],
        [WRITE_ROWS, 370],
        [XID, 410],
        [GTID, 900],
      ]),
      [],
    );
  });

  test("a repeat, or a gap inside a statement or before an XID, is a break", () => {
    assert.deepEqual(
      breaks([
        [GTID, 100],
        [TABLE_MAP, 140],
        [WRITE_ROWS, 180],
        [WRITE_ROWS, 180],
      ]),
      [3],
      "a repeated event",
    );
    assert.deepEqual(
      breaks([
        [TABLE_MAP, 140],
        [TABLE_MAP, 500],
      ]),
      [1],
      "after a TABLE_MAP",
    );
    assert.deepEqual(
      breaks([
        [TABLE_MAP, 140],
        [WRITE_ROWS, 180, 40, false],
        [TABLE_MAP, 500],
      ]),
      [2],
      "after a rows event that does not end its statement",
    );
    assert.deepEqual(
      breaks([
        [TABLE_MAP, 140],
        [WRITE_ROWS, 180],
        [XID, 500],
      ]),
      [2],
      "before an XID",
    );
    assert.deepEqual(
      breaks([
        [WRITE_ROWS, 180],
        [GTID, 500],
      ]),
      [1],
      "a GTID right after rows: the XID is missing",
    );
  });
});
