// Live check of MariaDB's compressed columns (VARCHAR/VARBINARY/TEXT/BLOB ... COMPRESSED) against
// a private MariaDB (test/harness/mariadb.ts): a table with every compressed column kind and a
// twin table without COMPRESSED get the same inserts (compressed, stored uncompressed, empty,
// NULL, zlib-wrapped, values over 64 KiB, incompressible ones), updates (also MINIMAL and NOBLOB
// row images) and deletes. Decoded from the binlog files, from the live dump (BinlogReader) and
// by `sluice binlog`, every value equals what the `mariadb` client prints for a SELECT, and the
// compressed table's columns and values equal its twin's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type BinlogEvent, type ColumnInfo, readBinlogFile } from "../../src/server/binlog/index.js";
import { BinlogReader } from "../../src/server/parse/binlog-reader.js";
import { parseSourceUrl } from "../../src/server/replication/source.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";

const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** How the client's output is compared: hex of the utf8mb4 text, its MD5, hex or MD5 of the bytes. */
type Probe = "text" | "md5text" | "hex" | "md5";
/** name, SQL type, compressed in the first table, probe. */
const COLUMNS: [string, string, boolean, Probe][] = [
  ["vu8", "VARCHAR(300) CHARACTER SET utf8mb4", true, "text"],
  ["vl1", "VARCHAR(100) CHARACTER SET latin1", true, "text"],
  ["v255", "VARCHAR(255) CHARACTER SET latin1", true, "text"],
  ["v254", "VARCHAR(254) CHARACTER SET latin1", true, "text"],
  ["vu16", "VARCHAR(50) CHARACTER SET utf16", true, "text"],
  ["vbin", "VARBINARY(200)", true, "hex"],
  ["plain", "VARCHAR(10) CHARACTER SET utf16", false, "text"],
  ["tt", "TINYTEXT CHARACTER SET utf8mb4", true, "text"],
  ["t", "TEXT CHARACTER SET utf8mb4", true, "md5text"],
  ["mt", "MEDIUMTEXT CHARACTER SET latin1", true, "md5text"],
  ["lt", "LONGTEXT CHARACTER SET utf8mb4", true, "md5text"],
  ["tb", "TINYBLOB", true, "hex"],
  ["b", "BLOB", true, "md5"],
  ["mb", "MEDIUMBLOB", true, "md5"],
  ["lb", "LONGBLOB", true, "md5"],
  ["c", "CHAR(3) CHARACTER SET ucs2", false, "text"],
];
const NAMES = COLUMNS.map(([n]) => n);

/** Compressible values over the column's compression threshold (100 bytes). */
const LONG = `(1, REPEAT('é', 300), REPEAT('a', 100), REPEAT('b', 255), REPEAT('c', 254), REPEAT('ü', 50),
  REPEAT(X'00FF', 100), 'x', REPEAT('ŝ', 127), REPEAT('naïve 😀 ', 2000), REPEAT('Ÿ€', 40000),
  REPEAT('日本語', 100000), REPEAT(X'AB', 255), REPEAT(X'CD', 60000), REPEAT(X'EF', 100000),
  REPEAT(X'A5', 1048576), 'z')`;
/** Short values: stored uncompressed. */
const SHORT = `(2, 'abc 😀', 'Ÿ€ señor', 'b', 'c', 'ü', X'00', 'y', 'ŝ', 'naïve', 'Ÿ', '日', X'01', X'02', X'03', X'04', 'é')`;
const EMPTY = `(3, '', '', '', '', '', X'', '', '', '', '', '', X'', X'', X'', X'', '')`;
const NULLS = `(4${", NULL".repeat(COLUMNS.length)})`;
/** With column_compression_zlib_wrap=ON and a threshold of 1: zlib-wrapped streams, short values compressed. */
const WRAPPED = `(5, REPEAT('wrap ', 60), REPEAT('w', 30), REPEAT('€', 200), 'ww', REPEAT('ω', 40),
  REPEAT(X'0102', 80), 'w', REPEAT('w', 200), REPEAT('wrapped ', 8000), REPEAT('Ÿ', 70000),
  REPEAT('ω', 50000), REPEAT(X'77', 200), REPEAT(X'77', 65000), REPEAT(X'77', 70000),
  REPEAT(X'77', 300000), 'w')`;

describe("MariaDB live: compressed columns decode to the client's values", () => {
  let db: MariaDB;
  let files: string[];
  const events: BinlogEvent[] = [];
  // Incompressible values (stored uncompressed by MariaDB, however long), sent as parameters.
  const noise = {
    t: randomBytes(16_000).toString("base64"),
    mt: randomBytes(60_000).toString("base64"),
    tb: randomBytes(200),
    b: randomBytes(50_000),
    mb: randomBytes(70_000),
    lb: randomBytes(300_000),
  };

  before(async () => {
    db = await startMariaDB();
    // The statements' text is UTF-8 (the client's default here is utf8mb3, which has no emoji).
    const sql = (text: string) => db.cli(text, ["--default-character-set=utf8mb4"]);
    const ddl = (compressed: boolean) =>
      COLUMNS.map(([n, t, c]) => `\`${n}\` ${t}${compressed && c ? " COMPRESSED" : ""}`).join(", ");
    sql(
      `CREATE DATABASE z; CREATE TABLE z.cc (id INT PRIMARY KEY, ${ddl(true)}) CHARACTER SET utf8mb4; ` +
        `CREATE TABLE z.plain (id INT PRIMARY KEY, ${ddl(false)}) CHARACTER SET utf8mb4`,
    );
    for (const table of ["cc", "plain"]) {
      sql(
        `INSERT INTO z.${table} VALUES ${LONG}, ${SHORT}; INSERT INTO z.${table} VALUES ${EMPTY}, ${NULLS}`,
      );
      sql(
        `SET SESSION column_compression_zlib_wrap=ON, column_compression_threshold=1; INSERT INTO z.${table} VALUES ${WRAPPED}`,
      );
      await db.query(
        `INSERT INTO z.${table} (id, t, mt, tb, b, mb, lb, vu8) VALUES (6, ?, ?, ?, ?, ?, ?, ?)`,
        [noise.t, noise.mt, noise.tb, noise.b, noise.mb, noise.lb, "x".repeat(150)],
      );
      sql(
        `UPDATE z.${table} SET vu8 = CONCAT(LEFT(vu8, 10), '!'), t = REPEAT('updated ✓ ', 500), lb = NULL WHERE id IN (1, 2); ` +
          `UPDATE z.${table} SET vl1 = REPEAT('n', 100), b = REPEAT(X'00', 1000) WHERE id = 4; ` +
          `DELETE FROM z.${table} WHERE id = 3`,
      );
      sql(
        `SET SESSION binlog_row_image='MINIMAL'; UPDATE z.${table} SET mt = REPEAT('m', 5000), vbin = X'FF' WHERE id = 5; ` +
          `SET SESSION binlog_row_image='NOBLOB'; UPDATE z.${table} SET v254 = REPEAT('nb', 100) WHERE id = 1; ` +
          `SET SESSION binlog_row_image='FULL'; INSERT INTO z.${table} (id, v255) VALUES (7, REPEAT('i', 255))`,
      );
    }
    const compressions = db.cli("SHOW GLOBAL STATUS LIKE 'Column_compressions'").split("\t")[1];
    assert.ok(Number(compressions) > 10, `values were compressed (${compressions})`);
    db.cli("FLUSH BINARY LOGS");
    const names = readdirSync(db.dataDir)
      .filter((f) => /^mysql-bin\.\d+$/.test(f))
      .sort();
    files = names.slice(0, -1).map((f) => join(db.dataDir, f));
    for (const f of files) for await (const { event } of readBinlogFile(f)) events.push(event);
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

  function tableOf(table: string): ColumnInfo[] {
    const tm = events.find((e) => e.type === "table_map" && e.table.name === table);
    assert.ok(tm && tm.type === "table_map");
    return tm.table.columns;
  }

  /** The table's rows after every decoded change (MINIMAL/NOBLOB after images merged in). */
  function decodedState(table: string): Map<string, (string | null | undefined)[]> {
    const state = new Map<string, (string | null | undefined)[]>();
    for (const ev of rowsOf(table)) {
      if (ev.kind === "insert") for (const r of ev.rows) state.set(r[0] as string, r);
      else if (ev.kind === "update")
        for (const r of ev.rows) {
          const old = state.get(r.before[0] as string);
          assert.ok(old, `update of a known row ${r.before[0]}`);
          state.set(
            r.before[0] as string,
            old.map((v, i) => (r.after[i] === undefined ? v : r.after[i])),
          );
        }
      else for (const r of ev.rows) state.delete(r[0] as string);
    }
    return state;
  }

  test("the TABLE_MAP: compressed columns as their uncompressed twins (type, name, size, charset)", () => {
    const cc = tableOf("cc");
    const plain = tableOf("plain");
    const view = (c: ColumnInfo) => [
      c.name,
      c.type,
      c.typeName,
      c.length,
      c.jdbcType,
      c.charset,
      c.valueFormat,
    ];
    assert.deepEqual(cc.map(view), plain.map(view));
    COLUMNS.forEach(([name, , compressed], k) => {
      const col = cc[k + 1] as ColumnInfo;
      assert.equal(col.name, name);
      assert.equal(col.compressed ?? false, compressed, name);
      assert.equal(
        col.binlogType,
        compressed ? (col.type === 15 ? 141 : 140) : (plain[k + 1] as ColumnInfo).binlogType,
      );
    });
    const types = db
      .cli(
        "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='z' AND TABLE_NAME='plain' ORDER BY ORDINAL_POSITION",
      )
      .trim()
      .split("\n");
    assert.deepEqual(
      cc.map((c) => c.typeName),
      types.map((t) => t.replace("int(11)", "int")),
    );
  });

  test("every value of every row equals the client's output", () => {
    const state = decodedState("cc");
    const columns = tableOf("cc");
    const exprs = COLUMNS.map(([n, , , probe]) => {
      switch (probe) {
        case "text":
          return `HEX(CONVERT(\`${n}\` USING utf8mb4))`;
        case "md5text":
          return `MD5(CONVERT(\`${n}\` USING utf8mb4))`;
        case "hex":
          return `HEX(\`${n}\`)`;
        default:
          return `MD5(\`${n}\`)`;
      }
    });
    const lines = db
      .cli(`SELECT id, ${exprs.join(", ")} FROM z.cc ORDER BY id`)
      .split("\n")
      .filter((l) => l !== "");
    assert.equal(lines.length, state.size, "row count");
    let compared = 0;
    for (const line of lines) {
      const fields = line.split("\t");
      const row = state.get(fields[0] as string);
      assert.ok(row, `row ${fields[0]} decoded`);
      COLUMNS.forEach(([name, , , probe], k) => {
        const want = fields[k + 1] as string;
        const got = row[k + 1];
        const label = `row ${fields[0]} column ${name} (${(columns[k + 1] as ColumnInfo).typeName})`;
        if (want === "NULL") {
          assert.equal(got, null, label);
          return;
        }
        assert.equal(typeof got, "string", label);
        const v = got as string;
        const bytes = probe === "hex" || probe === "md5" ? Buffer.from(v, "base64") : Buffer.from(v, "utf8");
        const seen =
          probe === "text" || probe === "hex"
            ? bytes.toString("hex").toUpperCase()
            : createHash("md5").update(bytes).digest("hex");
        assert.equal(seen, want, label);
        compared++;
      });
    }
    // rows 1, 2 (lb NULL), 4 (vl1 and b set), 5, 6 (7 columns set), 7 (v255 set)
    assert.equal(compared, 15 + 15 + 2 + 16 + 7 + 1, `compared ${compared} values`);
  });

  test("the compressed table's row images equal its uncompressed twin's, one by one", () => {
    // (rows events split where their bytes add up to binlog_row_event_max_size, so the twins'
    // events may hold different numbers of rows: compare the images)
    const images = (table: string) => rowsOf(table).flatMap((e) => e.rows.map((r) => [e.kind, r]));
    const cc = images("cc");
    assert.equal(cc.length, 13);
    assert.deepEqual(cc, images("plain"));
    // MINIMAL and NOBLOB images leave columns out (undefined), compressed or not.
    const updates = rowsOf("cc").flatMap((e) => (e.kind === "update" ? e.rows : []));
    const minimal = updates.find((r) => r.before[0] === "5");
    assert.ok(minimal);
    assert.deepEqual(
      ["id", ...NAMES].filter((_, k) => minimal.after[k] !== undefined),
      ["vbin", "mt"],
    );
    const noblob = updates.find((r) => r.before[0] === "1" && r.before[8] === undefined);
    assert.ok(noblob);
    assert.deepEqual(
      NAMES.filter((_, k) => noblob.before[k + 1] === undefined),
      ["tt", "t", "mt", "lt", "tb", "b", "mb", "lb"],
    );
  });

  test("the replication stream decodes exactly the same values", async () => {
    const first = files[0]?.split("/").pop() as string;
    const live: BinlogEvent[] = [];
    const reader = new BinlogReader({
      source: parseSourceUrl(db.sourceUrl),
      start: { kind: "file", file: first, position: 4 },
      onEvent: (e) => live.push(e.event),
      onFatal: (e) => assert.fail(e),
    });
    await reader.start();
    try {
      const want = rowsOf("cc").concat(rowsOf("plain"));
      const liveRows = () =>
        live.filter((e) => e.type === "rows" && (e.table.name === "cc" || e.table.name === "plain"));
      const deadline = Date.now() + 30_000;
      while (liveRows().length < want.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const got = liveRows() as typeof want;
      assert.equal(got.length, want.length);
      const key = (e: (typeof want)[number]) => `${e.table.name} ${e.header.logPos}`;
      const byPos = new Map(want.map((e) => [key(e), e]));
      for (const e of got) {
        const w = byPos.get(key(e));
        assert.ok(w, `live event ${key(e)} is in the files`);
        assert.deepEqual(e.rows, w.rows, key(e));
        const view = (c: ColumnInfo) => [
          c.name,
          c.type,
          c.compressed,
          c.typeName,
          c.jdbcType,
          c.charset,
          c.length,
        ];
        assert.deepEqual(e.table.columns.map(view), w.table.columns.map(view));
      }
    } finally {
      await reader.stop();
    }
  });

  test("`sluice binlog` prints the rows with the decoder's values and the twins' mysqlType", () => {
    const r = spawnSync(process.execPath, [SLUICE, "binlog", ...files], {
      encoding: "utf8",
      maxBuffer: 512 << 20,
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((l) => l.database === "z" && !l.isDdl);
    const of = (table: string) => lines.filter((l) => l.table === table);
    const cc = of("cc");
    const want = rowsOf("cc");
    assert.deepEqual(
      cc.map((l) => l.type),
      want.map((e) => e.kind.toUpperCase()),
    );
    cc.forEach((line, i) => {
      const ev = want[i] as (typeof want)[number];
      const images = ev.kind === "update" ? ev.rows.map((r) => r.after) : ev.rows;
      assert.equal(line.data.length, images.length);
      images.forEach((img, j) => {
        const data = line.data[j] as Record<string, string | null>;
        ["id", ...NAMES].forEach((name, k) => {
          if (img[k] === undefined) assert.ok(!(name in data), `${name} omitted`);
          else assert.equal(data[name], img[k], `event ${i} row ${j} ${name}`);
        });
      });
    });
    assert.deepEqual(cc[0].mysqlType, of("plain")[0].mysqlType);
    assert.deepEqual(cc[0].sqlType, of("plain")[0].sqlType);
    assert.equal(cc[0].mysqlType.vu8, "varchar(300)");
    assert.equal(cc[0].mysqlType.lb, "longblob");
  });
});
