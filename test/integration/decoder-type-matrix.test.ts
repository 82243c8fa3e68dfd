// Live check against a private MariaDB (test/harness/mariadb.ts): a table with every MariaDB
// type, rows with extremes, zero dates, NULLs, multi-byte text, a 1 MB blob; the binlog FILE
// is decoded and every value compared with what the `mariadb` client prints for a SELECT.
// Also: binlog_row_image=MINIMAL and NOBLOB give `undefined` for absent columns.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { toBinary } from "@bufbuild/protobuf";
import { EntrySchema } from "../../src/gen/sluice/v1/entry_pb.js";
import {
  type BinlogEvent,
  type ColumnInfo,
  type ProvidedColumn,
  readBinlogFile,
  type SchemaProvider,
} from "../../src/server/binlog/index.js";
import { EntryEncoder } from "../../src/server/encode/entry-encoder.js";
import { BinlogReader, type SourceEvent } from "../../src/server/parse/binlog-reader.js";
import { EntryBuilder } from "../../src/server/parse/entry-builder.js";
import { parseSourceUrl } from "../../src/server/replication/source.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";

const TZ = "+05:30";

/** Column definitions: name, SQL type, and how the client should print it for comparison. */
type Probe = "plain" | "hex" | "text" | "md5" | "bit";
const COLUMNS: [string, string, Probe][] = [
  ["ti", "TINYINT", "plain"],
  ["tiu", "TINYINT UNSIGNED", "plain"],
  ["si", "SMALLINT", "plain"],
  ["siu", "SMALLINT UNSIGNED", "plain"],
  ["mi", "MEDIUMINT", "plain"],
  ["miu", "MEDIUMINT UNSIGNED", "plain"],
  ["i", "INT", "plain"],
  ["iu", "INT UNSIGNED", "plain"],
  ["bi", "BIGINT", "plain"],
  ["biu", "BIGINT UNSIGNED", "plain"],
  ["d65", "DECIMAL(65,30)", "plain"],
  ["d10", "DECIMAL(10,0)", "plain"],
  ["d55", "DECIMAL(5,5)", "plain"],
  ["d3010", "DECIMAL(30,10)", "plain"],
  ["d6538", "DECIMAL(65,38) UNSIGNED", "plain"],
  ["f", "FLOAT", "plain"],
  ["dbl", "DOUBLE", "plain"],
  ["f72", "FLOAT(7,2)", "plain"],
  ["d103", "DOUBLE(10,3)", "plain"],
  ["b1", "BIT(1)", "bit"],
  ["b8", "BIT(8)", "bit"],
  ["b10", "BIT(10)", "bit"],
  ["b33", "BIT(33)", "bit"],
  ["b64", "BIT(64)", "bit"],
  ["y", "YEAR", "plain"],
  ["dt0", "DATE", "plain"],
  ["tm0", "TIME", "plain"],
  ["tm1", "TIME(1)", "plain"],
  ["tm2", "TIME(2)", "plain"],
  ["tm3", "TIME(3)", "plain"],
  ["tm4", "TIME(4)", "plain"],
  ["tm5", "TIME(5)", "plain"],
  ["tm6", "TIME(6)", "plain"],
  ["dtm0", "DATETIME", "plain"],
  ["dtm1", "DATETIME(1)", "plain"],
  ["dtm2", "DATETIME(2)", "plain"],
  ["dtm3", "DATETIME(3)", "plain"],
  ["dtm4", "DATETIME(4)", "plain"],
  ["dtm5", "DATETIME(5)", "plain"],
  ["dtm6", "DATETIME(6)", "plain"],
  ["ts0", "TIMESTAMP NULL", "plain"],
  ["ts1", "TIMESTAMP(1) NULL", "plain"],
  ["ts2", "TIMESTAMP(2) NULL", "plain"],
  ["ts3", "TIMESTAMP(3) NULL", "plain"],
  ["ts4", "TIMESTAMP(4) NULL", "plain"],
  ["ts5", "TIMESTAMP(5) NULL", "plain"],
  ["ts6", "TIMESTAMP(6) NULL", "plain"],
  ["c10", "CHAR(10) CHARACTER SET utf8mb4", "text"],
  ["vc300", "VARCHAR(300) CHARACTER SET utf8mb4", "text"],
  ["txt", "TEXT CHARACTER SET utf8mb4", "text"],
  ["tt", "TINYTEXT CHARACTER SET utf8mb4", "text"],
  ["mt", "MEDIUMTEXT CHARACTER SET utf8mb4", "text"],
  ["lt", "LONGTEXT CHARACTER SET utf8mb4", "text"],
  ["vc3", "VARCHAR(20) CHARACTER SET utf8mb3", "text"],
  ["cl1", "CHAR(5) CHARACTER SET latin1", "text"],
  ["vl1", "VARCHAR(20) CHARACTER SET latin1", "text"],
  ["vucs2", "VARCHAR(10) CHARACTER SET ucs2", "text"],
  ["cucs2", "CHAR(4) CHARACTER SET ucs2", "text"],
  ["vu16", "VARCHAR(10) CHARACTER SET utf16", "text"],
  ["vu16le", "VARCHAR(10) CHARACTER SET utf16le", "text"],
  ["vu32", "VARCHAR(10) CHARACTER SET utf32", "text"],
  ["cu32", "CHAR(3) CHARACTER SET utf32", "text"],
  ["vgbk", "VARCHAR(10) CHARACTER SET gbk", "text"],
  ["vsjis", "VARCHAR(10) CHARACTER SET sjis", "text"],
  ["vbig5", "VARCHAR(10) CHARACTER SET big5", "text"],
  ["veuckr", "VARCHAR(10) CHARACTER SET euckr", "text"],
  ["vcp1251", "VARCHAR(10) CHARACTER SET cp1251", "text"],
  ["vlatin2", "VARCHAR(10) CHARACTER SET latin2", "text"],
  ["vkoi8r", "VARCHAR(10) CHARACTER SET koi8r", "text"],
  ["vgreek", "VARCHAR(10) CHARACTER SET greek", "text"],
  ["vbin", "VARCHAR(20) CHARACTER SET binary", "hex"],
  ["bn8", "BINARY(8)", "hex"],
  ["vb20", "VARBINARY(20)", "hex"],
  ["tb", "TINYBLOB", "hex"],
  ["bl", "BLOB", "hex"],
  ["mb", "MEDIUMBLOB", "md5"],
  ["lb", "LONGBLOB", "hex"],
  ["en", "ENUM('a','b,c','d''e','ü')", "text"],
  ["st", "SET('x','y','z','ü')", "text"],
  ["js", "JSON", "text"],
  ["geo", "GEOMETRY", "hex"],
  ["pt", "POINT", "hex"],
  ["uu", "UUID", "plain"],
  ["i4", "INET4", "plain"],
  ["i6", "INET6", "plain"],
];

const MAX = `(1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
  99999999999999999999999999999999999.999999999999999999999999999999, 9999999999, 0.99999, 99999999999999999999.9999999999,
  999999999999999999999999999.99999999999999999999999999999999999999,
  3.4028234e38, 1.7976931348623157e308, 99999.99, 9999999.999,
  b'1', b'11111111', b'1111111111', b'111111111111111111111111111111111', b'1111111111111111111111111111111111111111111111111111111111111111',
  2155, '9999-12-31', '838:59:59', '838:59:58.9', '838:59:58.99', '838:59:58.999', '838:59:58.9999', '838:59:58.99999', '838:59:58.999999',
  '9999-12-31 23:59:59', '9999-12-31 23:59:59.9', '9999-12-31 23:59:59.99', '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.9999', '9999-12-31 23:59:59.99999', '9999-12-31 23:59:59.999999',
  '2038-01-19 08:44:07', '2038-01-19 08:44:07.9', '2038-01-19 08:44:07.99', '2038-01-19 08:44:07.999', '2038-01-19 08:44:07.9999', '2038-01-19 08:44:07.99999', '2038-01-19 08:44:07.999999',
  'abc', REPEAT('é', 300), 'text 😀 emoji', 'tiny', 'medium', 'long', 'ŝnow ☃', 'café', 'Ÿ€ señor', 'héllo', 'ab', 'a😀b', 'x😀', '😀', 'ab',
  '中文', 'ｶﾀｶﾅ', '中文', '한국', 'Привет', 'Łódź', 'Привет', 'Ελλάδα',
  X'00FF00', X'DEADBEEF', X'0102030000', X'00', X'CAFEBABE', REPEAT(X'A5', 1048576), X'',
  'd''e', 'x,z,ü', '{"b": 1, "a": [1, 2.5, "x"]}', ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'), ST_GeomFromText('POINT(1 2)'),
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')`;

const MIN = `(2, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -99999999999999999999999999999999999.999999999999999999999999999999, -9999999999, -0.99999, -0.0000000001,
  0.00000000000000000000000000000000000001,
  -3.4028234e38, -1.7976931348623157e308, -99999.99, -9999999.999,
  b'0', b'0', b'0', b'0', b'1000000000000000000000000000000000000000000000000000000000000001',
  1901, '1000-01-01', '-838:59:59', '-838:59:58.9', '-838:59:58.99', '-838:59:58.999', '-838:59:58.9999', '-838:59:58.99999', '-838:59:58.999999',
  '1000-01-01 00:00:00', '1000-01-01 00:00:00.1', '1000-01-01 00:00:00.01', '1000-01-01 00:00:00.001', '1000-01-01 00:00:00.0001', '1000-01-01 00:00:00.00001', '1000-01-01 00:00:00.000001',
  '1970-01-01 05:30:01', '1970-01-01 05:30:01.1', '1970-01-01 05:30:01.01', '1970-01-01 05:30:01.001', '1970-01-01 05:30:01.0001', '1970-01-01 05:30:01.00001', '1970-01-01 05:30:01.000001',
  '', '', '', '', '', '', '', '', '', '', '', '', '', '', '',
  '', '', '', '', '', '', '', '',
  X'', X'', X'', X'', X'', X'', NULL,
  '', '', '[]', ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(-1.5 1e-300)'),
  '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::')`;

const MIXED = `(3, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1,
  -0.000000000000000000000000000001, 0, 0, -12345678901234567.0123456789,
  1.5,
  0.1, 0.1, 1.5, 2.25,
  b'1', b'10100101', b'1000000001', b'100000000000000000000000000000001', b'0111111111111111111111111111111111111111111111111111111111111111',
  0, '2024-02-29', '-00:00:00.5', '-01:02:03.4', '12:34:56.78', '-00:00:01.001', '100:00:00.0001', '-00:00:00.00001', '-00:00:00.000001',
  '2024-06-15 12:34:56', '2024-06-15 12:34:56.5', '2024-06-15 12:34:56.05', '2024-06-15 12:34:56.789', '2024-06-15 12:34:56.0789', '2024-06-15 12:34:56.00001', '2024-06-15 12:34:56.123456',
  '2024-03-31 02:30:00', '2024-06-15 12:34:56.5', '2024-06-15 12:34:56.05', '2024-06-15 12:34:56.789', '2024-06-15 12:34:56.0789', '2024-06-15 12:34:56.00001', '2024-06-15 12:34:56.123456',
  'a  ', 'tab\\there\\nnewline \\\\ back', 'quote '' and "dq"', ' lead', 'x', 'y', 'ü', ' a ', 'a b', 'é', 'é', 'é', 'é', 'é', '€',
  '中', 'ア', '中', '한', 'я', 'ż', 'я', 'ω',
  X'FF', X'0000000000000001', X'00', X'FF00', X'00FF', X'', X'00',
  'ü', '', '{"k": "\\\\u0001\\\\"\\\\\\\\\\\\n", "n": -1.5e-7, "big": 18446744073709551615, "neg": -9223372036854775808, "f": 1e300, "o": {}, "a": [[], {"x": null}]}',
  NULL, NULL,
  '6ccd780c-baba-1026-9564-5b8c656024db', '10.0.0.1', '2001:db8::ff00:42:8329')`;

const ZERO = `(4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  b'0', b'0', b'0', b'0', b'0',
  0, '0000-00-00', '00:00:00', '00:00:00', '00:00:00', '00:00:00', '00:00:00', '00:00:00', '00:00:00',
  '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00',
  '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00',
  'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero',
  'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero', 'zero',
  X'00', X'00', X'00', X'00', X'00', X'00', X'00',
  'a', 'x', 'null', ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(0 0)'),
  '00000000-0000-0000-0000-000000000001', '1.2.3.4', '::ffff:1.2.3.4')`;

const NULLS = `(5${", NULL".repeat(COLUMNS.length)})`;

const MORE_FLOATS: [number, string, string][] = [
  // id, FLOAT literal, DOUBLE literal
  [10, "1.25", "-2.5"],
  [11, "1e20", "1e20"],
  [12, "1e-7", "1e-7"],
  [13, "123456.5", "123456789012345678"],
  [14, "1234567", "1e15"],
  [15, "1e-14", "1e-14"],
  [16, "1e-15", "1e-15"],
  [17, "1e16", "1e16"],
  [18, "0.3", "123456789012345.6"],
  [19, "16777217", "0.30000000000000004"],
  [20, "-0.000123456789", "5e-324"],
  [21, "9.999999e-39", "2.2250738585072014e-308"],
  [22, "2.5e-5", "1e-16"],
  [23, "100", "1e100"],
  [24, "12345.675", "4.35"],
];

describe("MariaDB live: decoded binlog values equal the client's SELECT output", () => {
  /** What the replication test read, for the encoding test after it. */
  const liveSource: SourceEvent[] = [];
  let liveFlavor: "mysql" | "mariadb" = "mariadb";
  let db: MariaDB;
  const events: BinlogEvent[] = [];
  let provider: SchemaProvider;

  before(async () => {
    db = await startMariaDB({ extraArgs: [`--default-time-zone=${TZ}`] });
    const ddl = COLUMNS.map(([n, t]) => `\`${n}\` ${t}`).join(",\n  ");
    db.cli(
      `CREATE DATABASE t; CREATE TABLE t.all_types (id INT PRIMARY KEY,\n  ${ddl}) CHARACTER SET utf8mb4`,
    );
    db.cli(
      `SET SESSION sql_mode=''; INSERT INTO t.all_types VALUES ${MAX}, ${MIN}, ${MIXED}; INSERT INTO t.all_types VALUES ${ZERO}; INSERT INTO t.all_types VALUES ${NULLS};`,
    );
    for (const [id, f, d] of MORE_FLOATS)
      db.cli(
        `SET SESSION sql_mode=""; INSERT INTO t.all_types (id, f, dbl, f72, d103) VALUES (${id}, ${f}, ${d}, ${f}, ${d})`,
      );
    db.cli("UPDATE t.all_types SET vc300 = 'updated', i = i + 1 WHERE id IN (3, 4)");
    db.cli("DELETE FROM t.all_types WHERE id = 24");
    // row images: MINIMAL and NOBLOB
    db.cli("CREATE TABLE t.img (id INT PRIMARY KEY, a INT, b VARCHAR(10), c TEXT, d BLOB)");
    db.cli(
      "INSERT INTO t.img VALUES (1, 1, 'x', 'text', X'00'); " +
        "SET SESSION binlog_row_image='MINIMAL'; UPDATE t.img SET a = 2 WHERE id = 1; INSERT INTO t.img (id, b) VALUES (2, 'y'); DELETE FROM t.img WHERE id = 2; " +
        "SET SESSION binlog_row_image='NOBLOB'; UPDATE t.img SET a = 3 WHERE id = 1; INSERT INTO t.img (id) VALUES (3);",
    );
    db.cli("FLUSH BINARY LOGS");

    const cols = (await db.query(
      "SELECT TABLE_SCHEMA s, TABLE_NAME t, COLUMN_NAME n, COLUMN_TYPE ct, CHARACTER_SET_NAME cs, COLLATION_NAME co, COLUMN_KEY k " +
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 't' ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )) as { s: string; t: string; n: string; ct: string; cs: string | null; co: string | null; k: string }[];
    const tables = new Map<string, ProvidedColumn[]>();
    for (const c of cols) {
      const key = `${c.s}.${c.t}`;
      if (!tables.has(key)) tables.set(key, []);
      tables
        .get(key)
        ?.push({ name: c.n, columnType: c.ct, charset: c.cs, collation: c.co, isKey: c.k === "PRI" });
    }
    provider = { getTable: (s, t) => ({ columns: tables.get(`${s}.${t}`) ?? [] }) };

    const files = readdirSync(db.dataDir)
      .filter((f) => /^mysql-bin\.\d+$/.test(f))
      .sort();
    for (const f of files) {
      for await (const { event } of readBinlogFile(join(db.dataDir, f), {
        schemaProvider: provider,
        timeZone: TZ,
      })) {
        events.push(event);
      }
    }
  });

  after(async () => {
    await db?.stop();
  });

  function rowsOf(table: string) {
    return events.filter((e) => e.type === "rows" && e.table.name === table) as Extract<
      BinlogEvent,
      { type: "rows" }
    >[];
  }

  /** What the decoder gives for the current contents: inserts, then updates applied. */
  function decodedState(): Map<string, (string | null | undefined)[]> {
    const state = new Map<string, (string | null | undefined)[]>();
    for (const ev of rowsOf("all_types")) {
      if (ev.kind === "insert") for (const r of ev.rows) state.set(r[0] as string, r);
      else if (ev.kind === "update")
        for (const r of ev.rows) {
          state.delete(r.before[0] as string);
          state.set(r.after[0] as string, r.after);
        }
      else for (const r of ev.rows) state.delete(r[0] as string);
    }
    return state;
  }

  test("the binlog decodes: MariaDB flavour, GTIDs, annotate rows, table maps", () => {
    const fd = events.find((e) => e.type === "format_description");
    assert.ok(fd && fd.type === "format_description");
    assert.equal(fd.flavor, "mariadb");
    assert.ok(events.some((e) => e.type === "mariadb_gtid"));
    assert.ok(events.some((e) => e.type === "mariadb_gtid_list"));
    assert.ok(events.some((e) => e.type === "binlog_checkpoint"));
    assert.ok(events.some((e) => e.type === "rows_query"));
    assert.ok(!events.some((e) => e.type === "unknown"));
    const tm = events.find((e) => e.type === "table_map" && e.table.name === "all_types");
    assert.ok(tm && tm.type === "table_map");
    assert.equal(tm.table.metadataSource, "binlog-full");
    const by = Object.fromEntries(tm.table.columns.map((c) => [c.name, c]));
    assert.equal(by.uu?.extendedType, "uuid");
    assert.equal(by.f72?.scale, 2);
    assert.equal(by.biu?.unsigned, true);
    assert.deepEqual(tm.table.primaryKey, [0]);
  });

  test("every value of every row equals the client's output", () => {
    const state = decodedState();
    const tm = events.find((e) => e.type === "table_map" && e.table.name === "all_types");
    assert.ok(tm && tm.type === "table_map");
    const columns = tm.table.columns;
    const exprs = COLUMNS.map(([n, , probe]) => {
      switch (probe) {
        case "hex":
          return `HEX(\`${n}\`)`;
        case "md5":
          return `MD5(\`${n}\`)`;
        case "text":
          return `HEX(CONVERT(\`${n}\` USING utf8mb4))`;
        case "bit":
          return `\`${n}\` + 0`;
        default:
          return `\`${n}\``;
      }
    });
    const out = db.cli(`SELECT id, ${exprs.join(", ")} FROM t.all_types ORDER BY id`);
    const lines = out.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, state.size, "row count");
    let compared = 0;
    for (const line of lines) {
      const fields = line.split("\t");
      const id = fields[0] as string;
      const row = state.get(id);
      assert.ok(row, `row ${id} decoded`);
      COLUMNS.forEach(([name, , probe], k) => {
        const want = fields[k + 1] as string;
        const col = columns[k + 1] as ColumnInfo;
        const got = row[k + 1];
        const label = `row ${id} column ${name} (${col.typeName})`;
        if (want === "NULL") {
          assert.equal(got, null, label);
          return;
        }
        assert.equal(typeof got, "string", label);
        const v = got as string;
        switch (probe) {
          case "hex":
            assert.equal(col.valueFormat, "base64", label);
            assert.equal(Buffer.from(v, "base64").toString("hex").toUpperCase(), want, label);
            break;
          case "md5":
            assert.equal(createHash("md5").update(Buffer.from(v, "base64")).digest("hex"), want, label);
            break;
          case "text":
            assert.equal(
              Buffer.from(v, "utf8").toString("hex").toUpperCase(),
              want,
              `${label}: ${JSON.stringify(v)}`,
            );
            break;
          default:
            assert.equal(v, want, label);
        }
        compared++;
      });
    }
    assert.ok(compared > 350, `compared ${compared} values`);
  });

  test("the replication stream decodes exactly the same values (server's zone, information_schema lookups)", async () => {
    const first = readdirSync(db.dataDir)
      .filter((f) => /^mysql-bin\.\d+$/.test(f))
      .sort()[0] as string;
    const live: BinlogEvent[] = [];
    const reader = new BinlogReader({
      source: parseSourceUrl(db.sourceUrl),
      start: { kind: "file", file: first, position: 4 },
      onEvent: (e) => {
        live.push(e.event);
        liveSource.push(e);
      },
      onFatal: (e) => assert.fail(e),
    });
    await reader.start();
    try {
      const want = rowsOf("all_types").concat(rowsOf("img"));
      const liveRows = () =>
        live.filter((e) => e.type === "rows" && (e.table.name === "all_types" || e.table.name === "img"));
      const deadline = Date.now() + 30_000;
      while (liveRows().length < want.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(reader.serverInfo?.timeZone, TZ, "TIMESTAMP zone detected from the server");
      liveFlavor = reader.serverInfo?.flavor ?? "mariadb";
      const got = liveRows() as typeof want;
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) {
        assert.deepEqual(
          got[i]?.rows,
          want[i]?.rows,
          `rows event ${i} (${want[i]?.table.name} ${want[i]?.kind})`,
        );
        assert.deepEqual(
          got[i]?.table.columns.map((c) => [c.name, c.extendedType, c.jdbcType]),
          want[i]?.table.columns.map((c) => [c.name, c.extendedType, c.jdbcType]),
        );
      }
    } finally {
      await reader.stop();
    }
  });

  test("entries built from the replication stream encode to protobuf-es's bytes (the server's encoder)", () => {
    assert.ok(liveSource.length > 0, "the test before read the stream");
    const builder = new EntryBuilder({ flavor: liveFlavor });
    const encoder = new EntryEncoder();
    let rows = 0;
    for (const e of liveSource) {
      const entry = builder.build(e);
      if (!entry) continue;
      if (entry.payload.case === "rowChange") rows += entry.payload.value.rowDatas.length;
      const expected = Buffer.from(toBinary(EntrySchema, entry));
      assert.ok(encoder.encode(entry).equals(expected), `the entry of ${e.file}:${e.offset}`);
    }
    assert.ok(rows >= rowsOf("all_types").length, `row changes encoded: ${rows}`);
  });

  test("update pairs carry before and after images", () => {
    const upd = rowsOf("all_types").find((e) => e.kind === "update");
    assert.ok(upd && upd.kind === "update");
    assert.equal(upd.rows.length, 2);
    const r = upd.rows.find((x) => x.before[0] === "3");
    assert.ok(r);
    assert.equal(r.before[7], "-1");
    assert.equal(r.after[7], "0");
    assert.equal(r.after[49], "updated");
  });

  test("binlog_row_image MINIMAL and NOBLOB: absent columns are undefined", () => {
    const img = rowsOf("img");
    const [ins1, updMin, insMin, delMin, updNoblob, insNoblob] = img;
    assert.ok(ins1 && ins1.kind === "insert");
    assert.deepEqual(ins1.rows[0], ["1", "1", "x", "text", Buffer.from([0]).toString("base64")]);
    assert.ok(updMin && updMin.kind === "update");
    // MINIMAL: before image = primary key, after image = changed columns
    assert.deepEqual(updMin.rows[0]?.before, ["1", undefined, undefined, undefined, undefined]);
    assert.deepEqual(updMin.rows[0]?.after, [undefined, "2", undefined, undefined, undefined]);
    assert.ok(insMin && insMin.kind === "insert");
    // MINIMAL insert: only the columns given values (MariaDB logs the explicitly set ones)
    const ins = insMin.rows[0] ?? [];
    assert.equal(ins[0], "2");
    assert.equal(ins[2], "y");
    assert.ok(delMin && delMin.kind === "delete");
    assert.deepEqual(delMin.rows[0], ["2", undefined, undefined, undefined, undefined]);
    assert.ok(updNoblob && updNoblob.kind === "update");
    // NOBLOB: every column but the unchanged TEXT/BLOB ones
    assert.deepEqual(updNoblob.rows[0]?.before, ["1", "2", "x", undefined, undefined]);
    assert.deepEqual(updNoblob.rows[0]?.after, ["1", "3", "x", undefined, undefined]);
    assert.ok(insNoblob && insNoblob.kind === "insert");
    assert.equal(insNoblob.rows[0]?.[0], "3");
    assert.equal(insNoblob.rows[0]?.[1], null);
  });
});

describe("MariaDB live: compressed binlog events and the old 'hires' temporal format", () => {
  let db: MariaDB;
  const events: BinlogEvent[] = [];

  before(async () => {
    db = await startMariaDB({
      extraArgs: ["--log-bin-compress=ON", "--log-bin-compress-min-len=10", "--mysql56-temporal-format=OFF"],
    });
    db.cli(
      "CREATE DATABASE z; CREATE TABLE z.t (id INT PRIMARY KEY, t0 TIME, t3 TIME(3), t6 TIME(6), d0 DATETIME, " +
        "d2 DATETIME(2), d6 DATETIME(6), s0 TIMESTAMP NULL, s4 TIMESTAMP(4) NULL, s5 TIMESTAMP(5) NULL, v VARCHAR(200))",
    );
    db.cli(
      "SET time_zone='+00:00'; SET sql_mode=''; INSERT INTO z.t VALUES " +
        "(1, '-838:59:59', '-01:02:03.5', '12:34:56.123456', '2024-06-15 12:34:56', '2024-06-15 12:34:56.78', " +
        "'9999-12-31 23:59:59.999999', '2024-06-15 12:34:56', '2024-06-15 12:34:56.1234', '2024-06-15 12:34:56.12345', REPEAT('héllo ', 20)), " +
        "(2, '00:00:00', '-00:00:00.001', '-838:59:58.999999', '0000-00-00 00:00:00', '1000-01-01 00:00:00.01', " +
        "'2000-01-01 00:00:00.000001', '1970-01-01 00:00:01', '2038-01-19 03:14:07.9999', NULL, 'x'); " +
        "UPDATE z.t SET v = CONCAT(v, '!'); DELETE FROM z.t WHERE id = 2",
    );
    db.cli("FLUSH BINARY LOGS");
    const cols = (await db.query(
      "SELECT TABLE_NAME t, COLUMN_NAME n, COLUMN_TYPE ct, CHARACTER_SET_NAME cs FROM information_schema.COLUMNS " +
        "WHERE TABLE_SCHEMA = 'z' ORDER BY ORDINAL_POSITION",
    )) as { t: string; n: string; ct: string; cs: string | null }[];
    const provider: SchemaProvider = {
      getTable: (s, t) =>
        s === "z"
          ? {
              columns: cols
                .filter((c) => c.t === t)
                .map((c) => ({ name: c.n, columnType: c.ct, charset: c.cs })),
            }
          : undefined,
    };
    const files = readdirSync(db.dataDir)
      .filter((f) => /^mysql-bin\.\d+$/.test(f))
      .sort();
    for (const f of files) {
      for await (const { event } of readBinlogFile(join(db.dataDir, f), {
        schemaProvider: provider,
        timeZone: "+00:00",
      })) {
        events.push(event);
      }
    }
  });

  after(async () => {
    await db?.stop();
  });

  test("compressed query and rows events decode", () => {
    assert.ok(events.some((e) => e.type === "query" && e.compressed === true && e.statement === "ddl"));
    const rows = events.filter((e) => e.type === "rows");
    assert.deepEqual(
      rows.map((e) => [e.type === "rows" && e.kind, e.type === "rows" && e.compressed]),
      [
        ["insert", true],
        ["update", true],
        ["delete", true],
      ],
    );
  });

  test("values equal the client's output", () => {
    const upd = events.find((e) => e.type === "rows" && e.kind === "update");
    assert.ok(upd && upd.type === "rows" && upd.kind === "update");
    const out = db.cli(
      "SET time_zone='+00:00'; SELECT id, t0, t3, t6, d0, d2, d6, s0, s4, s5, HEX(CONVERT(v USING utf8mb4)) FROM z.t ORDER BY id",
    );
    const current = new Map(upd.rows.map((r) => [r.after[0], r.after]));
    const del = events.find((e) => e.type === "rows" && e.kind === "delete");
    assert.ok(del && del.type === "rows" && del.kind === "delete");
    for (const r of del.rows) current.delete(r[0]);
    const lines = out.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, current.size);
    for (const line of lines) {
      const f = line.split("\t");
      const row = current.get(f[0]);
      assert.ok(row);
      for (let k = 1; k < 10; k++) assert.equal(row[k] ?? "NULL", f[k], `column ${k}`);
      assert.equal(
        Buffer.from(row[10] as string, "utf8")
          .toString("hex")
          .toUpperCase(),
        f[10],
      );
    }
    const ins = events.find((e) => e.type === "rows" && e.kind === "insert");
    assert.ok(ins && ins.type === "rows" && ins.kind === "insert");
    assert.deepEqual(ins.rows[1]?.slice(0, 9), [
      "2",
      "00:00:00",
      "-00:00:00.001",
      "-838:59:58.999999",
      "0000-00-00 00:00:00",
      "1000-01-01 00:00:00.01",
      "2000-01-01 00:00:00.000001",
      "1970-01-01 00:00:01",
      "2038-01-19 03:14:07.9999",
    ]);
  });
});
