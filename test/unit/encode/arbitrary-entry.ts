// Entries generated from entry.proto's own descriptors for property tests (fast-check): any
// field of any message may be set, with defaults and extremes, text with any code unit. A
// field added to entry.proto is generated at once.
import { create, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import fc from "fast-check";
import { type Entry, EntrySchema, type Header, HeaderSchema } from "../../../src/gen/sluice/v1/entry_pb.js";
import type { ColumnSpec, ColumnValue } from "../../../src/server/entry/row-changes.js";

/** Every message type reachable from `root` (Entry), by name. */
export function messagesOf(root: DescMessage): Map<string, DescMessage> {
  const out = new Map<string, DescMessage>();
  const visit = (m: DescMessage) => {
    if (out.has(m.typeName)) return;
    out.set(m.typeName, m);
    for (const f of m.fields) if (f.message) visit(f.message);
  };
  visit(root);
  return out;
}

export const INT32 = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: -2147483648, max: 2147483647 }),
);
export const INT64 = fc.oneof(
  fc.constant(0n),
  fc.bigInt({ min: 0n, max: 100_000n }),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
);
// Empty, ASCII, any code unit (lone surrogates included), and long text (length prefixes of
// two and three bytes).
export const STRING = fc.oneof(
  fc.constant(""),
  fc.string({ unit: "binary-ascii", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", minLength: 100, maxLength: 300 }),
  fc.string({ unit: "binary-ascii", minLength: 120, maxLength: 20000 }),
);

function scalar(f: DescField & { fieldKind: "scalar" | "list" }): fc.Arbitrary<unknown> {
  switch (f.scalar) {
    case ScalarType.STRING:
      return STRING;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.INT32:
      return INT32;
    case ScalarType.INT64:
      return INT64;
    default:
      throw new Error(`the generator does not know ${f.toString()}'s type: add it`);
  }
}

function enumValue(f: DescField): fc.Arbitrary<number> {
  const known = (f.enum?.values ?? []).map((v) => v.number);
  // proto3 enums are open: a number the schema does not name is encoded like any other.
  return fc.oneof(fc.constantFrom(...known), INT32);
}

/** An arbitrary message of `desc`, any of whose fields may be set; `depth` bounds nesting. */
function message(desc: DescMessage, depth: number): fc.Arbitrary<object> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      // A oneof's message case always holds a message (empty when nesting ends).
      const cases = member.fields.map((f) =>
        (f.message ? messageOrEmpty(f.message, depth - 1) : fieldValue(f, depth)).map((value) => ({
          case: f.localName,
          value,
        })),
      );
      parts[member.localName] = fc.oneof(fc.constant({ case: undefined }), ...cases);
      continue;
    }
    parts[member.localName] = fieldValue(member, depth);
  }
  return fc.record(parts).map((init) => create(desc, init as never));
}

function messageOrEmpty(desc: DescMessage, depth: number): fc.Arbitrary<object> {
  return depth >= 0 ? message(desc, depth) : fc.constant(create(desc));
}

function fieldValue(f: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (f.fieldKind) {
    case "scalar":
      return scalar(f);
    case "enum":
      return enumValue(f);
    case "message":
      return depth > 0
        ? fc.option(message(f.message, depth - 1), { nil: undefined })
        : fc.constant(undefined);
    case "list": {
      const item =
        f.listKind === "message"
          ? messageOrEmpty(f.message, depth - 1)
          : f.listKind === "enum"
            ? enumValue(f)
            : scalar(f);
      return depth > 0 ? fc.array(item, { maxLength: 3 }) : fc.constant([]);
    }
    case "map":
      throw new Error(`the generator does not know map fields (${f.toString()}): add them`);
  }
}

/** Any Header (every field set or not). */
export const HEADER = message(HeaderSchema, 1) as fc.Arbitrary<Header>;

/** Any Entry, nested up to four messages deep. */
export const ENTRY = message(EntrySchema, 4) as fc.Arbitrary<Entry>;

/** What a table definition gives each column of its row changes (src/server/entry/row-changes.ts). */
export const COLUMN_SPEC: fc.Arbitrary<ColumnSpec> = fc.record({
  index: INT32,
  sqlType: INT32,
  name: STRING,
  isKey: fc.boolean(),
  length: INT32,
  mysqlType: STRING,
  base64: fc.boolean(),
});

// A column value of row changes: text (the encoder guesses a column's length prefix from it), SQL NULL, not in the image.
export const VALUE: fc.Arbitrary<ColumnValue> = fc.oneof(
  STRING,
  fc.string({ unit: "binary", minLength: 90, maxLength: 140 }),
  fc.constant(null),
  fc.constant(undefined),
);
