// Decodes every packet of the MySQL 8.4 fixtures (shared/fixtures/binlog) and checks every
// event type, the CRC handling and every column value against the SQL in the fixtures' README.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BinlogDecodeError,
  BinlogDecoder,
  type BinlogEvent,
  type RowsEvent,
} from "../../../src/server/binlog/index.js";
import { fixtureProvider, fixturesDir, loadFixture, named, type PacketFixture } from "./helpers.js";

const dir = fixturesDir();
const skip = dir === undefined ? "shared/fixtures/binlog not found beside the repository" : false;

const SUMMARY_TYPES: Record<string, BinlogEvent["type"]> = {
  Rotate: "rotate",
  Format: "format_description",
  Gtid: "gtid",
  Query: "query",
  TableMap: "table_map",
  WriteRows: "rows",
  UpdateRows: "rows",
  DeleteRows: "rows",
  Xid: "xid",
  RowsQuery: "rows_query",
  PreviousGtids: "previous_gtids",
};

/** The row the README's INSERT wrote (base64 for binary columns, MySQL's JSON text). */
const ROW1: Record<string, string | null> = {
  id: "1",
  i_big: "9223372036854775807",
  u_big: "18446744073709551615",
  dec_col: "-12345678901234567.0123456789",
  vc: "héllo wörld",
  ch: "abc",
  bin_col: Buffer.from("DEADBEEF", "hex").toString("base64"),
  vb: Buffer.from("0102", "hex").toString("base64"),
  txt: "text value",
  blb: Buffer.from("CAFE", "hex").toString("base64"),
  flt: "1.25",
  dbl: "-2.5",
  dt: "2024-06-15 12:34:56.789",
  ts: "2024-06-15 12:34:56",
  d: "2024-06-15",
  t: "-01:02:03.500",
  y: "2024",
  e: "b",
  e2: "c'd",
  s: "x,z",
  bt: "513",
  // MySQL stores object keys sorted by length, then bytes: a, d, arr, big
  js: '{"a": 1, "d": 1.5, "arr": ["x", true, null], "big": 9223372036854775807}',
  // SRID 0 (4 bytes LE) + WKB POINT(1 2) little-endian
  geo: Buffer.from("00000000" + "0101000000" + "000000000000f03f" + "0000000000000040", "hex").toString(
    "base64",
  ),
  txt_latin1: "café ñ",
  vc_latin1: "Ÿ€ señor",
  vc_ucs2: "héllo",
};

/** The capture server ran with binlog_row_image=NOBLOB: TEXT/BLOB columns are absent unless inserted. */
const NOBLOB_ABSENT = ["txt", "blb", "txt_latin1"];

function withAbsent(row: Record<string, string | null>): Record<string, string | null> {
  const out = { ...row };
  for (const c of NOBLOB_ABSENT) out[c] = "<absent>";
  return out;
}

function decodeAll(fx: PacketFixture, withProvider: boolean): BinlogEvent[] {
  const decoder = new BinlogDecoder({ schemaProvider: withProvider ? fixtureProvider(fx) : undefined });
  return fx.packets.map((hex, i) => {
    const packet = Buffer.from(hex, "hex");
    assert.equal(packet[0], 0x00, `packet ${i} starts with the OK byte`);
    return decoder.decode(packet.subarray(1), { file: "mysql-bin.000001", offset: i });
  });
}

function checkRows(events: BinlogEvent[]): void {
  const rows = events.filter((e): e is RowsEvent => e.type === "rows");
  assert.equal(rows.length, 4);
  const [ins, upd, del, ins3] = rows as [RowsEvent, RowsEvent, RowsEvent, RowsEvent];
  const cols = ins.table.columns;

  assert.equal(ins.kind, "insert");
  assert.equal(ins.rows.length, 1);
  if (ins.kind !== "insert") return;
  assert.deepEqual(named(cols, ins.rows[0] ?? []), ROW1);

  assert.equal(upd.kind, "update");
  if (upd.kind !== "update") return;
  assert.equal(upd.rows.length, 1);
  const pair = upd.rows[0];
  assert.ok(pair);
  assert.deepEqual(named(cols, pair.before), withAbsent(ROW1));
  assert.deepEqual(named(cols, pair.after), withAbsent({ ...ROW1, id: "2", vc: "updated" }));

  assert.equal(del.kind, "delete");
  if (del.kind !== "delete") return;
  assert.deepEqual(named(cols, del.rows[0] ?? []), withAbsent({ ...ROW1, id: "2", vc: "updated" }));

  assert.equal(ins3.kind, "insert");
  if (ins3.kind !== "insert") return;
  const allNull: Record<string, string | null> = {};
  for (const k of Object.keys(ROW1)) allNull[k] = null;
  assert.deepEqual(named(cols, ins3.rows[0] ?? []), withAbsent({ ...allNull, id: "3" }));
}

for (const name of ["mysql84.json", "mysql84-fullmeta.json"]) {
  describe(`fixture ${name}`, { skip }, () => {
    const fx = () => loadFixture(dir as string, name);

    test("every packet decodes to the event type in eventSummary", () => {
      const f = fx();
      const events = decodeAll(f, true);
      assert.equal(events.length, f.eventSummary.length);
      events.forEach((ev, i) => {
        const want = SUMMARY_TYPES[f.eventSummary[i] as string];
        assert.equal(ev.type, want, `packet ${i} (${f.eventSummary[i]})`);
        if (ev.type === "rows") {
          const kind = { WriteRows: "insert", UpdateRows: "update", DeleteRows: "delete" }[
            f.eventSummary[i] as string
          ];
          assert.equal(ev.kind, kind);
          assert.equal(ev.version, 2);
        }
      });
    });

    test("event details: rotate, format description, GTIDs, queries, XIDs", () => {
      const f = fx();
      const events = decodeAll(f, true);
      const fd = events[1];
      assert.ok(fd && fd.type === "format_description");
      assert.equal(fd.serverVersion, "8.4.8");
      assert.equal(fd.flavor, "mysql");
      assert.equal(fd.checksum, "crc32");
      const rot = events[0];
      assert.ok(rot && rot.type === "rotate");
      assert.equal(rot.artificial, true);
      assert.match(rot.nextFile, /^mysql-bin\.00000\d$/);
      const realRotate = events[25];
      assert.ok(realRotate && realRotate.type === "rotate");
      assert.equal(realRotate.artificial, false);
      assert.equal(realRotate.nextPosition, 4);
      const gtid = events[2];
      assert.ok(gtid && gtid.type === "gtid");
      assert.match(gtid.gtid, /^75029619-787e-11f1-88ef-6acb2cd49b0e:\d+$/);
      assert.equal(gtid.immediateServerVersion, 80408);
      const ddl = events[3];
      assert.ok(ddl && ddl.type === "query");
      assert.equal(ddl.statement, "ddl");
      assert.equal(ddl.schema, "zongji_fixture_capture");
      assert.match(ddl.sql, /^CREATE TABLE capture_types/);
      const begin = events[5];
      assert.ok(begin && begin.type === "query");
      assert.equal(begin.statement, "begin");
      assert.equal(begin.sql, "BEGIN");
      assert.equal(begin.timeZone, "+00:00");
      assert.equal(begin.charsetClient, 224);
      const xid = events[8];
      assert.ok(xid && xid.type === "xid");
      assert.equal(typeof xid.xid, "bigint");
      const rq = events[21];
      assert.ok(rq && rq.type === "rows_query");
      assert.equal(rq.query, "INSERT INTO capture_types (id) VALUES (3)");
      const prev = events[28];
      assert.ok(prev && prev.type === "previous_gtids");
      assert.match(prev.gtidSet, /^75029619-787e-11f1-88ef-6acb2cd49b0e:1-\d+$/);
    });

    test("every column value of every row matches the README's SQL", () => {
      checkRows(decodeAll(fx(), true));
    });

    test("table metadata: names, types, charsets, keys", () => {
      const events = decodeAll(fx(), true);
      const tm = events[6];
      assert.ok(tm && tm.type === "table_map");
      const t = tm.table;
      assert.equal(t.schema, "zongji_fixture_capture");
      assert.equal(t.name, "capture_types");
      assert.equal(t.columnCount, 26);
      const by = Object.fromEntries(t.columns.map((c) => [c.name, c]));
      assert.equal(by.u_big?.unsigned, true);
      assert.equal(by.i_big?.unsigned, false);
      assert.equal(by.y?.unsigned, true, "YEAR is part of MySQL's signedness bitmap");
      assert.equal(by.vc?.typeName, "varchar(20)");
      assert.equal(by.u_big?.typeName, "bigint unsigned");
      assert.equal(by.dec_col?.typeName, "decimal(30,10)");
      assert.equal(by.vc_latin1?.charset, "latin1");
      assert.equal(by.vc_ucs2?.charset, "ucs2");
      assert.equal(by.bin_col?.valueFormat, "base64");
      assert.equal(by.geo?.valueFormat, "base64");
      assert.equal(by.js?.valueFormat, "text");
      if (name === "mysql84-fullmeta.json") {
        assert.equal(t.metadataSource, "binlog-full");
        assert.deepEqual(t.primaryKey, [0]);
        assert.deepEqual(by.e2?.enumValues, ["a,b", "c'd", "plain"]);
        assert.deepEqual(by.s?.setValues, ["x", "y", "z"]);
        assert.equal(by.e2?.typeName, "enum('a,b','c''d','plain')");
      } else {
        assert.equal(t.metadataSource, "binlog-minimal");
        assert.equal(t.providerUsed, true);
      }
    });

    test("without a schema provider, the MINIMAL file still decodes what the bytes allow", () => {
      const f = fx();
      const events = decodeAll(f, false);
      const ins = events[7];
      assert.ok(ins && ins.type === "rows" && ins.kind === "insert");
      const row = ins.rows[0] ?? [];
      if (name === "mysql84.json") {
        assert.equal(row[17], "2", "ENUM as its index without labels");
        assert.equal(row[19], "5", "SET as its bitmask without labels");
        assert.equal(ins.table.columns[0]?.name, undefined);
      } else {
        assert.equal(row[17], "b");
      }
      assert.equal(row[4], "héllo wörld", "charsets come from MINIMAL metadata");
      assert.equal(row[24], "Ÿ€ señor");
    });

    test("a corrupted byte fails the CRC check with position and event type", () => {
      const f = fx();
      const decoder = new BinlogDecoder();
      for (let i = 0; i < 7; i++) decoder.decode(Buffer.from(f.packets[i] as string, "hex").subarray(1));
      const bad = Buffer.from(f.packets[7] as string, "hex").subarray(1);
      bad[40] = (bad[40] as number) ^ 0x01;
      assert.throws(
        () => decoder.decode(bad, { file: "mysql-bin.000001", offset: 1234 }),
        (err: unknown) => {
          assert.ok(err instanceof BinlogDecodeError);
          assert.equal(err.file, "mysql-bin.000001");
          assert.equal(err.offset, 1234);
          assert.equal(err.eventType, 30);
          assert.match(err.message, /CRC32 mismatch/);
          return true;
        },
      );
    });

    test("truncation, length mismatch and unknown table ids are errors, never values", () => {
      const f = fx();
      const decoder = new BinlogDecoder({ verifyChecksum: false });
      decoder.decode(Buffer.from(f.packets[1] as string, "hex").subarray(1));
      const rows = Buffer.from(f.packets[7] as string, "hex").subarray(1);
      // unknown table id: no TABLE_MAP decoded yet
      assert.throws(() => decoder.decode(rows), /unknown table id/);
      decoder.decode(Buffer.from(f.packets[6] as string, "hex").subarray(1));
      // length mismatch
      assert.throws(() => decoder.decode(rows.subarray(0, rows.length - 3)), /does not match/);
      // internally truncated: shrink event_size consistently
      const cut = Buffer.from(rows.subarray(0, 120));
      cut.writeUInt32LE(cut.length, 9);
      assert.throws(() => decoder.decode(cut), BinlogDecodeError);
    });
  });
}
