// The client's hand-written reader of entry bytes (wire/row-reader.ts) against protobuf-es: on
// random entries (every field set or not, unknown fields at every level, full-range integers,
// NULL, omitted and base64 values, any text) the flat rows, their raw columns and their typed
// values equal what flatRows() makes of protobuf-es's decoding; so do the entries a batch
// decodes from the bytes that the raw CanalService (wire/raw-canal-service.ts) hands over.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { UnknownField } from "@bufbuild/protobuf";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { EncodedEntries } from "../../../src/clients/typescript/batch-entries.js";
import { type FlatRow, flatRows, typed } from "../../../src/clients/typescript/rows.js";
import { SqlType } from "../../../src/clients/typescript/values.js";
import { rawCanalService } from "../../../src/clients/typescript/wire/raw-canal-service.js";
import { RowReader } from "../../../src/clients/typescript/wire/row-reader.js";
import { StreamResponseSchema } from "../../../src/gen/sluice/v1/canal_service_pb.js";
import {
  type Column,
  ColumnSchema,
  type Entry,
  EntrySchema,
  EntryType,
  EventType,
} from "../../../src/gen/sluice/v1/entry_pb.js";

const INT32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const TEXT = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary", maxLength: 40 }),
);
const NAME = fc.oneof(
  fc.constantFrom("", "id", "k", "c", "pad", "t_us", "名前", "__proto__"),
  fc.string({ maxLength: 8 }),
);

/** Fields no message of entry.proto has, of every wire type protobuf-es writes. */
const UNKNOWN: fc.Arbitrary<UnknownField[]> = fc
  .array(
    fc.tuple(
      fc.oneof(fc.integer({ min: 50, max: 99 }), fc.integer({ min: 200, max: 5000 })),
      fc.nat(4),
      fc.string(),
    ),
    { maxLength: 3 },
  )
  .map((fields) =>
    fields.map(([no, kind, text]): UnknownField => {
      const w = new BinaryWriter();
      if (kind === 0)
        return { no, wireType: WireType.Varint, data: w.int64(BigInt(text.length) - 3n).finish() };
      if (kind === 1) return { no, wireType: WireType.Bit64, data: w.fixed64(text.length).finish() };
      if (kind === 2) return { no, wireType: WireType.LengthDelimited, data: w.string(text).finish() };
      if (kind === 3) return { no, wireType: WireType.Bit32, data: w.fixed32(text.length).finish() };
      // An empty group: its end tag.
      return { no, wireType: WireType.StartGroup, data: w.tag(no, WireType.EndGroup).finish() };
    }),
  );

const PAIRS = fc.array(fc.record({ key: TEXT, value: TEXT }), { maxLength: 2 });

const SQL_TYPES = [...Object.values(SqlType), 0, 2000, -4];
const MYSQL_TYPES = [
  "int",
  "bigint unsigned",
  "varchar(120)",
  "char(60)",
  "decimal(10,2)",
  "datetime(6)",
  "timestamp",
  "date",
  "time",
  "year",
  "blob",
  "bit(8)",
  "enum('a','b')",
  "json",
  "double",
  "",
];

const COLUMN: fc.Arbitrary<Column> = fc
  .record({
    index: INT32,
    sqlType: fc.oneof(fc.constantFrom(...SQL_TYPES), INT32),
    name: NAME,
    isKey: fc.boolean(),
    updated: fc.boolean(),
    kind: fc.constantFrom("text", "null", "omitted", "base64", "number"),
    props: PAIRS,
    text: TEXT,
    base64: fc.base64String({ maxLength: 24 }),
    number: fc.oneof(fc.integer().map(String), INT64.map(String), fc.double({ noNaN: true }).map(String)),
    length: INT32,
    mysqlType: fc.constantFrom(...MYSQL_TYPES),
    unknown: UNKNOWN,
  })
  .map((c) => {
    const col = create(ColumnSchema, {
      index: c.index,
      sqlType: c.sqlType,
      name: c.name,
      isKey: c.isKey,
      updated: c.updated,
      isNull: c.kind === "null",
      props: c.props,
      value:
        c.kind === "text" ? c.text : c.kind === "base64" ? c.base64 : c.kind === "number" ? c.number : "",
      length: c.length,
      mysqlType: c.mysqlType,
      omitted: c.kind === "omitted",
      base64: c.kind === "base64",
    });
    if (c.unknown.length > 0) col.$unknown = c.unknown;
    return col;
  });

const withUnknown = <T extends object>(value: T, unknown: UnknownField[]): T =>
  unknown.length > 0 ? { ...value, $unknown: unknown } : value;

const ROW_DATA = fc
  .record({
    beforeColumns: fc.array(COLUMN, { maxLength: 5 }),
    afterColumns: fc.array(COLUMN, { maxLength: 5 }),
    props: PAIRS,
    unknown: UNKNOWN,
  })
  .map(({ unknown, ...rd }) => withUnknown(rd, unknown));

const EVENT_TYPE = fc.oneof(fc.integer({ min: 0, max: 16 }), INT32);

const HEADER = fc
  .record({
    version: INT32,
    logfileName: TEXT,
    logfileOffset: INT64,
    serverId: INT64,
    serverEncoding: TEXT,
    executeTime: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 42n }), INT64),
    sourceType: fc.constantFrom(0, 2, 4),
    schemaName: TEXT,
    tableName: TEXT,
    eventLength: INT64,
    eventType: EVENT_TYPE,
    props: PAIRS,
    gtid: TEXT,
    unknown: UNKNOWN,
  })
  .map(({ unknown, ...h }) => withUnknown(h, unknown));

const ROW_CHANGE = fc
  .record({
    tableId: INT64,
    eventType: EVENT_TYPE,
    isDdl: fc.boolean(),
    sql: TEXT,
    rowDatas: fc.array(ROW_DATA, { maxLength: 3 }),
    props: PAIRS,
    ddlSchemaName: TEXT,
    unknown: UNKNOWN,
  })
  .map(({ unknown, ...rc }) => withUnknown(rc, unknown));

const PAYLOAD = fc.oneof(
  { weight: 6, arbitrary: ROW_CHANGE.map((value) => ({ case: "rowChange" as const, value })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ threadId: INT64, props: PAIRS })
      .map((value) => ({ case: "transactionBegin" as const, value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ transactionId: TEXT })
      .map((value) => ({ case: "transactionEnd" as const, value })),
  },
  { weight: 1, arbitrary: fc.constant({ case: undefined }) },
);

const ENTRY: fc.Arbitrary<Entry> = fc
  .record(
    {
      header: HEADER,
      entryType: fc.oneof(
        { weight: 4, arbitrary: fc.constant(EntryType.ROWDATA) },
        { weight: 1, arbitrary: INT32 },
      ),
      payload: PAYLOAD,
      unknown: UNKNOWN,
    },
    { requiredKeys: ["entryType", "payload", "unknown"] },
  )
  .map(({ unknown, ...e }) => {
    const entry = create(EntrySchema, e as MessageInitShape<typeof EntrySchema>);
    if (unknown.length > 0) entry.$unknown = unknown;
    return entry;
  });

/**
 * One entry's bytes: usually one message; sometimes two or three concatenated, which protobuf reads as
 * one message merged from both (a header or row change twice, a oneof switched).
 */
const ENTRY_BYTES = fc.oneof(
  { weight: 4, arbitrary: ENTRY.map((e) => toBinary(EntrySchema, e)) },
  {
    weight: 2,
    arbitrary: fc
      .array(ENTRY, { minLength: 2, maxLength: 3 })
      .map((parts) => Buffer.concat(parts.map((e) => toBinary(EntrySchema, e)))),
  },
);

/** A row as plain data: every FlatRow field, the raw columns included. */
function plain(row: FlatRow) {
  return {
    schema: row.schema,
    table: row.table,
    type: row.type,
    before: row.before,
    after: row.after,
    keys: row.keys,
    sql: row.sql,
    isDdl: row.isDdl,
    executeTime: row.executeTime,
    gtid: row.gtid,
    logfileName: row.logfileName,
    logfileOffset: row.logfileOffset,
    beforeColumns: row.beforeColumns,
    afterColumns: row.afterColumns,
  };
}

/**
 * typed() of a row as [name, value] lists, or the error it throws (random text is rarely a valid
 * number or date). Lists, because a column named "__proto__" sets its record's prototype.
 */
function typedOrError(row: FlatRow): unknown {
  try {
    const { before, after } = typed(row, { timeZone: "+08:00" });
    // Dates by their time: two invalid dates (random text read as a date) are not deep-equal.
    const list = (image: Record<string, unknown> | undefined) =>
      image && Object.entries(image).map(([k, v]) => [k, v instanceof Date ? `Date ${v.getTime()}` : v]);
    return { before: list(before), after: list(after) };
  } catch (err) {
    return String(err);
  }
}

function assertSameRows(bytes: Uint8Array[], reader: RowReader): void {
  const expected = flatRows(bytes.map((b) => fromBinary(EntrySchema, b)));
  const actual = reader.rows(bytes);
  assert.deepStrictEqual(actual.map(plain), expected.map(plain));
  assert.deepStrictEqual(actual.map(typedOrError), expected.map(typedOrError));
}

test("the row reader gives flatRows()'s rows, raw columns and typed values on random entries", () => {
  // One reader for every run, as the client has: its caches must not carry a stale string over.
  const reader = new RowReader();
  fc.assert(
    fc.property(fc.array(ENTRY_BYTES, { maxLength: 6 }), (bytes) => assertSameRows(bytes, reader)),
    { numRuns: 400 },
  );
});

test("a batch read through the raw CanalService: entries and rows equal protobuf-es's", () => {
  const stream = rawCanalService().methods.find((m) => m.name === "Stream");
  assert.ok(stream);
  fc.assert(
    fc.property(fc.array(ENTRY, { maxLength: 6 }), TEXT, (entries, batchId) => {
      const wire = toBinary(StreamResponseSchema, {
        ...create(StreamResponseSchema),
        message: {
          case: "batch",
          value: { $typeName: "sluice.v1.Batch", batchId, entries, flatMessages: [] },
        },
      });
      const decoded = fromBinary(StreamResponseSchema, wire);
      const raw = fromBinary(stream.output, wire) as unknown as {
        message: { case: "batch"; value: { batchId: string; entries: Uint8Array[] } };
      };
      assert.equal(decoded.message.case, "batch");
      assert.equal(raw.message.value.batchId, batchId);
      const lazy = new EncodedEntries(raw.message.value.entries);
      const expected = decoded.message.case === "batch" ? decoded.message.value.entries : [];
      assert.deepStrictEqual(lazy.rows().map(plain), flatRows(expected).map(plain));
      assert.deepStrictEqual(lazy.entries, expected);
    }),
    { numRuns: 150 },
  );
});

test("edge varints: booleans set past bit 32, negative enums and indexes, int64 extremes", () => {
  const col = (fields: (w: BinaryWriter) => void) => {
    const w = new BinaryWriter();
    fields(w);
    return w.finish();
  };
  const column = col((w) => {
    w.tag(1, WireType.Varint).int32(-5); // index: a 10-byte varint
    w.tag(4, WireType.Varint).uint64(2n ** 40n); // is_key: true by a high bit only
    w.tag(6, WireType.Varint).uint64(2n ** 33n); // is_null
    w.tag(8, WireType.LengthDelimited).string("ignored");
  });
  const rowData = col((w) => w.tag(2, WireType.LengthDelimited).bytes(column));
  const rowChange = col((w) => {
    w.tag(2, WireType.Varint).int32(-1);
    w.tag(12, WireType.LengthDelimited).bytes(rowData);
  });
  const header = col((w) => {
    w.tag(3, WireType.Varint).int64(-(2n ** 63n));
    w.tag(6, WireType.Varint).int64(2n ** 63n - 1n);
  });
  const entry = col((w) => {
    w.tag(1, WireType.LengthDelimited).bytes(header);
    w.tag(2, WireType.Varint).int32(EntryType.ROWDATA);
    w.tag(100, WireType.LengthDelimited).bytes(rowChange);
  });
  const reader = new RowReader();
  assertSameRows([entry], reader);
  const [row] = reader.rows([entry]);
  assert.deepStrictEqual(row?.after, { "#-5": null });
  assert.equal(row?.type, "UNSPECIFIED");
  assert.equal(row?.logfileOffset, -(2n ** 63n));
  assert.equal(EventType[row?.type ?? "INSERT"], EventType.UNSPECIFIED);
});

test("truncated bytes are an error, as they are to protobuf-es", () => {
  const entry = toBinary(
    EntrySchema,
    create(EntrySchema, {
      entryType: EntryType.ROWDATA,
      header: { schemaName: "s", tableName: "t" },
      payload: { case: "rowChange", value: { rowDatas: [{ afterColumns: [{ name: "id", value: "1" }] }] } },
    }),
  );
  const reader = new RowReader();
  for (let cut = 1; cut < entry.length; cut++) {
    const bytes = entry.subarray(0, cut);
    let protobufEs = "ok";
    try {
      fromBinary(EntrySchema, bytes);
    } catch {
      protobufEs = "error";
    }
    let ours = "ok";
    try {
      reader.rows([bytes]);
    } catch {
      ours = "error";
    }
    assert.equal(ours, protobufEs, `cut at ${cut}`);
  }
});

test("a row's raw columns: decoded once, replaceable, carried by a spread copy", () => {
  const entry = toBinary(
    EntrySchema,
    create(EntrySchema, {
      entryType: EntryType.ROWDATA,
      header: { schemaName: "s", tableName: "t" },
      payload: {
        case: "rowChange",
        value: {
          eventType: EventType.INSERT,
          rowDatas: [{ afterColumns: [{ name: "id", value: "1", isKey: true }] }],
        },
      },
    }),
  );
  const [row] = new RowReader().rows([entry]);
  assert.ok(row);
  assert.equal(row.afterColumns, row.afterColumns, "the same array each time");
  const copy = { ...row };
  assert.equal(copy.afterColumns, row.afterColumns);
  assert.deepEqual(Object.keys(copy), Object.keys(flatRows([fromBinary(EntrySchema, entry)])[0] ?? {}));
  row.beforeColumns = row.afterColumns;
  assert.equal(row.beforeColumns, row.afterColumns);
});

/** An entry of one INSERT row whose after image has a column per value, each value given as raw bytes. */
function entryWithRawValues(values: Uint8Array[]): Uint8Array {
  const w = new BinaryWriter();
  w.tag(2, WireType.Varint).int32(EntryType.ROWDATA);
  w.tag(100, WireType.LengthDelimited).fork();
  w.tag(2, WireType.Varint).int32(EventType.INSERT);
  w.tag(12, WireType.LengthDelimited).fork();
  for (const [i, value] of values.entries()) {
    w.tag(2, WireType.LengthDelimited).fork();
    w.tag(3, WireType.LengthDelimited).string(`c${i}`);
    w.tag(4, WireType.Varint).bool(i === 0);
    w.tag(8, WireType.LengthDelimited).bytes(value);
    w.join();
  }
  w.join();
  w.join();
  return w.finish();
}

/** The rows of entries, or the error reading them: by the row reader and by protobuf-es. */
function outcomes(bytes: Uint8Array[], reader: RowReader): { ours: unknown; protobufEs: unknown } {
  const attempt = (read: () => FlatRow[]) => {
    try {
      return read().map(plain);
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`;
    }
  };
  return {
    ours: attempt(() => reader.rows(bytes)),
    protobufEs: attempt(() => flatRows(bytes.map((b) => fromBinary(EntrySchema, b)))),
  };
}

test("values of any bytes read as protobuf-es reads them: a leading U+FEFF kept, invalid UTF-8 refused", () => {
  const BOM = [0xef, 0xbb, 0xbf];
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 40 }).map((b) => new Uint8Array([...BOM, ...b])),
    fc.uint8Array({ min: 0x20, max: 0x7e, maxLength: 140 }),
    fc.string({ unit: "grapheme" }).map((s) => new TextEncoder().encode(s)),
    fc.string({ unit: "grapheme" }).map((s) => new TextEncoder().encode(`\ufeff${s}\ufffd`)),
  );
  const reader = new RowReader();
  fc.assert(
    fc.property(fc.array(bytes, { minLength: 1, maxLength: 6 }), (values) => {
      const { ours, protobufEs } = outcomes([entryWithRawValues(values)], reader);
      assert.deepStrictEqual(ours, protobufEs);
    }),
    { numRuns: 500 },
  );
  const read = (...values: number[][]) =>
    outcomes([entryWithRawValues(values.map((v) => new Uint8Array(v)))], reader);
  // Always: U+FEFF at the start is text; U+FFFD sent is text; an invalid sequence is an error.
  const [row] = reader.rows([
    entryWithRawValues([new Uint8Array([...BOM, 0x61]), new Uint8Array([0xef, 0xbf, 0xbd])]),
  ]);
  assert.deepStrictEqual(row?.after, { c0: "\ufeffa", c1: "\ufffd" });
  const invalid = read([0x61], [0xff, 0x61]);
  assert.match(String(invalid.ours), /^TypeError/);
  assert.deepStrictEqual(invalid.ours, invalid.protobufEs);
});

test("each row has its own keys array", () => {
  const entry = toBinary(
    EntrySchema,
    create(EntrySchema, {
      entryType: EntryType.ROWDATA,
      payload: {
        case: "rowChange",
        value: {
          eventType: EventType.UPDATE,
          rowDatas: [1, 2].map((id) => ({
            beforeColumns: [{ name: "id", value: `${id}`, isKey: true }],
            afterColumns: [
              { name: "id", value: `${id}`, isKey: true },
              { name: "k", value: "x", isKey: true },
            ],
          })),
        },
      },
    }),
  );
  const reader = new RowReader();
  const [a, b] = reader.rows([entry]);
  assert.deepStrictEqual(a?.keys, ["id", "k"]);
  a?.keys.push("changed");
  assert.deepStrictEqual(b?.keys, ["id", "k"]);
  assert.deepStrictEqual(reader.rows([entry])[0]?.keys, ["id", "k"]);
});
