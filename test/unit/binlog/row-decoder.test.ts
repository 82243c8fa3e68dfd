// Compiled row decoders (row-decoder.ts): same values as the generic decodeImage path, and
// tables of the same shape share compiled code without sharing their labels or charsets.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { EventText } from "../../../src/server/binlog/charsets.js";
import { compilePlan, type ValueContext } from "../../../src/server/binlog/column-values.js";
import { EventType as E, JdbcType, ColumnType as T } from "../../../src/server/binlog/event-types.js";
import { BinlogDecoder, type RowImage } from "../../../src/server/binlog/index.js";
import { parseRowsBody, rowsType } from "../../../src/server/binlog/rows-event.js";
import type { ColumnInfo, TableInfo } from "../../../src/server/binlog/table-map.js";
import { timeZoneOffset } from "../../../src/server/binlog/temporal.js";
import { fixturesDir, loadFixture } from "./helpers.js";

function column(index: number, extra: Partial<ColumnInfo> & Pick<ColumnInfo, "type" | "meta">): ColumnInfo {
  return {
    index,
    binlogType: extra.type,
    jdbcType: JdbcType.OTHER,
    nullable: true,
    valueFormat: "text",
    ...extra,
  };
}

/** id INT, e ENUM(labels), v VARCHAR(20) charset, c CHAR(4) charset. */
function table(name: string, labels: string[], charset: string): TableInfo {
  const columns = [
    column(0, { type: T.LONG, meta: 0, unsigned: false }),
    column(1, { type: T.ENUM, binlogType: T.STRING, meta: (T.ENUM << 8) | 1, enumValues: labels }),
    column(2, { type: T.VARCHAR, meta: 20, charset }),
    column(3, { type: T.STRING, meta: (T.STRING << 8) | 4, charset }),
  ];
  return {
    tableId: 1,
    schema: "s",
    name,
    columnCount: columns.length,
    columns,
    primaryKey: [0],
    flags: 0,
    metadataSource: "binlog-full",
    providerUsed: false,
  };
}

/** A WRITE_ROWS body (after the post-header): 4 columns, all present, the given images. */
function body(images: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([4, 0x0f]), ...images]);
}

function image(id: number, enumIndex: number, v: Buffer | null, c: Buffer): Buffer {
  const idBytes = Buffer.alloc(4);
  idBytes.writeInt32LE(id);
  const nulls = v === null ? 0x04 : 0x00;
  const parts: Buffer[] = [Buffer.from([nulls]), idBytes, Buffer.from([enumIndex])];
  if (v !== null) parts.push(Buffer.from([v.length]), v);
  parts.push(Buffer.from([c.length]), c);
  return Buffer.concat(parts);
}

function ctx(): ValueContext {
  return { tz: timeZoneOffset("UTC"), text: new EventText() };
}

function decodeBoth(t: TableInfo, buf: Buffer): { compiled: RowImage[]; generic: RowImage[] } {
  const info = rowsType(E.WRITE_ROWS_V1);
  assert.ok(info);
  const compiled = parseRowsBody(buf, 0, buf.length, info, compilePlan(t), ctx()).rows as RowImage[];
  const generic: RowImage[] = [];
  parseRowsBody(buf, 0, buf.length, info, compilePlan(t), ctx(), { image: (r) => generic.push(r) });
  return { compiled, generic };
}

test("compiled decoders give the generic path's values", () => {
  const buf = body([
    image(-7, 2, Buffer.from("héllo", "utf8"), Buffer.from("ab  ")),
    image(2147483647, 0, null, Buffer.from("")),
    image(3, 1, Buffer.from("x".repeat(20)), Buffer.from("wxyz")),
  ]);
  const { compiled, generic } = decodeBoth(table("t", ["a", "b"], "utf8mb4"), buf);
  assert.deepEqual(compiled, generic);
  assert.deepEqual(compiled, [
    ["-7", "b", "héllo", "ab"],
    ["2147483647", "", null, ""],
    ["3", "a", "x".repeat(20), "wxyz"],
  ]);
});

test("an update's unchanged fixed-size values are the before image's text; changed ones are decoded", () => {
  // id INT, d DOUBLE, f FLOAT, t DATETIME(3), v VARCHAR(20): nullable, all present.
  const columns = [
    column(0, { type: T.LONG, meta: 0, unsigned: false }),
    column(1, { type: T.DOUBLE, meta: 8 }),
    column(2, { type: T.FLOAT, meta: 4 }),
    column(3, { type: T.DATETIME2, meta: 3 }),
    column(4, { type: T.VARCHAR, meta: 20, charset: "utf8mb4" }),
  ];
  const t: TableInfo = { ...table("u", [], "utf8mb4"), columns, columnCount: columns.length };
  const datetime3 = (ms: number): Buffer => {
    // 2024-05-06 07:08:09.ms: DATETIME2 is 5 big-endian bytes (+ 0x8000000000) and 2 for 3 digits.
    const ym = 2024 * 13 + 5;
    const packed = (((ym * 32 + 6) * 32 + 7) * 64 + 8) * 64 + 9 + 0x8000000000;
    const b = Buffer.alloc(7);
    b.writeUIntBE(packed, 0, 5);
    b.writeUInt16BE(ms * 10, 5);
    return b;
  };
  const img = (id: number, d: number | null, f: number | null, ms: number | null, v: string): Buffer => {
    let nulls = 0;
    const parts: Buffer[] = [];
    const int = Buffer.alloc(4);
    int.writeInt32LE(id);
    parts.push(int);
    if (d === null) nulls |= 2;
    else {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(d);
      parts.push(b);
    }
    if (f === null) nulls |= 4;
    else {
      const b = Buffer.alloc(4);
      b.writeFloatLE(f);
      parts.push(b);
    }
    if (ms === null) nulls |= 8;
    else parts.push(datetime3(ms));
    parts.push(Buffer.from([Buffer.byteLength(v)]), Buffer.from(v));
    return Buffer.concat([Buffer.from([nulls]), ...parts]);
  };
  const buf = Buffer.concat([
    Buffer.from([5, 0x1f, 0x1f]),
    img(123456, 0.1, 1.5, 250, "a"), // unchanged but for v
    img(123456, 0.1, 1.5, 250, "b"),
    img(7, null, 2.25, 1, "c"), // d NULL -> value; f changed; t unchanged
    img(7, 3.5, 2.5, 1, "c"),
    img(8, 4.5, 1, 999, "d"), // d and f -> NULL; t changed
    img(8, null, null, 998, "d"),
  ]);
  const info = rowsType(E.UPDATE_ROWS_V1);
  assert.ok(info);
  const compiled = parseRowsBody(buf, 0, buf.length, info, compilePlan(t), ctx()).rows as Array<{
    before: RowImage;
    after: RowImage;
  }>;
  const generic: RowImage[] = [];
  parseRowsBody(buf, 0, buf.length, info, compilePlan(t), ctx(), { image: (r) => generic.push(r) });
  assert.deepEqual(
    compiled.flatMap((r) => [r.before, r.after]),
    generic,
  );
  assert.deepEqual(compiled[0]?.after, ["123456", "0.1", "1.5", "2024-05-06 07:08:09.250", "b"]);
  assert.deepEqual(compiled[1]?.after, ["7", "3.5", "2.5", "2024-05-06 07:08:09.001", "c"]);
  assert.deepEqual(compiled[2]?.after, ["8", null, null, "2024-05-06 07:08:09.998", "d"]);
});

test("TEXT and BLOB columns of every length size decode inline as on the generic path", () => {
  // TINYTEXT utf8mb4, TEXT latin1, MEDIUMTEXT utf8mb4, LONGTEXT (MariaDB JSON) utf8mb4, BLOB binary.
  const specs: Array<[number, string]> = [
    [1, "utf8mb4"],
    [2, "latin1"],
    [3, "utf8mb4"],
    [4, "utf8mb4"],
    [2, "binary"],
  ];
  const columns = specs.map(([packLength, charset], i) =>
    column(i, { type: T.BLOB, meta: packLength, charset }),
  );
  const t: TableInfo = { ...table("b", [], "utf8mb4"), columns, columnCount: columns.length };
  const values = [
    [
      Buffer.from("naïve ✓"),
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x80]),
      Buffer.from("x".repeat(300)),
      Buffer.from('{"a": "zoë"}'),
      Buffer.from([0, 1, 0xff]),
    ],
    [
      Buffer.alloc(0),
      Buffer.from("plain ascii text"),
      Buffer.from("日本語".repeat(50)),
      Buffer.from("[]"),
      Buffer.alloc(0),
    ],
  ];
  const images = values.map((row) =>
    Buffer.concat([
      Buffer.from([0]),
      ...row.map((v, i) => {
        const pl = (specs[i] as [number, string])[0];
        const len = Buffer.alloc(pl);
        len.writeUIntLE(v.length, 0, pl);
        return Buffer.concat([len, v]);
      }),
    ]),
  );
  const buf = Buffer.concat([Buffer.from([5, 0x1f]), ...images]);
  const { compiled, generic } = decodeBoth(t, buf);
  assert.deepEqual(compiled, generic);
  assert.deepEqual(compiled[0], ["naïve ✓", "café€", "x".repeat(300), '{"a": "zoë"}', "AAH/"]);
  assert.deepEqual(compiled[1], ["", "plain ascii text", "日本語".repeat(50), "[]", ""]);
  // A value longer than what is left of the event is an error naming the column (the second
  // row's MEDIUMTEXT loses its last 92 bytes).
  const cut = buf.subarray(0, buf.length - 100);
  const info = rowsType(E.WRITE_ROWS_V1);
  assert.ok(info);
  assert.throws(
    () => parseRowsBody(cut, 0, cut.length, info, compilePlan(t), ctx()),
    /truncated in column 2/,
  );
});

test("tables of the same shape keep their own labels and charsets", () => {
  const bytes = Buffer.from([0x80, 0x9f]); // latin1 (cp1252): "€Ÿ"; as utf8mb4 it is not text
  const buf = body([image(1, 2, bytes, Buffer.from("ok"))]);
  const a = decodeBoth(table("a", ["a", "b"], "latin1"), buf);
  const b = decodeBoth(table("b", ["x", "y"], "latin1"), buf);
  assert.deepEqual(a.compiled, [["1", "b", "€Ÿ", "ok"]]);
  assert.deepEqual(b.compiled, [["1", "y", "€Ÿ", "ok"]]);
  assert.deepEqual(a.compiled, a.generic);
  assert.deepEqual(b.compiled, b.generic);
});

test("a truncated image is an error naming the column, on both paths", () => {
  const full = body([image(1, 1, Buffer.from("abc"), Buffer.from("d"))]);
  const cut = full.subarray(0, full.length - 2); // inside column 3 (CHAR)
  const info = rowsType(E.WRITE_ROWS_V1);
  assert.ok(info);
  const t = table("t", ["a"], "utf8mb4");
  assert.throws(
    () => parseRowsBody(cut, 0, cut.length, info, compilePlan(t), ctx()),
    /truncated in column 3/,
  );
  assert.throws(
    () => parseRowsBody(cut, 0, cut.length, info, compilePlan(t), ctx(), { image: () => {} }),
    /truncated in column 3/,
  );
});

test("tables of the same shape but other DECIMAL scales keep their own scale", () => {
  // DECIMAL(10,2) and DECIMAL(10,4) both take 5 bytes; 0x80 00 00 00 00 is zero in both.
  const decimalTable = (scale: number): TableInfo => {
    const t = table("d", ["a"], "utf8mb4");
    const columns = [column(0, { type: T.NEWDECIMAL, meta: (10 << 8) | scale })];
    return { ...t, columns, columnCount: 1 };
  };
  const buf = Buffer.from([1, 0x01, 0x00, 0x80, 0, 0, 0, 0]);
  assert.deepEqual(decodeBoth(decimalTable(2), buf).compiled, [["0.00"]]);
  assert.deepEqual(decodeBoth(decimalTable(4), buf).compiled, [["0.0000"]]);
  assert.deepEqual(decodeBoth(decimalTable(4), buf).generic, [["0.0000"]]);
});

test("row data for a table without columns is an error, not an endless loop", () => {
  const t: TableInfo = { ...table("z", ["a"], "utf8mb4"), columns: [], columnCount: 0 };
  const info = rowsType(E.WRITE_ROWS_V1);
  assert.ok(info);
  const buf = Buffer.from([0, 0x00]);
  assert.throws(() => parseRowsBody(buf, 0, buf.length, info, compilePlan(t), ctx()), /without columns/);
  const empty = Buffer.from([0]);
  assert.deepEqual(parseRowsBody(empty, 0, empty.length, info, compilePlan(t), ctx()).rows, []);
});

/** Every rows event's rows of a fixture, decoded in this process (compiled decoders). */
function fixtureRows(file: string): string {
  const fx = loadFixture(fixturesDir() as string, file);
  const decoder = new BinlogDecoder();
  const out: unknown[] = [];
  for (const [i, hex] of fx.packets.entries()) {
    const ev = decoder.decode(Buffer.from(hex, "hex").subarray(1), { file: "f", offset: i });
    if (ev.type === "rows") out.push(ev.rows);
  }
  return JSON.stringify(out);
}

test("where code generation is forbidden, the generic path gives the same rows", {
  skip: fixturesDir() === undefined ? "shared/fixtures/binlog not found" : false,
}, () => {
  const file = "mysql84-fullmeta.json";
  const index = new URL("../../../src/server/binlog/index.js", import.meta.url).href;
  const script = `
      import { readFileSync } from "node:fs";
      const { BinlogDecoder } = await import(${JSON.stringify(index)});
      const fx = JSON.parse(readFileSync(${JSON.stringify(join(fixturesDir() as string, file))}, "utf8"));
      const decoder = new BinlogDecoder();
      const out = [];
      for (const [i, hex] of fx.packets.entries()) {
        const ev = decoder.decode(Buffer.from(hex, "hex").subarray(1), { file: "f", offset: i });
        if (ev.type === "rows") out.push(ev.rows);
      }
      process.stdout.write(JSON.stringify(out));`;
  const child = spawnSync(
    process.execPath,
    ["--disallow-code-generation-from-strings", "--input-type=module", "-e", script],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, fixtureRows(file));
});
