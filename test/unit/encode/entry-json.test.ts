// The hand-written Entry JSON writer (src/server/encode/entry-json.ts) against protobuf-es's
// toJsonString with connect-es's options (none for writing): character for character, on the
// decoder's fixtures and on entries generated from entry.proto's own descriptors
// (arbitrary-entry.ts: every field of every message, defaults and extremes, enum numbers the
// schema does not name, text with any code unit). A field added to entry.proto is generated at
// once: the writer fails these tests until it writes it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  type Entry,
  EntrySchema,
  EventType,
  HeaderSchema,
  PairSchema,
} from "../../../src/gen/sluice/v1/entry_pb.js";
import { EntryEncoder, entryMessage } from "../../../src/server/encode/entry-encoder.js";
import { storedEntryJsonBytes, writeEntryJson } from "../../../src/server/encode/entry-json.js";
import type { ColumnSpec, RowChanges, RowValues } from "../../../src/server/entry/row-changes.js";
import { EntryBuilder } from "../../../src/server/parse/entry-builder.js";
import { fixturesDir, loadFixture } from "../binlog/helpers.js";
import { COLUMN_SPEC, ENTRY, HEADER, INT32, STRING, VALUE } from "./arbitrary-entry.js";
import { fixtureSourceEvents } from "./fixture-events.js";

const encoder = new EntryEncoder();

/**
 * The writer's JSON of `e` as the store holds it against what connect-es writes for the entry
 * those bytes decode to (the typed path decodes stored bytes: lone surrogates are U+FFFD there).
 */
function assertSameJson(e: Entry | RowChanges, what: string): void {
  const stored = encoder.encodeField(e);
  const expected = toJsonString(EntrySchema, fromBinary(EntrySchema, entryMessage(stored)));
  const written = writeEntryJson(stored);
  if (written === undefined) assert.fail(`${what}: the writer refused the encoder's bytes`);
  const actual = written.toString("utf8");
  if (actual !== expected) assert.fail(`${what}:\n  writer      ${actual}\n  protobuf-es ${expected}`);
}

describe("generated entries (fast-check)", () => {
  test("write protobuf-es's JSON", () => {
    fc.assert(
      fc.property(ENTRY, (e) => {
        assertSameJson(e, "generated entry");
      }),
      { numRuns: 2000 },
    );
  });

  test("every UTF-16 code unit, alone and in text: quotes, backslashes, controls, surrogates", () => {
    const props = [];
    let all = "";
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      all += ch;
      props.push(create(PairSchema, { key: ch, value: `a${ch}b` }));
    }
    const e = create(EntrySchema, {
      payload: { case: "transactionEnd", value: { transactionId: all, props } },
    });
    assertSameJson(e, "every UTF-16 code unit");
  });
});

// The writer caches the JSON of a column's fixed fields (index to isKey, length to base64) by
// their bytes, per column position: rows of one table hit it, tables that share some of a
// column's fields (a prefix of its bytes) and columns of another table at the same place must
// not be taken for them.
const ALTERED_SPEC: fc.Arbitrary<(c: ColumnSpec) => ColumnSpec> = fc
  .record(
    {
      index: INT32,
      sqlType: INT32,
      name: STRING,
      isKey: fc.boolean(),
      length: INT32,
      mysqlType: STRING,
      base64: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .map((change) => (c: ColumnSpec) => ({ ...c, ...change }));

const TABLES = fc.array(COLUMN_SPEC, { minLength: 1, maxLength: 5 }).chain((a) =>
  fc.tuple(
    fc.constant(a),
    fc
      .array(ALTERED_SPEC, { minLength: a.length, maxLength: a.length })
      .map((alter) => a.map((c, i) => (alter[i] as (c: ColumnSpec) => ColumnSpec)(c))),
    fc.array(COLUMN_SPEC, { minLength: 1, maxLength: 5 }),
  ),
);

function rowsOf(columns: readonly ColumnSpec[]): fc.Arbitrary<RowChanges> {
  const image = fc.array(VALUE, {
    minLength: columns.length,
    maxLength: columns.length,
  }) as fc.Arbitrary<RowValues>;
  return fc
    .tuple(
      HEADER,
      fc.oneof(
        fc.record({
          kind: fc.constantFrom("insert" as const, "delete" as const),
          rows: fc.array(image, { minLength: 1, maxLength: 4 }),
        }),
        fc.record({
          kind: fc.constant("update" as const),
          rows: fc.array(fc.record({ before: image, after: image }), { minLength: 1, maxLength: 4 }),
        }),
      ),
      fc.option(fc.array(fc.boolean(), { minLength: columns.length, maxLength: columns.length }), {
        nil: undefined,
      }),
    )
    .map(([header, change, keep]) => ({
      kind: "rowChanges" as const,
      header,
      tableId: 7n,
      eventType:
        change.kind === "insert"
          ? EventType.INSERT
          : change.kind === "update"
            ? EventType.UPDATE
            : EventType.DELETE,
      columns,
      change,
      keep,
    }));
}

describe("rows of tables (the cache of a column's fixed fields)", () => {
  test("entries of tables alike, altered and unlike, interleaved: protobuf-es's JSON", () => {
    fc.assert(
      fc.property(
        TABLES.chain((tables) => fc.array(fc.oneof(...tables.map(rowsOf)), { minLength: 1, maxLength: 8 })),
        (entries) => {
          for (const [i, r] of entries.entries()) assertSameJson(r, `entry ${i}`);
        },
      ),
      { numRuns: 600 },
    );
  });

  test("a column's first fields the same as a cached column's, then more or others", () => {
    const base: ColumnSpec = {
      index: 1,
      sqlType: 4,
      name: "",
      isKey: false,
      length: 0,
      mysqlType: "",
      base64: false,
    };
    const variants: ColumnSpec[] = [
      base,
      { ...base, index: 2 },
      { ...base, sqlType: 12 },
      { ...base, name: "id" },
      { ...base, name: "id", isKey: true },
      { ...base, name: "idx" },
      { ...base, length: 11 },
      { ...base, length: 11, mysqlType: "int(11)" },
      { ...base, length: 11, mysqlType: "int(11)", base64: true },
      { ...base, index: 0, sqlType: 0 },
      { ...base, index: 0, sqlType: 0, name: "id" },
    ];
    const r = (columns: ColumnSpec[], values: RowValues[]): RowChanges => ({
      kind: "rowChanges",
      header: create(HeaderSchema, { schemaName: "s", tableName: "t" }),
      tableId: 1n,
      eventType: EventType.INSERT,
      columns,
      change: { kind: "insert", rows: values },
    });
    // Three columns at one place, two cached: each compared with both.
    for (const a of variants)
      for (const b of variants)
        for (const c of variants) for (const col of [a, b, c, a]) assertSameJson(r([col], [["1"]]), "third");
    for (const a of variants)
      for (const b of variants) {
        assertSameJson(
          r(
            [a, b],
            [
              ["1", null],
              [undefined, "x"],
            ],
          ),
          "first",
        );
        assertSameJson(
          r(
            [b, a],
            [
              [null, "2"],
              ["y", undefined],
            ],
          ),
          "then",
        );
      }
  });
});

describe("bytes the server's encoder does not make", () => {
  test("fields out of number order, or repeated apart: protobuf-es's JSON all the same", () => {
    const e = create(EntrySchema, {
      header: { schemaName: "s", tableName: "t", executeTime: 5n },
      entryType: 2,
      payload: {
        case: "rowChange",
        value: { eventType: 1, rowDatas: [{ afterColumns: [{ name: "a", value: "1" }] }, {}] },
      },
    });
    const message = Buffer.from(toBinary(EntrySchema, e));
    // The header (field 1) after the entry type (field 2), then a second, partial header.
    const header = message.subarray(0, 2 + (message[1] as number));
    const rest = message.subarray(header.length);
    const shuffled = Buffer.concat([rest, header]);
    const field = Buffer.concat([Buffer.from([0x12, shuffled.length]), shuffled]);
    assert.equal(writeEntryJson(field), undefined);
    const expected = toJsonString(EntrySchema, fromBinary(EntrySchema, shuffled));
    assert.equal(storedEntryJsonBytes(field).toString("utf8"), expected);
    // A header twice (protobuf merges the two).
    const twice = Buffer.concat([header, header, rest]);
    const field2 = Buffer.concat([Buffer.from([0x12, twice.length]), twice]);
    assert.equal(writeEntryJson(field2), undefined);
    assert.equal(
      storedEntryJsonBytes(field2).toString("utf8"),
      toJsonString(EntrySchema, fromBinary(EntrySchema, twice)),
    );
    assert.equal(storedEntryJsonBytes(encoder.encodeField(e)).toString("utf8"), toJsonString(EntrySchema, e));
  });
});

describe("bytes the server's encoder does not make: a list split", () => {
  test("elements of a list apart, with a default of another field between: protobuf-es's JSON", () => {
    const len = (b: Uint8Array) => [b.length, ...b];
    const pair = (key: string) => toBinary(PairSchema, create(PairSchema, { key }));
    // Column: props (7) {a}, value (8) "", props (7) {b}.
    const column = Uint8Array.from([0x3a, ...len(pair("a")), 0x42, 0x00, 0x3a, ...len(pair("b"))]);
    const rowData = Uint8Array.from([0x12, ...len(column)]); // after_columns
    const rowChange = Uint8Array.from([0x62, ...len(rowData)]); // row_datas
    const entry = Uint8Array.from([0xa2, 0x06, ...len(rowChange)]); // row_change
    const field = Uint8Array.from([0x12, ...len(entry)]);
    assert.equal(writeEntryJson(field), undefined);
    assert.equal(
      storedEntryJsonBytes(field).toString("utf8"),
      toJsonString(EntrySchema, fromBinary(EntrySchema, entry)),
    );
  });
});

const dir = fixturesDir();
const skip = dir === undefined ? "shared/fixtures/binlog not found beside the repository" : false;

describe("entries of the decoder's fixtures", { skip }, () => {
  for (const name of ["mysql84.json", "mysql84-fullmeta.json"]) {
    test(`${name}: every entry writes protobuf-es's JSON`, () => {
      const fx = loadFixture(dir as string, name);
      for (const withProvider of [false, true]) {
        const builder = new EntryBuilder({ flavor: "mysql" });
        let count = 0;
        for (const source of fixtureSourceEvents(fx, withProvider)) {
          const entry = builder.build(source);
          if (!entry) continue;
          count++;
          assertSameJson(entry, `${name} at ${source.nextOffset}`);
        }
        assert.ok(count > 10, `entries checked: ${count}`);
      }
    });
  }
});
