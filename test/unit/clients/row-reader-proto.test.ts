// The client's row reader (wire/row-reader.ts) against entry.proto itself: every field of the
// messages it reads is either one it reads or one no flat row carries, so a field added to
// entry.proto fails this test until someone decides; and on entries generated from the
// descriptors (every field of every message, whatever entry.proto holds), the reader's rows
// equal flatRows(fromBinary(...)).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import fc from "fast-check";
import { type FlatRow, flatRows, typed } from "../../../src/clients/typescript/rows.js";
import { RowReader } from "../../../src/clients/typescript/wire/row-reader.js";
import { EntrySchema, EntryType } from "../../../src/gen/sluice/v1/entry_pb.js";

/** The fields the reader reads, by message: what a FlatRow is made of. */
const READ: Record<string, string[]> = {
  "sluice.v1.Entry": ["header", "entry_type", "row_change"],
  "sluice.v1.Header": ["logfile_name", "logfile_offset", "execute_time", "schema_name", "table_name", "gtid"],
  "sluice.v1.RowChange": ["event_type", "is_ddl", "sql", "row_datas"],
  "sluice.v1.RowData": ["before_columns", "after_columns"],
  "sluice.v1.Column": ["index", "name", "is_key", "is_null", "value", "omitted"],
};

/**
 * The fields it steps over: no flat row carries them. Column's are still in the row's raw
 * columns (beforeColumns, afterColumns), which protobuf-es decodes from the row's bytes.
 */
const SKIPPED: Record<string, string[]> = {
  "sluice.v1.Entry": ["transaction_begin", "transaction_end"],
  "sluice.v1.Header": [
    "version",
    "server_id",
    "server_encoding",
    "source_type",
    "event_length",
    "event_type",
    "props",
  ],
  "sluice.v1.RowChange": ["table_id", "props", "ddl_schema_name"],
  "sluice.v1.RowData": ["props"],
  "sluice.v1.Column": ["sql_type", "updated", "props", "length", "mysql_type", "base64"],
};

/** The messages the reader walks into, found from Entry through the fields it reads. */
function walked(): DescMessage[] {
  const out: DescMessage[] = [];
  const visit = (m: DescMessage) => {
    if (out.includes(m)) return;
    out.push(m);
    for (const f of m.fields) if (READ[m.typeName]?.includes(f.name) && f.message) visit(f.message);
  };
  visit(EntrySchema);
  return out;
}

test("every field of the messages the row reader walks is read or known to be skipped", () => {
  const messages = walked();
  assert.deepEqual(messages.map((m) => m.typeName).sort(), Object.keys(READ).sort());
  for (const m of messages) {
    const known = [...(READ[m.typeName] ?? []), ...(SKIPPED[m.typeName] ?? [])];
    for (const f of m.fields) {
      assert.ok(
        known.includes(f.name),
        `entry.proto's ${m.typeName}.${f.name} is new to the client's row reader: read it in ` +
          "src/clients/typescript/wire/row-reader.ts if flatRows() uses it, then list it in READ or SKIPPED here",
      );
    }
    for (const name of known) {
      assert.ok(
        m.fields.some((f) => f.name === name),
        `${m.typeName}.${name} is no longer in entry.proto`,
      );
    }
  }
});

// Entries generated from the descriptors ------------------------------------------------------

const TEXT = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 6 }));
const INT32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

function scalar(t: ScalarType): fc.Arbitrary<unknown> {
  switch (t) {
    case ScalarType.DOUBLE:
      return fc.double();
    case ScalarType.FLOAT:
      return fc.float();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return INT32;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.oneof(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 42n }),
      );
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.STRING:
      return TEXT;
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 12 });
  }
}

/** Row changes are what the reader is for: most entries are ROWDATA. */
const OVERRIDES: Record<string, fc.Arbitrary<unknown>> = {
  "sluice.v1.Entry.entry_type": fc.oneof({ weight: 4, arbitrary: fc.constant(EntryType.ROWDATA) }, INT32),
};

/** A field's value: anything its type allows (enums: declared values or any int32). */
function single(f: DescField, kind: "scalar" | "enum" | "message", depth: number): fc.Arbitrary<unknown> {
  if (kind === "message" && f.message) return message(f.message, depth + 1);
  if (kind === "enum" && f.enum)
    return fc.oneof(fc.constantFrom(...f.enum.values.map((v) => v.number)), INT32);
  if (f.scalar !== undefined) return scalar(f.scalar);
  throw new Error(`${f.parent.typeName}.${f.name}: no generator for this field`);
}

function value(f: DescField, depth: number): fc.Arbitrary<unknown> {
  const override = OVERRIDES[`${f.parent.typeName}.${f.name}`];
  if (override) return override;
  switch (f.fieldKind) {
    case "scalar":
      return scalar(f.scalar);
    case "enum":
      return single(f, "enum", depth);
    case "message":
      return message(f.message, depth + 1);
    case "list":
      return fc.array(single(f, f.listKind, depth), { maxLength: f.listKind === "message" ? 3 : 4 });
    case "map":
      return fc
        .array(fc.tuple(scalar(f.mapKey), single(f, f.mapKind, depth)), { maxLength: 3 })
        .map((pairs) => Object.fromEntries(pairs.map(([k, v]) => [String(k), v])));
  }
}

/** A message's init shape: each field set or not, one case of each oneof (or none; mostly a row change). */
function message(desc: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 8) return fc.constant({});
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of desc.fields) if (!f.oneof) parts[f.localName] = value(f, depth);
  for (const o of desc.oneofs) {
    parts[o.localName] = fc.oneof(
      { weight: 1, arbitrary: fc.constant({ case: undefined }) },
      ...o.fields.map((f) => ({
        weight: f.name === "row_change" ? 4 : 1,
        arbitrary: value(f, depth).map((v) => ({ case: f.localName, value: v })),
      })),
    );
  }
  return fc.record(parts, { requiredKeys: [] });
}

const ENTRY_BYTES = message(EntrySchema, 0).map((init) =>
  toBinary(EntrySchema, create(EntrySchema, init as MessageInitShape<typeof EntrySchema>)),
);

/** Every FlatRow field, the raw columns included. */
const plain = (row: FlatRow) => ({
  ...row,
  beforeColumns: row.beforeColumns,
  afterColumns: row.afterColumns,
});

function typedOrError(row: FlatRow): unknown {
  try {
    const { before, after } = typed(row, { timeZone: "UTC" });
    const list = (image: Record<string, unknown> | undefined) =>
      image && Object.entries(image).map(([k, v]) => [k, v instanceof Date ? `Date ${v.getTime()}` : v]);
    return { before: list(before), after: list(after) };
  } catch (err) {
    return String(err);
  }
}

test("on entries generated from entry.proto's descriptors, the reader's rows are flatRows()'s", () => {
  const reader = new RowReader();
  let rows = 0;
  fc.assert(
    fc.property(fc.array(ENTRY_BYTES, { maxLength: 6 }), (bytes) => {
      const expected = flatRows(bytes.map((b) => fromBinary(EntrySchema, b)));
      const actual = reader.rows(bytes);
      rows += expected.length;
      assert.deepStrictEqual(actual.map(plain), expected.map(plain));
      // The same keys in the same order: a spread copy or Object.keys sees what flatRows() made.
      assert.deepStrictEqual(actual.map(Object.keys), expected.map(Object.keys));
      assert.deepStrictEqual(actual.map(typedOrError), expected.map(typedOrError));
    }),
    { numRuns: 300 },
  );
  assert.ok(rows > 300, `the generated entries held ${rows} rows: too few to prove anything`);
});
