// ParallelDecoder: the same events as BinlogDecoder.decode(), in order, with rows decoded on
// worker threads; decode errors with their position; back-pressure.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crc32 } from "node:zlib";
import {
  BinlogDecodeError,
  BinlogDecoder,
  type BinlogEvent,
  ParallelDecoder,
  type ParallelDecoderOptions,
} from "../../../src/server/binlog/index.js";
import { fixtureProvider, fixturesDir, loadFixture } from "./helpers.js";

/** An event: 19-byte header + body + CRC32. */
function event(type: number, body: Buffer, logPos: number): Buffer {
  const h = Buffer.alloc(19);
  h.writeUInt32LE(1700000000, 0);
  h[4] = type;
  h.writeUInt32LE(1, 5);
  h.writeUInt32LE(19 + body.length + 4, 9);
  h.writeUInt32LE(logPos, 13);
  const ev = Buffer.concat([h, body]);
  const c = Buffer.alloc(4);
  c.writeUInt32LE(crc32(ev) >>> 0);
  return Buffer.concat([ev, c]);
}

const TABLE_MAP = 19;
const WRITE_ROWS_V1 = 23;
const UPDATE_ROWS_V1 = 24;
const DELETE_ROWS_V1 = 25;
const XID = 16;

function tableId(id: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntLE(id, 0, 6);
  return b;
}

/** TABLE_MAP of db.t(id INT, name VARCHAR(20), price DOUBLE, big BIGINT UNSIGNED), ids 2-4 nullable. */
function tableMap(id: number): Buffer {
  return Buffer.concat([
    tableId(id),
    Buffer.from([1, 0]),
    Buffer.from([2]),
    Buffer.from("db\0"),
    Buffer.from([1]),
    Buffer.from("t\0"),
    Buffer.from([4]),
    Buffer.from([3, 15, 5, 8]),
    Buffer.from([3, 80, 0, 8]),
    Buffer.from([0b1110]),
  ]);
}

interface Row {
  id: number;
  name: string | null;
  price: number | null;
  big: bigint | null;
}

function image(r: Row): Buffer {
  const nulls = (r.name === null ? 2 : 0) | (r.price === null ? 4 : 0) | (r.big === null ? 8 : 0);
  const parts = [Buffer.from([nulls])];
  const id = Buffer.alloc(4);
  id.writeInt32LE(r.id);
  parts.push(id);
  if (r.name !== null) {
    const s = Buffer.from(r.name, "utf8");
    parts.push(Buffer.from([s.length]), s);
  }
  if (r.price !== null) {
    const d = Buffer.alloc(8);
    d.writeDoubleLE(r.price);
    parts.push(d);
  }
  if (r.big !== null) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(r.big);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

function rowsEvent(type: number, id: number, images: Row[]): Buffer {
  const update = type === UPDATE_ROWS_V1;
  return Buffer.concat([
    tableId(id),
    Buffer.from([1, 0]),
    Buffer.from([4]),
    Buffer.from(update ? [0x0f, 0x0f] : [0x0f]),
    ...images.map(image),
  ]);
}

const NAMES = ["alpha", "naïve café 日本語 ✓", "", "a much longer ascii name!", "Ÿ€"];

function row(i: number): Row {
  return {
    id: i % 7 === 0 ? -i : i,
    name: i % 11 === 0 ? null : `${NAMES[i % NAMES.length]}${i}`,
    price: i % 13 === 0 ? null : (i * 1.1) / 7,
    big: i % 5 === 0 ? null : 18446744073709551615n - BigInt(i * 7919),
  };
}

/** A stream of `transactions` transactions of one TABLE_MAP, one rows event and an XID. */
function stream(transactions: number, rowsPerEvent: number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 4;
  const push = (type: number, body: Buffer) => {
    const ev = event(type, body, pos + 19 + body.length + 4);
    pos += ev.length;
    out.push(ev);
  };
  for (let t = 0; t < transactions; t++) {
    push(TABLE_MAP, tableMap(40 + (t % 3)));
    const type = [WRITE_ROWS_V1, UPDATE_ROWS_V1, DELETE_ROWS_V1][t % 3] as number;
    const n = type === UPDATE_ROWS_V1 ? 2 * rowsPerEvent : rowsPerEvent;
    const images = Array.from({ length: n }, (_, k) => row(t * 100 + k));
    push(type, rowsEvent(type, 40 + (t % 3), images));
    const xid = Buffer.alloc(8);
    xid.writeBigUInt64LE(BigInt(t));
    push(XID, xid);
  }
  return out;
}

const OPTIONS = { assumeCharset: "utf8mb4", initialChecksum: "crc32" } as const;

function expected(events: Buffer[], opts: object = OPTIONS): BinlogEvent[] {
  const d = new BinlogDecoder(opts);
  return events.map((ev, i) => d.decode(ev, { file: "bin.000001", offset: i }));
}

interface Run {
  events: BinlogEvent[];
  error: Error | undefined;
  pushedFalse: number;
  drains: number;
}

/** Pushes every event (waiting for onDrain whenever push() says so) and collects the output. */
async function runParallel(
  events: Buffer[],
  opts: Partial<ParallelDecoderOptions>,
  decoderOpts: object = OPTIONS,
): Promise<Run> {
  const run: Run = { events: [], error: undefined, pushedFalse: 0, drains: 0 };
  let drained: (() => void) | undefined;
  const pd = new ParallelDecoder({
    ...decoderOpts,
    ...opts,
    onEvent: (ev) => run.events.push(ev),
    onError: (err) => {
      run.error = err;
      drained?.();
    },
    onDrain: () => {
      run.drains++;
      drained?.();
    },
  });
  for (let i = 0; i < events.length; i++) {
    if (run.error) break;
    if (!pd.push(events[i] as Buffer, { file: "bin.000001", offset: i })) {
      if (run.error) break;
      run.pushedFalse++;
      await new Promise<void>((resolve) => {
        drained = resolve;
      });
    }
  }
  await pd.close();
  return run;
}

describe("ParallelDecoder", () => {
  const events = stream(60, 40);
  const want = expected(events);

  for (const workers of [0, 1, 2]) {
    test(`${workers} worker(s): the same events as BinlogDecoder, in order`, async () => {
      const got = await runParallel(events, { workers, batchBytes: 16 * 1024 });
      assert.equal(got.error, undefined);
      assert.equal(got.events.length, want.length);
      assert.deepStrictEqual(got.events, want);
    });
  }

  test("the values are the decoder's (ASCII, non-ASCII, NULL, doubles, 64-bit)", async () => {
    const got = await runParallel(events, { workers: 1 });
    const ins = got.events[1];
    assert.ok(ins?.type === "rows" && ins.kind === "insert");
    const r = row(1);
    // 1.1 / 7 is in the range where JavaScript's shortest form is the server's text.
    // Without SIGNEDNESS metadata BIGINT is signed: 2^64 - 7920 reads as -7920.
    assert.deepStrictEqual(ins.rows[1], ["1", "naïve café 日本語 ✓1", String(r.price), "-7920"]);
    assert.deepStrictEqual(ins.rows[0], ["0", null, null, null]);
  });

  test("back-pressure: push() returns false at maxBatches, onDrain follows", async () => {
    const got = await runParallel(events, { workers: 1, batchBytes: 4096, maxBatches: 1 });
    assert.equal(got.error, undefined);
    assert.ok(got.pushedFalse > 0, "push() asked to wait");
    assert.ok(got.drains > 0, "onDrain was called");
    assert.deepStrictEqual(got.events, want);
  });

  test("a corrupt rows event: every event before it, then its error with file and offset", async () => {
    const bad = events.map((e) => Buffer.from(e));
    const at = 31; // a rows event (3 events per transaction: 30 = TABLE_MAP, 31 = rows)
    const victim = bad[at] as Buffer;
    victim[40] = (victim[40] as number) ^ 0xff;
    let inline: unknown;
    try {
      expected(bad);
    } catch (err) {
      inline = err;
    }
    assert.ok(inline instanceof BinlogDecodeError);
    for (const workers of [0, 1]) {
      const got = await runParallel(bad, { workers, batchBytes: 8192 });
      assert.ok(got.error instanceof BinlogDecodeError, `workers=${workers}: ${got.error}`);
      assert.equal(got.error.message, (inline as Error).message);
      assert.equal(got.error.file, "bin.000001");
      assert.equal(got.error.offset, at);
      assert.equal(got.events.length, at);
      assert.deepStrictEqual(got.events, want.slice(0, at));
    }
  });

  test("a rows event for an unknown table: the decoder's error, in order", async () => {
    const noMap = [...events];
    noMap[30] = event(WRITE_ROWS_V1, rowsEvent(WRITE_ROWS_V1, 99, [row(1)]), 0);
    const got = await runParallel(noMap, { workers: 1 });
    assert.ok(got.error instanceof BinlogDecodeError);
    assert.match(got.error.message, /unknown table id/);
    assert.equal(got.error.offset, 30);
    assert.equal(got.events.length, 30);
  });

  test("a timeZone function keeps decoding on the calling thread", () => {
    const pd = new ParallelDecoder({ timeZone: () => 0, workers: 2, onEvent: () => {}, onError: () => {} });
    assert.equal(pd.workers, 0);
    pd.destroy();
  });
});

const dir = fixturesDir();
describe("ParallelDecoder on the MySQL 8.4 fixtures", {
  skip: dir === undefined ? "shared/fixtures/binlog not found" : false,
}, () => {
  for (const name of ["mysql84.json", "mysql84-fullmeta.json"]) {
    test(`${name}: every column type, with a schema provider`, async () => {
      const fx = loadFixture(dir as string, name);
      const packets = fx.packets.map((hex) => Buffer.from(hex, "hex").subarray(1));
      const opts = { schemaProvider: fixtureProvider(fx) };
      const want = expected(packets, opts);
      for (const workers of [0, 1]) {
        const got = await runParallel(packets, { workers }, opts);
        assert.equal(got.error, undefined);
        assert.deepStrictEqual(got.events, want);
      }
    });
  }
});
