// `sluice binlog FILE...` on binlog files written by a real MariaDB.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";

const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function sluice(...args: string[]) {
  return spawnSync(process.execPath, [SLUICE, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
}

describe("sluice binlog", () => {
  let db: MariaDB;
  let files: string[];
  before(async () => {
    db = await startMariaDB();
    await db.query(
      "CREATE DATABASE shop; CREATE TABLE shop.o (id BIGINT UNSIGNED PRIMARY KEY, item VARCHAR(20), " +
        "price DECIMAL(10,2), at TIMESTAMP(3) NULL, raw VARBINARY(4))",
    );
    await db.query("SET time_zone = '+00:00'");
    await db.query(
      "INSERT INTO shop.o VALUES (18446744073709551615, 'kettle', 9.50, '2024-01-02 03:04:05.678', X'00FF'), (2, 'mug', NULL, NULL, NULL)",
    );
    await db.query("FLUSH BINARY LOGS");
    await db.query("UPDATE shop.o SET item = 'teapot' WHERE id = 2; DELETE FROM shop.o WHERE id = 2");
    await db.query("FLUSH BINARY LOGS");
    const logs = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    files = logs.slice(0, -1).map((l) => join(db.dataDir, l.Log_name));
  });
  after(async () => {
    await db?.stop();
  });

  test("prints one flat JSON line per row change across files, in order", () => {
    const r = sluice("binlog", ...files);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const rows = lines.filter((l) => l.database === "shop" && l.table === "o" && !l.isDdl);
    assert.deepEqual(
      rows.map((l) => l.type),
      ["INSERT", "UPDATE", "DELETE"],
    );
    const [insert, update, del] = rows;
    assert.deepEqual(insert.data, [
      {
        id: "18446744073709551615",
        item: "kettle",
        price: "9.50",
        at: "2024-01-02 03:04:05.678",
        raw: "AP8=",
      },
      { id: "2", item: "mug", price: null, at: null, raw: null },
    ]);
    assert.deepEqual(insert.pkNames, ["id"]);
    assert.equal(insert.mysqlType.id, "bigint unsigned");
    assert.equal(insert.old.length, 0, "every field is printed, also empty ones");
    assert.deepEqual(update.old, [{ item: "mug" }]);
    assert.equal(update.data[0].item, "teapot");
    assert.equal(del.data[0].id, "2");
    assert.match(insert.gtid, /^0-1-\d+$/);
    assert.ok(Number(update.logfileOffset) > 0);
    assert.notEqual(insert.logfileName, update.logfileName, "rows come from both files");
    const ddl = lines.find((l) => l.isDdl && l.type === "CREATE");
    assert.equal(ddl?.table, "o");
  });

  test("base64 values are marked: Column.base64 and FlatMessage.base64Columns", async () => {
    await db.query("FLUSH BINARY LOGS");
    await db.query(
      "CREATE TABLE shop.bytes (id INT PRIMARY KEY, b VARBINARY(8), t VARCHAR(8) CHARACTER SET swe7, " +
        "c VARCHAR(8) CHARACTER SET latin1, g POINT)",
    );
    await db.query(
      "INSERT INTO shop.bytes VALUES (1, X'0001', 'abc', 'abc', POINT(1, 2)), (2, NULL, NULL, NULL, NULL)",
    );
    await db.query("FLUSH BINARY LOGS");
    const logs = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    const file = join(db.dataDir, (logs.at(-2) as { Log_name: string }).Log_name);
    const flat = sluice("binlog", file);
    assert.equal(flat.status, 0, flat.stderr);
    const insert = flat.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((l) => l.table === "bytes" && l.type === "INSERT");
    assert.deepEqual(insert.base64Columns, ["b", "t", "g"]);
    assert.deepEqual(insert.data[0], { id: "1", b: "AAE=", t: "YWJj", c: "abc", g: insert.data[0].g });
    const entries = sluice("binlog", "--format", "entry", file);
    assert.equal(entries.status, 0, entries.stderr);
    const rows = entries.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((e) => e.header.tableName === "bytes" && e.rowChange?.rowDatas?.length > 0);
    const cols = (i: number) =>
      rows.rowChange.rowDatas[i].afterColumns.map((c: { name: string; base64?: boolean }) => [
        c.name,
        c.base64 ?? false,
      ]);
    const want = [
      ["id", false],
      ["b", true],
      ["t", true],
      ["c", false],
      ["g", true],
    ];
    assert.deepEqual(cols(0), want);
    assert.deepEqual(cols(1), want, "NULL values of a base64 column are marked too");
  });

  test("--format entry prints every entry, transactions framed", () => {
    const r = sluice("binlog", "--format", "entry", files[0] as string);
    assert.equal(r.status, 0, r.stderr);
    const types = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).entryType);
    const i = types.indexOf("ENTRY_TYPE_TRANSACTION_BEGIN");
    assert.deepEqual(types.slice(i, i + 3), [
      "ENTRY_TYPE_TRANSACTION_BEGIN",
      "ENTRY_TYPE_ROWDATA",
      "ENTRY_TYPE_TRANSACTION_END",
    ]);
  });

  test("canal filters narrow tables and columns; a bad filter is a usage error naming the field", async () => {
    const all = sluice("binlog", ...files);
    const onlyOthers = sluice("binlog", "--filter", "mysql\\..*", ...files);
    assert.equal(onlyOthers.status, 0, onlyOthers.stderr);
    assert.ok(!onlyOthers.stdout.includes('"table":"o"'));
    const black = sluice("binlog", "--black-filter", "shop\\.o", ...files);
    assert.ok(
      !black.stdout.split("\n").some((l) => l.includes('"table":"o"') && l.includes('"isDdl":false')),
    );
    assert.ok(all.stdout.split("\n").length > black.stdout.split("\n").length);
    const fields = sluice("binlog", "--field-filter", "shop.o:id/item", ...files);
    const insert = fields.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((l) => l.type === "INSERT");
    assert.deepEqual(Object.keys(insert.data[0]).sort(), ["id", "item"]);
    const bad = sluice("binlog", "--filter", "shop.(o", ...files);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /filter: "shop\.\(o" is not a valid regex/);
  });

  test("bad usage exits 2 with help; an unreadable file exits 1 naming it", () => {
    const none = sluice("binlog");
    assert.equal(none.status, 2);
    assert.match(none.stderr, /name at least one binlog file/);
    const bad = sluice("binlog", "--format", "xml", files[0] as string);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--format must be flat or entry/);
    const missing = sluice("binlog", "/nonexistent/mysql-bin.000001");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nonexistent\/mysql-bin\.000001/);
  });

  test("a truncated file stops with an error naming the file and offset", async () => {
    const { readFileSync, writeFileSync, mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const bytes = readFileSync(files[0] as string);
    const dir = mkdtempSync(join(tmpdir(), "sluice-trunc-"));
    const cut = join(dir, "mysql-bin.000001");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const r = sluice("binlog", cut);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /mysql-bin\.000001/);
    assert.match(r.stderr, /offset|truncated|\d+/);
  });
  test("events repeated or removed in a file stop it at the break, naming file and offset", async () => {
    const { readFileSync, writeFileSync, mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { readBinlogEvents } = await import("../../src/server/binlog/index.js");
    const source = files[0] as string;
    const bytes = readFileSync(source);
    // The rows events of the first file: the INSERT of two rows (one event).
    const rows: { offset: number; end: number }[] = [];
    for await (const raw of readBinlogEvents(source)) {
      const t = raw.bytes[4] as number;
      const span = { offset: raw.offset, end: raw.offset + raw.bytes.length };
      if (t === 23 || t === 30) rows.push(span);
    }
    const ev = rows.at(-1) as { offset: number; end: number };
    const dir = mkdtempSync(join(tmpdir(), "sluice-chain-"));
    const repeated = join(dir, "mysql-bin.000001");
    writeFileSync(
      repeated,
      Buffer.concat([bytes.subarray(0, ev.end), bytes.subarray(ev.offset, ev.end), bytes.subarray(ev.end)]),
    );
    const r1 = sluice("binlog", repeated);
    assert.equal(r1.status, 1);
    assert.match(
      r1.stderr,
      new RegExp(`mysql-bin\\.000001:${ev.end} WRITE_ROWS_V1_EVENT\\(23\\): .*repeats earlier bytes`),
    );
    assert.doesNotMatch(r1.stdout, /kettle.*kettle/s, "the rows are not printed twice");

    const removed = join(dir, "mysql-bin.000002");
    writeFileSync(removed, Buffer.concat([bytes.subarray(0, ev.offset), bytes.subarray(ev.end)]));
    const r2 = sluice("binlog", removed);
    assert.equal(r2.status, 1);
    assert.match(
      r2.stderr,
      new RegExp(`mysql-bin\\.000002:${ev.offset} XID_EVENT\\(16\\): .*skips ${ev.end - ev.offset} bytes`),
    );
  });

  test("an event length of 2^31 or more is a clean error, not a crash", async () => {
    const { readFileSync, writeFileSync, mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const bytes = Buffer.from(readFileSync(files[0] as string));
    const dir = mkdtempSync(join(tmpdir(), "sluice-huge-"));
    const path = join(dir, "mysql-bin.000001");
    // The FORMAT_DESCRIPTION's length field (at offset 4 + 9) says 2^32 - 1.
    bytes.writeUInt32LE(2 ** 32 - 1, 4 + 9);
    writeFileSync(path, bytes);
    const r = sluice("binlog", path);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /mysql-bin\.000001:4: event of 4294967295 bytes truncated by end of file/);
  });

  test("an event that cannot be decoded: what came before is printed, then the error; --filter-table-error and excluding filters pass over it", async () => {
    // MariaDB's old temporal format logs DATETIME(3) without its precision, which only the
    // table's definition gives: decoding a file without its CREATE TABLE cannot read the row.
    await db.query("SET GLOBAL mysql56_temporal_format=OFF");
    await db.query("CREATE TABLE shop.legacy (id INT PRIMARY KEY, d DATETIME(3))");
    await db.query("SET GLOBAL mysql56_temporal_format=ON");
    await db.query("FLUSH BINARY LOGS");
    await db.query("INSERT INTO shop.o (id, item) VALUES (10, 'before')");
    await db.query("INSERT INTO shop.legacy VALUES (1, '2024-01-02 03:04:05.678')");
    await db.query("INSERT INTO shop.o (id, item) VALUES (11, 'after')");
    await db.query("FLUSH BINARY LOGS");
    const logs = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    const file = join(db.dataDir, (logs.at(-2) as { Log_name: string }).Log_name);
    const items = (stdout: string) =>
      stdout
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l))
        .filter((l) => l.table === "o")
        .map((l) => l.data[0].item);

    const stopped = sluice("binlog", file);
    assert.equal(stopped.status, 1);
    assert.deepEqual(items(stopped.stdout), ["before"], "everything before the event is printed");
    assert.match(stopped.stderr, /:\d+ WRITE_ROWS_V1_EVENT\(23\) of shop\.legacy: /);
    assert.match(
      stopped.stderr,
      /column 1 \(d\) is in MariaDB's old temporal format .*: the table's definition is needed; .*--schema FILE/,
    );

    const passed = sluice("binlog", "--filter-table-error", file);
    assert.equal(passed.status, 0, passed.stderr);
    assert.deepEqual(items(passed.stdout), ["before", "after"]);
    assert.match(passed.stderr, /passed over: .* of shop\.legacy: /);

    const excluded = sluice("binlog", "--black-filter", "shop\\.legacy", file);
    assert.equal(excluded.status, 0, excluded.stderr);
    assert.deepEqual(items(excluded.stdout), ["before", "after"]);
    assert.equal(excluded.stderr, "", "an excluded table is not decoded at all");
  });
  test("MariaDB's old temporal format offline: the CREATE TABLE in the files, or --schema, gives the fractional digits", async () => {
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    await db.query("FLUSH BINARY LOGS");
    await db.query("SET GLOBAL mysql56_temporal_format=OFF");
    await db.query(
      "CREATE TABLE shop.old (id INT PRIMARY KEY, d DATETIME(3), t TIME(2), ts TIMESTAMP(6) NULL, " +
        "d0 DATETIME, f FLOAT(7,3))",
    );
    await db.query("SET GLOBAL mysql56_temporal_format=ON");
    await db.query("FLUSH BINARY LOGS");
    await db.query(
      "SET time_zone = '+00:00'; INSERT INTO shop.old VALUES " +
        "(1, '2024-01-02 03:04:05.678', '-838:59:58.99', '2024-06-15 12:34:56.123456', '2024-01-02 03:04:05', 1.5), " +
        "(2, NULL, '00:00:00.01', NULL, '0000-00-00 00:00:00', -2)",
    );
    await db.query("FLUSH BINARY LOGS");
    const logs = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    const [created, rows] = logs.slice(-3, -1).map((l) => join(db.dataDir, l.Log_name)) as [string, string];
    const printed = db
      .cli("SET time_zone = '+00:00'; SELECT * FROM shop.old ORDER BY id")
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    const decoded = (stdout: string) =>
      stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .filter((l) => l.table === "old" && l.type === "INSERT")
        .flatMap((l) => l.data)
        .map((row: Record<string, string | null>) => Object.values(row).map((v) => v ?? "NULL"));

    const both = sluice("binlog", created, rows);
    assert.equal(both.status, 0, both.stderr);
    assert.deepEqual(decoded(both.stdout), printed);
    assert.deepEqual(printed[0], [
      "1",
      "2024-01-02 03:04:05.678",
      "-838:59:58.99",
      "2024-06-15 12:34:56.123456",
      "2024-01-02 03:04:05",
      "1.500",
    ]);

    const alone = sluice("binlog", rows);
    assert.equal(alone.status, 1);
    assert.match(
      alone.stderr,
      /mysql-bin\.\d+:\d+ WRITE_ROWS_V1_EVENT\(23\) of shop\.old: column 1 \(d\) is in MariaDB's old temporal format \(mysql56_temporal_format=OFF\), which does not log its fractional digits: the table's definition is needed; decode from the file holding the table's CREATE TABLE too, or give it with --schema FILE/,
    );

    const [show] = await db.query<Array<{ "Create Table": string }>>("SHOW CREATE TABLE shop.old");
    const dir = mkdtempSync(join(tmpdir(), "sluice-schema-"));
    const schemaFile = join(dir, "schema.sql");
    writeFileSync(schemaFile, `USE shop;\n${show?.["Create Table"]};\n`);
    const given = sluice("binlog", "--schema", schemaFile, rows);
    assert.equal(given.status, 0, given.stderr);
    assert.deepEqual(decoded(given.stdout), printed);

    const bad = sluice("binlog", "--schema", join(dir, "missing.sql"), rows);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--schema .*missing\.sql: ENOENT/);
  });
  test("a binlog without column names says so once per table, and how to give them", async () => {
    // The CREATE TABLE in an earlier file than the one decoded: nothing tells the names.
    await db.query("CREATE TABLE shop.nameless (id INT PRIMARY KEY, note VARCHAR(10))");
    await db.query("FLUSH BINARY LOGS");
    await db.query("SET GLOBAL binlog_row_metadata = MINIMAL");
    try {
      await db.query(
        "INSERT INTO shop.nameless VALUES (1, 'a'), (2, 'b'); INSERT INTO shop.nameless VALUES (3, 'c')",
      );
      await db.query("FLUSH BINARY LOGS");
    } finally {
      await db.query("SET GLOBAL binlog_row_metadata = FULL");
    }
    const logs = await db.query<Array<{ Log_name: string }>>("SHOW BINARY LOGS");
    const file = join(db.dataDir, (logs.at(-2) as { Log_name: string }).Log_name);
    const r = sluice("binlog", "--filter", "shop\\.nameless", "--start-position", "4", file);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((l) => !l.isDdl);
    assert.deepEqual(rows[0].data[0], { col_0: "1", col_1: "a" });
    const hints = r.stderr.split("\n").filter((l) => l.includes("has no column names"));
    assert.equal(hints.length, 1, r.stderr);
    assert.match(hints[0] as string, /shop\.nameless: .*binlog_row_metadata=FULL.*--schema FILE/);
  });
});
