// MariaDB compressed columns (binlog types 140 BLOB_COMPRESSED and 141 VARCHAR_COMPRESSED) from
// raw event bytes: the TABLE_MAP with FULL metadata, row values in both branches of MariaDB's
// format (zlib, raw or wrapped, and stored uncompressed), on every decoding path, and corrupt
// values as errors naming the column.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crc32, deflateRawSync, deflateSync } from "node:zlib";
import { EventText } from "../../../src/server/binlog/charsets.js";
import { compilePlan, type ValueContext } from "../../../src/server/binlog/column-values.js";
import { EventType as E, JdbcType, ColumnType as T } from "../../../src/server/binlog/event-types.js";
import {
  BinlogDecodeError,
  BinlogDecoder,
  type BinlogEvent,
  ParallelDecoder,
  type RowImage,
  type SchemaProvider,
  type TableInfo,
} from "../../../src/server/binlog/index.js";
import { parseRowsBody, rowsType } from "../../../src/server/binlog/rows-event.js";
import { timeZoneOffset } from "../../../src/server/binlog/temporal.js";

/** An event: 19-byte header + body + CRC32. */
function event(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(19);
  h.writeUInt32LE(1700000000, 0);
  h[4] = type;
  h.writeUInt32LE(1, 5);
  h.writeUInt32LE(19 + body.length + 4, 9);
  const ev = Buffer.concat([h, body]);
  const c = Buffer.alloc(4);
  c.writeUInt32LE(crc32(ev) >>> 0);
  return Buffer.concat([ev, c]);
}

const TABLE_ID = Buffer.from([0x12, 0, 0, 0, 0, 0]);

/** A packed integer (< 251) or a length-prefixed byte string in TABLE_MAP metadata. */
const lenStr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const field = (type: number, value: Buffer) => Buffer.concat([Buffer.from([type, value.length]), value]);

interface Col {
  name: string;
  type: number;
  /** TABLE_MAP metadata bytes. */
  meta: number[];
  /** Collation id for character columns. */
  collation?: number;
  /** Length-prefix bytes of its row values. */
  prefix: number;
}

// What MariaDB 10.11 logs for
//   id INT NOT NULL, v1 VARCHAR(100) COMPRESSED latin1, v2 VARCHAR(300) COMPRESSED utf8mb4,
//   a1 VARCHAR(10) utf16, vb VARBINARY(50) COMPRESSED, tt TINYTEXT COMPRESSED, t TEXT COMPRESSED,
//   b BLOB COMPRESSED, mt MEDIUMTEXT COMPRESSED latin1, lb LONGBLOB COMPRESSED, c CHAR(3) ucs2,
//   v255 VARCHAR(255) COMPRESSED latin1
// (a VARCHAR COMPRESSED's metadata is its byte length + 1; checked against a live server).
const COLS: Col[] = [
  { name: "id", type: T.LONG, meta: [], prefix: 0 },
  { name: "v1", type: 141, meta: [101, 0], collation: 8, prefix: 1 },
  { name: "v2", type: 141, meta: [0xb1, 0x04], collation: 45, prefix: 2 },
  { name: "a1", type: T.VARCHAR, meta: [40, 0], collation: 54, prefix: 1 },
  { name: "vb", type: 141, meta: [51, 0], collation: 63, prefix: 1 },
  { name: "tt", type: 140, meta: [1], collation: 45, prefix: 1 },
  { name: "t", type: 140, meta: [2], collation: 45, prefix: 2 },
  { name: "b", type: 140, meta: [2], collation: 63, prefix: 2 },
  { name: "mt", type: 140, meta: [3], collation: 8, prefix: 3 },
  { name: "lb", type: 140, meta: [4], collation: 63, prefix: 4 },
  { name: "c", type: T.STRING, meta: [0xfe, 6], collation: 35, prefix: 1 },
  { name: "v255", type: 141, meta: [0, 1], collation: 8, prefix: 2 },
];
const N = COLS.length;

/**
 * The TABLE_MAP body, with the optional metadata MariaDB writes for binlog_row_metadata=FULL
 * (or none, as with binlog_row_metadata=NONE).
 */
function tableMapBody(charsets: "column" | "default" | "none" = "column"): Buffer {
  const meta = Buffer.from(COLS.flatMap((c) => c.meta));
  const collations = COLS.filter((c) => c.collation !== undefined).map((c) => c.collation as number);
  // DEFAULT_CHARSET: the most common collation, then (index among character columns, collation)
  // for the others.
  const defaultCharset = Buffer.from([45, ...collations.flatMap((id, k) => (id === 45 ? [] : [k, id]))]);
  const head = Buffer.concat([
    TABLE_ID,
    Buffer.from([1, 0]),
    lenStr("c"),
    Buffer.from([0]),
    lenStr("t"),
    Buffer.from([0]),
    Buffer.from([N]),
    Buffer.from(COLS.map((c) => c.type)),
    Buffer.from([meta.length]),
    meta,
    Buffer.from([0xfe, 0x0f]), // every column but id nullable
  ]);
  if (charsets === "none") return head;
  return Buffer.concat([
    head,
    field(1, Buffer.from([0])), // SIGNEDNESS: id signed
    charsets === "column" ? field(3, Buffer.from(collations)) : field(2, defaultCharset),
    field(4, Buffer.concat(COLS.map((c) => lenStr(c.name)))),
    field(8, Buffer.from([0])), // PRIMARY KEY: id
  ]);
}

type Kind = "raw" | "zlib" | "stored";

/** A value in MariaDB's compressed column format. */
function packed(data: Buffer, kind: Kind): Buffer {
  if (data.length === 0) return data;
  if (kind === "stored") return Buffer.concat([Buffer.from([0]), data]);
  const n = data.length < 0x100 ? 1 : data.length < 0x10000 ? 2 : data.length < 0x1000000 ? 3 : 4;
  const len = Buffer.alloc(n);
  len.writeUIntBE(data.length, 0, n);
  const header = 0x80 | n | (kind === "raw" ? 0x08 : 0);
  const stream = kind === "raw" ? deflateRawSync(data) : deflateSync(data);
  return Buffer.concat([Buffer.from([header]), len, stream]);
}

/** A row value: null, an int (id), or [column bytes as stored, expected text]. */
type Cell = null | number | Buffer;

/** One row image with every column present. */
function image(cells: Cell[], present: boolean[] = COLS.map(() => true)): Buffer {
  const cols = COLS.filter((_, i) => present[i]);
  const values = cells.filter((_, i) => present[i]);
  const nulls = Buffer.alloc((cols.length + 7) >> 3);
  const parts: Buffer[] = [nulls];
  values.forEach((v, k) => {
    const c = cols[k] as Col;
    if (v === null) {
      nulls[k >> 3] = (nulls[k >> 3] as number) | (1 << (k & 7));
      return;
    }
    if (typeof v === "number") {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      parts.push(b);
      return;
    }
    const len = Buffer.alloc(c.prefix);
    len.writeUIntLE(v.length, 0, c.prefix);
    parts.push(len, v);
  });
  return Buffer.concat(parts);
}

function bitmap(present: boolean[]): Buffer {
  const b = Buffer.alloc((N + 7) >> 3);
  present.forEach((p, i) => {
    if (p) b[i >> 3] = (b[i >> 3] as number) | (1 << (i & 7));
  });
  return b;
}

const ALL = COLS.map(() => true);

function rowsBody(type: number, images: Buffer[], present = ALL, presentAfter = present): Buffer {
  const update = type === E.UPDATE_ROWS_V1;
  return Buffer.concat([
    TABLE_ID,
    Buffer.from([1, 0]),
    Buffer.from([N]),
    bitmap(present),
    ...(update ? [bitmap(presentAfter)] : []),
    ...images,
  ]);
}

const LATIN1 = (s: string) => Buffer.from(s, "latin1");
const UTF8 = (s: string) => Buffer.from(s, "utf8");
const latin1Text = "Ÿ€ señor ‰"; // cp1252 bytes 9F 80 ... 89
const latin1Bytes = Buffer.from([0x9f, 0x80, 0x20, 0x73, 0x65, 0xf1, 0x6f, 0x72, 0x20, 0x89]);
const big = Buffer.alloc(100_000);
for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
const bigText = "Ÿ€".repeat(35_000); // 70,000 latin1 bytes, more than 64 KiB
const bigTextBytes = Buffer.from("\x9f\x80".repeat(35_000), "latin1");

/** Rows: [cells as stored, expected values]. */
const ROWS: [Cell[], RowImage][] = [
  [
    [
      1,
      packed(LATIN1("a".repeat(100)), "raw"),
      packed(UTF8("é".repeat(300)), "raw"),
      Buffer.from("\0x", "latin1"),
      packed(Buffer.from([0, 0xff]), "stored"),
      packed(UTF8("tiny ✓"), "stored"),
      packed(UTF8("naïve café 日本語 😀 ".repeat(20)), "raw"),
      packed(Buffer.alloc(300, 0xab), "raw"),
      packed(bigTextBytes, "raw"),
      packed(big, "raw"),
      Buffer.from([0, 0x7a]),
      packed(latin1Bytes, "stored"),
    ],
    [
      "1",
      "a".repeat(100),
      "é".repeat(300),
      "x",
      "AP8=",
      "tiny ✓",
      "naïve café 日本語 😀 ".repeat(20),
      Buffer.alloc(300, 0xab).toString("base64"),
      bigText,
      big.toString("base64"),
      "z",
      latin1Text,
    ],
  ],
  [
    // zlib-wrapped streams (column_compression_zlib_wrap=ON), empty values (no header byte)
    [
      2,
      packed(latin1Bytes, "zlib"),
      packed(UTF8("😀".repeat(100)), "zlib"),
      null,
      Buffer.alloc(0),
      Buffer.alloc(0),
      packed(UTF8("x".repeat(1000)), "zlib"),
      Buffer.alloc(0),
      packed(bigTextBytes, "zlib"),
      packed(big, "zlib"),
      null,
      Buffer.alloc(0),
    ],
    [
      "2",
      latin1Text,
      "😀".repeat(100),
      null,
      "",
      "",
      "x".repeat(1000),
      "",
      bigText,
      big.toString("base64"),
      null,
      "",
    ],
  ],
  [
    // NULLs and single bytes (MariaDB stores 1-byte values uncompressed)
    [3, null, null, null, null, null, null, null, null, null, null, packed(LATIN1("q"), "stored")],
    ["3", null, null, null, null, null, null, null, null, null, null, "q"],
  ],
];

const OPTIONS = { flavor: "mariadb", initialChecksum: "crc32" } as const;

function decodeAll(events: Buffer[]): BinlogEvent[] {
  const d = new BinlogDecoder(OPTIONS);
  return events.map((ev, i) => d.decode(ev, { file: "bin.000001", offset: i }));
}

function tableOf(charsets: "column" | "default" = "column"): TableInfo {
  const ev = new BinlogDecoder(OPTIONS).decode(event(E.TABLE_MAP, tableMapBody(charsets)));
  assert.ok(ev.type === "table_map");
  return ev.table;
}

function ctx(): ValueContext {
  return { tz: timeZoneOffset("UTC"), text: new EventText() };
}

async function decodeParallel(
  events: Buffer[],
  workers: number,
): Promise<{ events: BinlogEvent[]; error?: Error }> {
  const out: BinlogEvent[] = [];
  let error: Error | undefined;
  const pd = new ParallelDecoder({
    ...OPTIONS,
    workers,
    onEvent: (e) => out.push(e),
    onError: (e) => {
      error = e;
    },
  });
  for (const [i, ev] of events.entries()) pd.push(ev, { file: "bin.000001", offset: i });
  await pd.close();
  return error === undefined ? { events: out } : { events: out, error };
}

describe("TABLE_MAP with MariaDB compressed columns", () => {
  for (const charsets of ["column", "default"] as const) {
    test(`types, sizes, names and charsets (${charsets.toUpperCase()}_CHARSET) line up`, () => {
      const t = tableOf(charsets);
      assert.equal(t.metadataSource, "binlog-full");
      assert.deepEqual(t.primaryKey, [0]);
      const got = t.columns.map((c) => [
        c.name,
        c.type,
        c.binlogType,
        c.compressed ?? false,
        c.charset,
        c.typeName,
        c.length,
        c.jdbcType,
        c.valueFormat,
      ]);
      assert.deepEqual(got, [
        ["id", T.LONG, T.LONG, false, undefined, "int", undefined, JdbcType.INTEGER, "text"],
        ["v1", T.VARCHAR, 141, true, "latin1", "varchar(100)", 100, JdbcType.VARCHAR, "text"],
        ["v2", T.VARCHAR, 141, true, "utf8mb4", "varchar(300)", 1200, JdbcType.VARCHAR, "text"],
        ["a1", T.VARCHAR, T.VARCHAR, false, "utf16", "varchar(10)", 40, JdbcType.VARCHAR, "text"],
        ["vb", T.VARCHAR, 141, true, "binary", "varbinary(50)", 50, JdbcType.BLOB, "base64"],
        ["tt", T.BLOB, 140, true, "utf8mb4", "tinytext", 1, JdbcType.CLOB, "text"],
        ["t", T.BLOB, 140, true, "utf8mb4", "text", 2, JdbcType.CLOB, "text"],
        ["b", T.BLOB, 140, true, "binary", "blob", 2, JdbcType.BLOB, "base64"],
        ["mt", T.BLOB, 140, true, "latin1", "mediumtext", 3, JdbcType.CLOB, "text"],
        ["lb", T.BLOB, 140, true, "binary", "longblob", 4, JdbcType.BLOB, "base64"],
        ["c", T.STRING, T.STRING, false, "ucs2", "char(3)", 6, JdbcType.CHAR, "text"],
        ["v255", T.VARCHAR, 141, true, "latin1", "varchar(255)", 255, JdbcType.VARCHAR, "text"],
      ]);
    });
  }

  test("without binlog metadata, the schema provider's charsets (COLUMN_TYPE with MariaDB's comment)", () => {
    const charsets: Record<number, string> = {
      8: "latin1",
      45: "utf8mb4",
      54: "utf16",
      63: "binary",
      35: "ucs2",
    };
    // information_schema.COLUMNS as MariaDB 10.11 fills it in for this table
    const columnTypes = [
      "int(11)",
      "varchar(100) /*M!100301 COMPRESSED*/",
      "varchar(300) /*M!100301 COMPRESSED*/",
      "varchar(10)",
      "varbinary(50) /*M!100301 COMPRESSED*/",
      "tinytext /*M!100301 COMPRESSED*/",
      "text /*M!100301 COMPRESSED*/",
      "blob /*M!100301 COMPRESSED*/",
      "mediumtext /*M!100301 COMPRESSED*/",
      "longblob /*M!100301 COMPRESSED*/",
      "char(3)",
      "varchar(255) /*M!100301 COMPRESSED*/",
    ];
    const provider: SchemaProvider = {
      getTable: () => ({
        columns: COLS.map((c, i) => ({
          name: c.name,
          columnType: columnTypes[i],
          charset: c.collation === undefined || c.collation === 63 ? null : charsets[c.collation],
          collation: c.collation === 63 ? "binary" : null,
          isKey: i === 0,
        })),
      }),
    };
    const d = new BinlogDecoder({ ...OPTIONS, schemaProvider: provider });
    const tm = d.decode(event(E.TABLE_MAP, tableMapBody("none")));
    assert.ok(tm.type === "table_map");
    assert.equal(tm.table.metadataSource, "binlog-none");
    const view = (x: TableInfo) =>
      x.columns.map((c) => [
        c.name,
        c.type,
        c.compressed,
        c.typeName,
        c.length,
        c.jdbcType,
        c.charset,
        c.valueFormat,
      ]);
    assert.deepEqual(view(tm.table), view(tableOf()));
    const rows = d.decode(
      event(
        E.WRITE_ROWS_V1,
        rowsBody(
          E.WRITE_ROWS_V1,
          ROWS.map(([cells]) => image(cells)),
        ),
      ),
    );
    assert.ok(rows.type === "rows");
    assert.deepEqual(
      rows.rows,
      ROWS.map(([, want]) => want),
    );
  });

  test("the same types named as their uncompressed counterparts would be", () => {
    const t = tableOf();
    const uncompressed = tableMapBody();
    // Rewrite the types and metadata of the compressed columns to plain VARCHAR / BLOB.
    const typesAt = uncompressed.indexOf(Buffer.from(COLS.map((c) => c.type)));
    for (const [i, c] of COLS.entries()) {
      if (c.type === 141) uncompressed[typesAt + i] = T.VARCHAR;
      if (c.type === 140) uncompressed[typesAt + i] = T.BLOB;
    }
    let m = typesAt + N + 1;
    for (const c of COLS) {
      if (c.type === 141) uncompressed.writeUInt16LE(uncompressed.readUInt16LE(m) - 1, m);
      m += c.meta.length;
    }
    const ev = new BinlogDecoder(OPTIONS).decode(event(E.TABLE_MAP, uncompressed));
    assert.ok(ev.type === "table_map");
    const view = (x: TableInfo) =>
      x.columns.map((c) => [c.name, c.type, c.typeName, c.length, c.jdbcType, c.charset]);
    assert.deepEqual(view(t), view(ev.table));
  });
});

describe("rows of compressed columns", () => {
  const tm = event(E.TABLE_MAP, tableMapBody());
  const insert = event(
    E.WRITE_ROWS_V1,
    rowsBody(
      E.WRITE_ROWS_V1,
      ROWS.map(([cells]) => image(cells)),
    ),
  );
  const expected = ROWS.map(([, want]) => want);

  test("decode(): compressed (raw and zlib), stored, empty, NULL, utf8mb4, latin1, > 64 KiB", () => {
    const [, rows] = decodeAll([tm, insert]);
    assert.ok(rows?.type === "rows" && rows.kind === "insert");
    assert.deepEqual(rows.rows, expected);
  });

  test("a value of 16 MiB and more: 4 bytes of original length (header 0x8c)", () => {
    const huge = Buffer.alloc(16 * 1024 * 1024 + 3, 0x5a);
    huge.write("start", 0);
    const value = packed(huge, "raw");
    assert.equal(value[0], 0x8c);
    const cells: Cell[] = [8, null, null, null, null, null, null, null, null, value, null, null];
    const ev = event(E.WRITE_ROWS_V1, rowsBody(E.WRITE_ROWS_V1, [image(cells)]));
    const [, rows] = decodeAll([tm, ev]);
    assert.ok(rows?.type === "rows");
    assert.equal((rows.rows[0] as RowImage)[9], huge.toString("base64"));
  });

  test("the generic path (decodeImage) gives the compiled decoders' values", () => {
    const plan = compilePlan(tableOf());
    const info = rowsType(E.WRITE_ROWS_V1);
    assert.ok(info);
    const body = insert.subarray(19, insert.length - 4);
    const generic: RowImage[] = [];
    parseRowsBody(body, 8, body.length, info, plan, ctx(), { image: (r) => generic.push(r) });
    assert.deepEqual(generic, expected);
    assert.deepEqual(parseRowsBody(body, 8, body.length, info, plan, ctx()).rows, expected);
  });

  for (const workers of [0, 1]) {
    test(`ParallelDecoder with ${workers} worker(s) (deferred rows) gives decode()'s events`, async () => {
      const events = [tm, insert, tm, insert];
      const got = await decodeParallel(events, workers);
      assert.equal(got.error, undefined);
      assert.deepStrictEqual(got.events, decodeAll(events));
    });
  }

  test("update pairs: unchanged and changed compressed values, on every path", async () => {
    const [a, b, c] = ROWS.map(([cells]) => cells) as [Cell[], Cell[], Cell[]];
    const changed = [...a];
    changed[6] = packed(UTF8("changed ✓"), "raw");
    changed[11] = packed(LATIN1("other"), "stored");
    const update = event(
      E.UPDATE_ROWS_V1,
      rowsBody(E.UPDATE_ROWS_V1, [image(a), image(changed), image(b), image(b), image(c), image(a)]),
    );
    const want = [
      { before: expected[0], after: [...(expected[0] as RowImage)] },
      { before: expected[1], after: expected[1] },
      { before: expected[2], after: expected[0] },
    ];
    (want[0]?.after as RowImage)[6] = "changed ✓";
    (want[0]?.after as RowImage)[11] = "other";
    const events = [tm, update];
    const [, rows] = decodeAll(events);
    assert.ok(rows?.type === "rows" && rows.kind === "update");
    assert.deepEqual(rows.rows, want);
    const generic: RowImage[] = [];
    const info = rowsType(E.UPDATE_ROWS_V1);
    assert.ok(info);
    const body = update.subarray(19, update.length - 4);
    parseRowsBody(body, 8, body.length, info, compilePlan(tableOf()), ctx(), {
      image: (r) => generic.push(r),
    });
    assert.deepEqual(
      generic,
      want.flatMap((r) => [r.before, r.after]),
    );
    for (const workers of [0, 1]) {
      const got = await decodeParallel(events, workers);
      assert.equal(got.error, undefined);
      assert.deepStrictEqual(got.events, decodeAll(events));
    }
  });

  test("MINIMAL and NOBLOB row images: absent compressed columns are undefined", () => {
    const [a] = ROWS.map(([cells]) => cells) as [Cell[]];
    // MINIMAL update: before = primary key; after = the changed columns (v1, t, lb)
    const key = COLS.map((_, i) => i === 0);
    const changedCols = COLS.map((_, i) => i === 1 || i === 6 || i === 9);
    const after = [...a];
    after[1] = packed(LATIN1("new"), "stored");
    after[6] = Buffer.alloc(0);
    after[9] = packed(Buffer.alloc(70_000, 1), "raw");
    const minimal = event(
      E.UPDATE_ROWS_V1,
      rowsBody(E.UPDATE_ROWS_V1, [image(a, key), image(after, changedCols)], key, changedCols),
    );
    // NOBLOB insert: every column but the TEXT/BLOB ones
    const noBlob = COLS.map((c) => c.type !== 140);
    const insertNoBlob = event(E.WRITE_ROWS_V1, rowsBody(E.WRITE_ROWS_V1, [image(a, noBlob)], noBlob));
    const [, upd, ins] = decodeAll([tm, minimal, insertNoBlob]);
    assert.ok(upd?.type === "rows" && upd.kind === "update");
    const u = undefined;
    assert.deepEqual(upd.rows, [
      {
        before: ["1", u, u, u, u, u, u, u, u, u, u, u],
        after: [u, "new", u, u, u, u, "", u, u, Buffer.alloc(70_000, 1).toString("base64"), u, u],
      },
    ]);
    assert.ok(ins?.type === "rows" && ins.kind === "insert");
    const e = expected[0] as RowImage;
    assert.deepEqual(ins.rows, [[e[0], e[1], e[2], e[3], e[4], u, u, u, u, u, e[10], e[11]]]);
  });
});

describe("corrupt compressed values are errors naming the column", () => {
  const tm = event(E.TABLE_MAP, tableMapBody());
  const good = packed(UTF8("hello compressed world ".repeat(10)), "raw");
  const stream = good.subarray(2);
  const withT = (value: Buffer): Buffer => {
    const cells: Cell[] = [7, null, null, null, null, null, value, null, null, null, null, null];
    return event(E.WRITE_ROWS_V1, rowsBody(E.WRITE_ROWS_V1, [image(cells)]));
  };
  const cases: [string, Buffer, RegExp][] = [
    [
      "unknown compression method",
      Buffer.concat([Buffer.from([0x31, 5]), stream]),
      /unknown compression method 3/,
    ],
    ["stored with flag bits", Buffer.from([0x04, 0x61]), /bad header 0x04/],
    [
      "no length bytes",
      Buffer.concat([Buffer.from([0x88]), stream]),
      /bad header 0x88 \(0 bytes of original length\)/,
    ],
    ["five length bytes", Buffer.concat([Buffer.from([0x8d, 0, 0, 0, 0, 1]), stream]), /bad header 0x8d/],
    ["header only", Buffer.from([0x89]), /too short for its header 0x89/],
    [
      "longer than the column",
      Buffer.concat([Buffer.from([0x8b, 1, 0, 0]), stream]),
      /original length 65536 is more than the column's 65535 bytes/,
    ],
    ["not a deflate stream", Buffer.from([0x89, 10, 0xff, 0xff, 0xff, 0xff]), /zlib: /],
    [
      "a wrapped stream read as raw",
      Buffer.concat([Buffer.from([0x89, 230]), deflateSync(Buffer.alloc(230, 0x41))]),
      /zlib: /,
    ],
    ["truncated stream", good.subarray(0, good.length - 3), /zlib: unexpected end of file/],
    [
      "header says fewer bytes",
      Buffer.concat([Buffer.from([0x89, 229]), stream]),
      /inflates to more than the 229 bytes its header gives/,
    ],
    [
      "header says more bytes",
      Buffer.concat([Buffer.from([0x89, 231]), stream]),
      /inflates to 230 bytes, its header gives 231/,
    ],
  ];

  for (const [name, value, reason] of cases) {
    test(name, async () => {
      const events = [tm, withT(value)];
      let err: unknown;
      try {
        decodeAll(events);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof BinlogDecodeError, `${err}`);
      assert.match(err.message, /compressed value of column 6 \(t\)/);
      assert.match(err.message, reason);
      assert.equal(err.offset, 1);
      assert.equal(err.file, "bin.000001");
      // the generic path, and the worker threads, say the same
      const info = rowsType(E.WRITE_ROWS_V1);
      assert.ok(info);
      const ev = withT(value);
      const body = ev.subarray(19, ev.length - 4);
      assert.throws(
        () => parseRowsBody(body, 8, body.length, info, compilePlan(tableOf()), ctx(), { image: () => {} }),
        (e: unknown) => e instanceof BinlogDecodeError && reason.test(e.message),
      );
      const par = await decodeParallel(events, 1);
      assert.ok(par.error instanceof BinlogDecodeError);
      assert.equal(par.error.message, err.message);
      assert.equal(par.events.length, 1);
    });
  }

  test("a well-formed value of the same column decodes (the cases above differ only in the value)", () => {
    const [, rows] = decodeAll([tm, withT(good)]);
    assert.ok(rows?.type === "rows");
    assert.equal((rows.rows[0] as RowImage)[6], "hello compressed world ".repeat(10));
  });
});
