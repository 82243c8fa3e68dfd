// Event framing and non-row events: GTIDs (MySQL classic and tagged, MariaDB), previous GTIDs,
// heartbeats, transaction payloads (zstd), partial JSON update rows, binlog files.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { crc32 } from "node:zlib";
import {
  CHECKSUM_IMPLEMENTATION,
  checksumPair,
  crc32Of,
  hasValidChecksum,
} from "../../../src/server/binlog/checksum.js";
import {
  BINLOG_MAGIC,
  BinlogDecodeError,
  BinlogDecoder,
  type BinlogEvent,
  readBinlogFile,
} from "../../../src/server/binlog/index.js";
import { fixturesDir, loadFixture } from "./helpers.js";

/** Builds an event: 19-byte header + body (+ CRC32 when crc). */
function event(
  type: number,
  body: Buffer,
  opts: { crc?: boolean; serverId?: number; logPos?: number } = {},
): Buffer {
  const size = 19 + body.length + (opts.crc ? 4 : 0);
  const h = Buffer.alloc(19);
  h.writeUInt32LE(1700000000, 0);
  h[4] = type;
  h.writeUInt32LE(opts.serverId ?? 1, 5);
  h.writeUInt32LE(size, 9);
  h.writeUInt32LE(opts.logPos ?? 0, 13);
  const ev = Buffer.concat([h, body]);
  if (!opts.crc) return ev;
  const c = Buffer.alloc(4);
  c.writeUInt32LE(crc32(ev) >>> 0);
  return Buffer.concat([ev, c]);
}

/** mysql::serialization varlen unsigned. */
function varU(v: bigint): Buffer {
  for (let n = 1; n <= 8; n++) {
    if (v < 1n << BigInt(7 * n)) {
      const x = (v << BigInt(n)) | ((1n << BigInt(n - 1)) - 1n);
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Number((x >> BigInt(8 * i)) & 0xffn);
      return b;
    }
  }
  const b = Buffer.alloc(9);
  b[0] = 0xff;
  b.writeBigUInt64LE(v, 1);
  return b;
}
const varI = (v: bigint) => varU(v >= 0n ? v << 1n : (-(v + 1n) << 1n) | 1n);

const UUID = Buffer.from("3e11fa4771ca11e19e33c80aa9429562", "hex");
const UUID_TEXT = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

describe("event checksums", () => {
  test("the SIMD CRC-32 is in use on linux-x64 and agrees with zlib at every length and offset", () => {
    if (process.platform === "linux" && process.arch === "x64") assert.equal(CHECKSUM_IMPLEMENTATION, "simd");
    const data = Buffer.alloc(20_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    for (const len of [5, 19, 64, 255, 256, 257, 1000, 4096, 8203, 19_990]) {
      for (const start of [0, 1, 3, 7]) {
        const ev = Buffer.from(data.subarray(start, start + len));
        assert.equal(crc32Of(ev, 0, len), crc32(ev) >>> 0);
        ev.writeUInt32LE(crc32(ev.subarray(0, len - 4)) >>> 0, len - 4);
        assert.ok(hasValidChecksum(ev), `valid at ${len}/${start}`);
        ev[len >> 1] = (ev[len >> 1] as number) ^ 0x10;
        assert.ok(!hasValidChecksum(ev), `corrupt at ${len}/${start}`);
        const pair = checksumPair(ev);
        assert.notEqual(pair.stored, pair.computed);
      }
    }
  });
});

describe("GTID events", () => {
  test("MySQL 8.3+ tagged GTID (mysql::serialization)", () => {
    const fields = Buffer.concat([
      varU(0n),
      Buffer.from([1 << 1]), // field 0: flags = 1
      varU(1n),
      ...[...UUID].map((b) => varU(BigInt(b))), // field 1: uuid bytes
      varU(2n),
      varI(42n), // gno
      varU(3n),
      varU(4n),
      Buffer.from("blue"), // tag
      varU(4n),
      varI(41n), // last_committed
      varU(5n),
      varI(42n), // sequence_number
      varU(6n),
      varU(1718454896000000n), // immediate commit ts
      varU(8n),
      varU(1234n), // transaction length
      varU(9n),
      varU(80400n), // immediate server version
    ]);
    const body = Buffer.concat([varU(1n), varU(BigInt(fields.length + 2)), varU(0n), fields]);
    const ev = new BinlogDecoder().decode(event(42, body));
    assert.equal(ev.type, "gtid");
    if (ev.type !== "gtid") return;
    assert.equal(ev.gtid, `${UUID_TEXT}:blue:42`);
    assert.equal(ev.tag, "blue");
    assert.equal(ev.gno, 42n);
    assert.equal(ev.flags, 1);
    assert.equal(ev.lastCommitted, 41n);
    assert.equal(ev.sequenceNumber, 42n);
    assert.equal(ev.immediateCommitTimestamp, 1718454896000000n);
    assert.equal(ev.originalCommitTimestamp, 1718454896000000n, "missing original = immediate");
    assert.equal(ev.transactionLength, 1234n);
    assert.equal(ev.immediateServerVersion, 80400);
    assert.equal(ev.originalServerVersion, 80400);
  });

  test("MySQL classic GTID with original timestamp/version flags", () => {
    const b = Buffer.alloc(1 + 16 + 8 + 1 + 16 + 14 + 1 + 8);
    let p = 0;
    b[p++] = 0;
    UUID.copy(b, p);
    p += 16;
    b.writeBigInt64LE(7n, p);
    p += 8;
    b[p++] = 2;
    b.writeBigInt64LE(6n, p);
    p += 8;
    b.writeBigInt64LE(7n, p);
    p += 8;
    b.writeUIntLE(1000, p, 6);
    b[p + 6] = 0x80; // bit 55: original timestamp follows
    p += 7;
    b.writeUIntLE(999, p, 6);
    p += 7;
    b[p++] = 200; // transaction length
    b.writeUInt32LE((0x80000000 | 80408) >>> 0, p);
    p += 4;
    b.writeUInt32LE(80036, p);
    const ev = new BinlogDecoder().decode(event(33, b));
    assert.ok(ev.type === "gtid");
    assert.equal(ev.gtid, `${UUID_TEXT}:7`);
    assert.equal(ev.immediateCommitTimestamp, 1000n);
    assert.equal(ev.originalCommitTimestamp, 999n);
    assert.equal(ev.transactionLength, 200n);
    assert.equal(ev.immediateServerVersion, 80408);
    assert.equal(ev.originalServerVersion, 80036);
  });

  test("PREVIOUS_GTIDS classic and tagged", () => {
    const interval = (a: bigint, b: bigint) => {
      const x = Buffer.alloc(16);
      x.writeBigInt64LE(a, 0);
      x.writeBigInt64LE(b, 8);
      return x;
    };
    const n = (v: number) => {
      const x = Buffer.alloc(8);
      x.writeBigUInt64LE(BigInt(v));
      return x;
    };
    const classic = Buffer.concat([n(1), UUID, n(2), interval(1n, 6n), interval(7n, 8n)]);
    const ev = new BinlogDecoder().decode(event(35, classic));
    assert.ok(ev.type === "previous_gtids");
    assert.equal(ev.gtidSet, `${UUID_TEXT}:1-5:7`);
    const head = Buffer.alloc(8);
    head[0] = 1;
    head.writeUIntLE(2, 1, 6);
    head[7] = 1;
    const tagged = Buffer.concat([
      head,
      UUID,
      varU(0n),
      n(1),
      interval(1n, 11n),
      UUID,
      varU(3n),
      Buffer.from("tag"),
      n(1),
      interval(1n, 2n),
    ]);
    const ev2 = new BinlogDecoder().decode(event(35, tagged));
    assert.ok(ev2.type === "previous_gtids");
    assert.equal(ev2.gtidSet, `${UUID_TEXT}:1-10:tag:1`);
  });

  test("MariaDB GTID (group commit id, XA, standalone) and GTID list, checkpoint", () => {
    const g = Buffer.alloc(8 + 4 + 1 + 8);
    g.writeBigUInt64LE(42n, 0);
    g.writeUInt32LE(3, 8);
    g[12] = 2 | 4 | 8; // group commit id, transactional, allow parallel
    g.writeBigUInt64LE(99n, 13);
    const ev = new BinlogDecoder().decode(event(162, g, { serverId: 7 }));
    assert.ok(ev.type === "mariadb_gtid");
    assert.equal(ev.gtid, "3-7-42");
    assert.equal(ev.commitId, 99n);
    assert.equal(ev.standalone, false);
    assert.equal(ev.transactional, true);
    const xa = Buffer.concat([Buffer.alloc(13), Buffer.from([1, 0, 0, 0, 2, 1]), Buffer.from("gtb")]);
    xa.writeBigUInt64LE(5n, 0);
    xa[12] = 64 | 1;
    const ev2 = new BinlogDecoder().decode(event(162, xa));
    assert.ok(ev2.type === "mariadb_gtid");
    assert.deepEqual(ev2.xa, { formatId: 1, gtrid: "gt", bqual: "b" });
    assert.equal(ev2.standalone, true);
    const list = Buffer.alloc(4 + 32);
    list.writeUInt32LE(2, 0);
    list.writeUInt32LE(0, 4);
    list.writeUInt32LE(1, 8);
    list.writeBigUInt64LE(10n, 12);
    list.writeUInt32LE(1, 20);
    list.writeUInt32LE(2, 24);
    list.writeBigUInt64LE(18446744073709551615n, 28);
    const ev3 = new BinlogDecoder().decode(event(163, list));
    assert.ok(ev3.type === "mariadb_gtid_list");
    assert.equal(ev3.gtidSet, "0-1-10,1-2-18446744073709551615");
    const cp = Buffer.concat([Buffer.from([16, 0, 0, 0]), Buffer.from("mysql-bin.000001")]);
    const ev4 = new BinlogDecoder().decode(event(161, cp));
    assert.ok(ev4.type === "binlog_checkpoint");
    assert.equal(ev4.file, "mysql-bin.000001");
  });
});

describe("framing", () => {
  test("heartbeat v1 and v2", () => {
    const v1 = new BinlogDecoder().decode(event(27, Buffer.from("mysql-bin.000009"), { logPos: 1234 }));
    assert.ok(v1.type === "heartbeat");
    assert.equal(v1.file, "mysql-bin.000009");
    assert.equal(v1.header.logPos, 1234);
    const v2body = Buffer.concat([
      Buffer.from([1, 16]),
      Buffer.from("mysql-bin.000009"),
      Buffer.from([2, 3, 0xfc, 0x10, 0x27]),
      Buffer.from([0]),
    ]);
    const v2 = new BinlogDecoder().decode(event(41, v2body));
    assert.ok(v2.type === "heartbeat");
    assert.equal(v2.file, "mysql-bin.000009");
    assert.equal(v2.offset, 10000);
  });

  test("checksum auto-detection before the first FORMAT_DESCRIPTION", () => {
    const rot = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("mysql-bin.000002")]);
    const withCrc = new BinlogDecoder().decode(event(4, rot, { crc: true }));
    assert.ok(withCrc.type === "rotate");
    assert.equal(withCrc.nextFile, "mysql-bin.000002");
    const without = new BinlogDecoder().decode(event(4, rot));
    assert.ok(without.type === "rotate");
    assert.equal(without.nextFile, "mysql-bin.000002");
  });

  test("unknown event types decode as unknown", () => {
    const ev = new BinlogDecoder().decode(event(250, Buffer.from("xyz")));
    assert.deepEqual([ev.type, ev.type === "unknown" ? ev.code : -1], ["unknown", 250]);
  });

  test("an event shorter than its header is an error", () => {
    assert.throws(() => new BinlogDecoder().decode(Buffer.alloc(10)), BinlogDecodeError);
  });
});

describe("transaction payload and partial JSON rows (built on the MySQL 8.4 fixture)", {
  skip: fixturesDir() === undefined ? "no fixtures" : false,
}, () => {
  const fx = () => loadFixture(fixturesDir() as string, "mysql84-fullmeta.json");
  const packet = (i: number) => Buffer.from(fx().packets[i] as string, "hex").subarray(1);
  /** The same event without its checksum (events inside a payload carry none). */
  const stripCrc = (ev: Buffer) => {
    const out = Buffer.from(ev.subarray(0, ev.length - 4));
    out.writeUInt32LE(out.length, 9);
    return out;
  };

  function payloadEvent(inner: Buffer, compression: "zstd" | "none"): Buffer {
    let data = inner;
    if (compression === "zstd") {
      // a zstd frame with one raw (stored) block
      const fhd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0]); // magic, single segment, 4-byte content size
      const size = Buffer.alloc(4);
      size.writeUInt32LE(inner.length);
      const bh = Buffer.alloc(3);
      bh.writeUIntLE((inner.length << 3) | 1, 0, 3);
      data = Buffer.concat([fhd, size, bh, inner]);
    }
    const packed = (v: number) => {
      if (v < 251) return Buffer.from([v]);
      const b = Buffer.alloc(4);
      b[0] = 0xfd;
      b.writeUIntLE(v, 1, 3);
      return b;
    };
    const field = (type: number, v: number) => {
      const value = packed(v);
      return Buffer.concat([Buffer.from([type, value.length]), value]);
    };
    const fields = Buffer.concat([
      field(1, data.length),
      field(2, compression === "zstd" ? 0 : 255),
      field(3, inner.length),
      Buffer.from([0]),
    ]);
    return event(40, Buffer.concat([fields, data]), { crc: true });
  }

  for (const compression of ["zstd", "none"] as const) {
    test(`TRANSACTION_PAYLOAD (${compression}) yields the inner events`, () => {
      const dec = new BinlogDecoder();
      dec.decode(packet(1)); // FORMAT_DESCRIPTION
      const inner = Buffer.concat([
        stripCrc(packet(5)),
        stripCrc(packet(6)),
        stripCrc(packet(7)),
        stripCrc(packet(8)),
      ]);
      const ev = dec.decode(payloadEvent(inner, compression));
      assert.ok(ev.type === "transaction_payload");
      assert.equal(ev.compression, compression);
      assert.deepEqual(
        ev.events.map((e) => e.type),
        ["query", "table_map", "rows", "xid"],
      );
      const rows = ev.events[2] as Extract<BinlogEvent, { type: "rows" }>;
      assert.ok(rows.kind === "insert");
      assert.equal(rows.rows[0]?.[2], "18446744073709551615");
    });
  }

  test("PARTIAL_UPDATE_ROWS applies JSON diffs to the before image", () => {
    const dec = new BinlogDecoder();
    dec.decode(packet(1));
    const tm = dec.decode(packet(6));
    assert.ok(tm.type === "table_map");
    const tableId = Buffer.alloc(6);
    tableId.writeUIntLE(tm.table.tableId, 0, 6);
    const jsonIndex = tm.table.columns.findIndex((c) => c.name === "js");
    const bitmap = Buffer.alloc(4);
    bitmap[0] = 1; // id
    bitmap[jsonIndex >> 3] = (bitmap[jsonIndex >> 3] as number) | (1 << (jsonIndex & 7));
    const id = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      return b;
    };
    // before js: {"a": 1} (small object)
    const beforeDoc = Buffer.from([0, 1, 0, 12, 0, 11, 0, 1, 0, 5, 1, 0, 0x61]);
    const len4 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const diff = Buffer.concat([Buffer.from([0, 3]), Buffer.from("$.a"), Buffer.from([3, 5, 2, 0])]); // replace $.a with 2
    const body = Buffer.concat([
      tableId,
      Buffer.from([1, 0]), // flags
      Buffer.from([2, 0]), // extra data length (none)
      Buffer.from([26]),
      bitmap,
      bitmap,
      Buffer.from([0]),
      id(5),
      len4(beforeDoc.length),
      beforeDoc, // before image
      Buffer.from([1]),
      Buffer.from([1]), // value options: PARTIAL_JSON; partial bitmap: JSON column #0
      Buffer.from([0]),
      id(5),
      len4(diff.length),
      diff, // after image
    ]);
    const ev = dec.decode(event(39, body, { crc: true }));
    assert.ok(ev.type === "rows" && ev.kind === "update");
    assert.equal(ev.partial, true);
    const r = ev.rows[0];
    assert.ok(r);
    assert.equal(r.before[jsonIndex], '{"a": 1}');
    assert.equal(r.after[jsonIndex], '{"a": 2}');
    assert.equal(r.after[1], undefined);
    assert.equal(r.jsonDiffs, undefined);
  });

  test("binlog files stream event by event; a truncated tail is an error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-binlog-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    // A file: magic + the fixture's events (from the Format event on; Rotate 0 is artificial)
    const events = fx()
      .packets.slice(1, 25)
      .map((h) => Buffer.from(h, "hex").subarray(1));
    const file = join(dir, "mysql-bin.000001");
    writeFileSync(file, Buffer.concat([BINLOG_MAGIC, ...events]));
    const seen: string[] = [];
    let offset = 4;
    const offsets: number[] = [];
    for await (const { event: ev, offset: at } of readBinlogFile(file, { chunkSize: 64 })) {
      seen.push(ev.type);
      offsets.push(at);
      assert.equal(ev.position?.file, "mysql-bin.000001");
    }
    for (const e of events) {
      assert.equal(offsets.shift(), offset);
      offset += e.length;
    }
    assert.equal(seen.length, 24);
    assert.equal(seen.filter((t) => t === "rows").length, 4);
    // start in the middle: the FORMAT_DESCRIPTION is still read first, then the chosen event
    const start = 4 + events.slice(0, 10).reduce((a, e) => a + e.length, 0);
    const fromMiddle: [string, number][] = [];
    for await (const { event: ev, offset: at } of readBinlogFile(file, {
      startOffset: start,
      chunkSize: 100,
    })) {
      fromMiddle.push([ev.type, at]);
    }
    assert.deepEqual(fromMiddle[0], ["format_description", 4]);
    assert.deepEqual(fromMiddle[1], ["table_map", start]);
    assert.equal(fromMiddle.length, 1 + 24 - 10);
    writeFileSync(file, Buffer.concat([BINLOG_MAGIC, ...events]).subarray(0, 500));
    await assert.rejects(async () => {
      for await (const _ of readBinlogFile(file)) {
        // drain
      }
    }, /truncated/);
    writeFileSync(file, Buffer.from("not a binlog"));
    await assert.rejects(async () => {
      for await (const _ of readBinlogFile(file)) {
        // drain
      }
    }, /bad magic/);
  });
});
