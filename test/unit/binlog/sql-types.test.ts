// Column.sqlType (ColumnInfo.jdbcType) against the table in docs/api.md: every documented type
// is decoded from a TABLE_MAP as the source logs it, and must get the documented code; every
// column type the decoder knows must be in the table. The docs and the code cannot drift.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { EventType as E, ColumnType as T } from "../../../src/server/binlog/event-types.js";
import { BinlogDecoder, type ProvidedColumn, type TableInfo } from "../../../src/server/binlog/index.js";
import { repoRoot } from "./helpers.js";

/** How a source logs one column: binlog type, metadata, and the optional metadata it writes. */
interface Logged {
  type: number;
  meta?: number[];
  unsigned?: boolean;
  /** Collation id of a character column (COLUMN_CHARSET / ENUM_AND_SET_COLUMN_CHARSET). */
  collation?: number;
  enumLabels?: string[];
  setLabels?: string[];
  geometry?: number;
  /** What only information_schema says (MariaDB's UUID/INET types, logged as BINARY). */
  provided?: ProvidedColumn;
  flavor?: "mysql" | "mariadb";
}

const UTF8MB4 = 45;
const BINARY = 63;
const text = (type: number, meta: number[]): Logged => ({ type, meta, collation: UTF8MB4 });
const bytes = (type: number, meta: number[]): Logged => ({ type, meta, collation: BINARY });
const STRING = (real: number, len: number) => [real, len];

// Each spelling docs/api.md may use, as MySQL 8 / MariaDB 10.11 log it.
const LOGGED: Record<string, Logged> = {
  tinyint: { type: T.TINY },
  "tinyint unsigned": { type: T.TINY, unsigned: true },
  smallint: { type: T.SHORT },
  "smallint unsigned": { type: T.SHORT, unsigned: true },
  mediumint: { type: T.INT24 },
  "mediumint unsigned": { type: T.INT24, unsigned: true },
  int: { type: T.LONG },
  "int unsigned": { type: T.LONG, unsigned: true },
  bigint: { type: T.LONGLONG },
  "bigint unsigned": { type: T.LONGLONG, unsigned: true },
  "decimal(10,2)": { type: T.NEWDECIMAL, meta: [10, 2] },
  float: { type: T.FLOAT, meta: [4] },
  "float(7,3)": { type: T.FLOAT, meta: [4], provided: { columnType: "float(7,3)" } },
  double: { type: T.DOUBLE, meta: [8] },
  "double(10,2)": { type: T.DOUBLE, meta: [8], provided: { columnType: "double(10,2)" } },
  "bit(8)": { type: T.BIT, meta: [0, 1] },
  year: { type: T.YEAR },
  date: { type: T.DATE },
  time: { type: T.TIME2, meta: [0] },
  "time(3)": { type: T.TIME2, meta: [3] },
  datetime: { type: T.DATETIME2, meta: [0] },
  "datetime(6)": { type: T.DATETIME2, meta: [6] },
  timestamp: { type: T.TIMESTAMP2, meta: [0] },
  "timestamp(3)": { type: T.TIMESTAMP2, meta: [3] },
  "char(10)": text(T.STRING, STRING(T.STRING, 40)),
  "varchar(20)": text(T.VARCHAR, [80, 0]),
  tinytext: text(T.BLOB, [1]),
  text: text(T.BLOB, [2]),
  mediumtext: text(T.BLOB, [3]),
  longtext: text(T.BLOB, [4]),
  "binary(4)": bytes(T.STRING, STRING(T.STRING, 4)),
  "varbinary(20)": bytes(T.VARCHAR, [20, 0]),
  tinyblob: bytes(T.BLOB, [1]),
  blob: bytes(T.BLOB, [2]),
  mediumblob: bytes(T.BLOB, [3]),
  longblob: bytes(T.BLOB, [4]),
  geometry: { type: T.GEOMETRY, meta: [4], geometry: 0 },
  point: { type: T.GEOMETRY, meta: [4], geometry: 1 },
  polygon: { type: T.GEOMETRY, meta: [4], geometry: 3 },
  vector: { type: T.VECTOR, meta: [4] },
  json: { type: T.JSON, meta: [4] },
  "enum('a','b')": { type: T.STRING, meta: STRING(T.ENUM, 1), collation: UTF8MB4, enumLabels: ["a", "b"] },
  "set('a','b')": { type: T.STRING, meta: STRING(T.SET, 1), collation: UTF8MB4, setLabels: ["a", "b"] },
  enum: { type: T.STRING, meta: STRING(T.ENUM, 1) },
  set: { type: T.STRING, meta: STRING(T.SET, 1) },
  uuid: { ...bytes(T.STRING, STRING(T.STRING, 16)), provided: { columnType: "uuid" }, flavor: "mariadb" },
  inet4: { ...bytes(T.STRING, STRING(T.STRING, 4)), provided: { columnType: "inet4" }, flavor: "mariadb" },
  inet6: { ...bytes(T.STRING, STRING(T.STRING, 16)), provided: { columnType: "inet6" }, flavor: "mariadb" },
};

/** The rows of docs/api.md's sqlType table: [spellings, code]. */
function documented(): [string[], number][] {
  const md = readFileSync(join(repoRoot(), "docs", "api.md"), "utf8");
  const from = md.indexOf("`sqlType` is the java.sql.Types code");
  assert.ok(from >= 0, "docs/api.md has the sqlType table");
  const lines = md.slice(from).split("\n");
  const head = lines.findIndex((l) => l.startsWith("| column type | sqlType |"));
  const rows: [string[], number][] = [];
  for (const line of lines.slice(head + 2)) {
    if (!line.startsWith("|")) break;
    const [, types = "", code = ""] = line.split("|");
    const spellings = [...types.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    rows.push([spellings, Number.parseInt(code.trim(), 10)]);
  }
  return rows;
}

const lenStr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const field = (type: number, value: Buffer) => Buffer.concat([Buffer.from([type, value.length]), value]);
const labels = (ls: string[]) => Buffer.concat([Buffer.from([ls.length]), ...ls.map(lenStr)]);

/** A TABLE_MAP event of one column, logged as `l` says (no checksum). */
function tableMap(l: Logged): Buffer {
  const meta = Buffer.from(l.meta ?? []);
  const enumOrSet = l.enumLabels !== undefined || l.setLabels !== undefined;
  const optional: Buffer[] = [
    l.unsigned !== undefined ? field(1, Buffer.from([l.unsigned ? 0x80 : 0])) : undefined,
    l.collation !== undefined && !enumOrSet ? field(3, Buffer.from([l.collation])) : undefined,
    l.setLabels ? field(5, labels(l.setLabels)) : undefined,
    l.enumLabels ? field(6, labels(l.enumLabels)) : undefined,
    l.geometry !== undefined ? field(7, Buffer.from([l.geometry])) : undefined,
    enumOrSet && l.collation !== undefined ? field(11, Buffer.from([l.collation])) : undefined,
  ].flatMap((b) => (b === undefined ? [] : [b]));
  const body = Buffer.concat([
    Buffer.from([7, 0, 0, 0, 0, 0, 1, 0]),
    lenStr("db"),
    Buffer.from([0]),
    lenStr("t"),
    Buffer.from([0, 1, l.type, meta.length]),
    meta,
    Buffer.from([1]),
    ...optional,
  ]);
  const h = Buffer.alloc(19);
  h[4] = E.TABLE_MAP;
  h.writeUInt32LE(19 + body.length, 9);
  return Buffer.concat([h, body]);
}

function decodeColumn(l: Logged): TableInfo["columns"][number] {
  const provided = l.provided;
  const decoder = new BinlogDecoder({
    flavor: l.flavor ?? "mysql",
    initialChecksum: "off",
    ...(provided ? { schemaProvider: { getTable: () => ({ columns: [provided] }) } } : {}),
  });
  const ev = decoder.decode(tableMap(l));
  assert.ok(ev.type === "table_map");
  return ev.table.columns[0] as TableInfo["columns"][number];
}

test("every type in docs/api.md's sqlType table gets its documented code", () => {
  const rows = documented();
  assert.ok(rows.length >= 20, `the table has ${rows.length} rows`);
  for (const [spellings, code] of rows) {
    assert.ok(spellings.length > 0 && Number.isInteger(code), `a row names types and a code: ${spellings}`);
    for (const spelling of spellings) {
      const logged = LOGGED[spelling];
      assert.ok(logged, `docs/api.md names "${spelling}": say in LOGGED how a source logs it`);
      const col = decodeColumn(logged);
      assert.equal(col.jdbcType, code, `sqlType of ${spelling}`);
      // The row's spelling is the column's mysqlType, so the table reads as the data does.
      assert.equal(col.typeName, spelling, `mysqlType of ${spelling}`);
    }
  }
});

test("every column type the decoder knows is in the table", () => {
  const covered = new Set(documented().flatMap(([s]) => s.map((x) => (LOGGED[x] as Logged).type)));
  const known = [
    T.TINY,
    T.SHORT,
    T.INT24,
    T.LONG,
    T.LONGLONG,
    T.NEWDECIMAL,
    T.FLOAT,
    T.DOUBLE,
    T.BIT,
    T.YEAR,
    T.DATE,
    T.TIME2,
    T.DATETIME2,
    T.TIMESTAMP2,
    T.STRING,
    T.VARCHAR,
    T.BLOB,
    T.GEOMETRY,
    T.VECTOR,
    T.JSON,
  ];
  for (const t of known) assert.ok(covered.has(t), `binlog type ${t} is in docs/api.md's sqlType table`);
});

test("information_schema's view of binary columns (no CHARACTER_SET_NAME) still gives binary data", () => {
  // binlog_row_metadata=NONE (MariaDB before 10.5): the charset comes from the lookup alone.
  for (const [columnType, type, meta] of [
    ["binary(4)", T.STRING, [T.STRING, 4]],
    ["varbinary(20)", T.VARCHAR, [20, 0]],
    ["blob", T.BLOB, [2]],
  ] as const) {
    const col = decodeColumn({ type, meta: [...meta], provided: { columnType, charset: null } });
    assert.deepEqual(
      [col.charset, col.jdbcType, col.valueFormat, col.typeName],
      ["binary", 2004, "base64", columnType],
    );
  }
});
