// The hand-written Entry encoder (src/server/encode/entry-encoder.ts) against protobuf-es's
// toBinary: byte for byte, as an Entry message and as a Batch's `entries` field, on the
// decoder's fixtures (every column type of MySQL 8.4, every event kind the fixtures hold) and
// on entries generated from entry.proto's own descriptors (arbitrary-entry.ts: every field of
// every message, defaults and extremes, text with any code unit). A field added to
// entry.proto is generated at once: the encoder fails these tests until it writes it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { BatchSchema } from "../../../src/gen/sluice/v1/canal_service_pb.js";
import { type Entry, EntrySchema } from "../../../src/gen/sluice/v1/entry_pb.js";
import { ENTRY_FIELDS, EntryEncoder, entryMessage } from "../../../src/server/encode/entry-encoder.js";
import { EntryBuilder } from "../../../src/server/parse/entry-builder.js";
import { fixturesDir, loadFixture } from "../binlog/helpers.js";
import { ENTRY, messagesOf } from "./arbitrary-entry.js";
import { fixtureSourceEvents } from "./fixture-events.js";

const encoder = new EntryEncoder();

function assertSameBytes(e: Entry, what: string): void {
  const expected = Buffer.from(toBinary(EntrySchema, e));
  const actual = encoder.encode(e);
  if (!actual.equals(expected)) {
    assert.fail(`${what}: encoder ${actual.toString("hex")}\n  protobuf-es ${expected.toString("hex")}`);
  }
  // As an `entries` field of Batch: the same bytes as protobuf-es's Batch with only this entry.
  const field = encoder.encodeField(e);
  const batch = toBinary(BatchSchema, create(BatchSchema, { entries: [e] }));
  if (!field.equals(batch)) {
    assert.fail(
      `${what}: encodeField ${field.toString("hex")}\n  protobuf-es ${Buffer.from(batch).toString("hex")}`,
    );
  }
  assert.ok(Buffer.from(entryMessage(field)).equals(expected), `${what}: entryMessage`);
}

describe("the schema and the encoder agree on the fields", () => {
  test("every field of every message reachable from Entry is one the encoder writes", () => {
    const messages = messagesOf(EntrySchema);
    const fromSchema = Object.fromEntries(
      [...messages].map(([name, m]) => [name, m.fields.map((f) => f.number).sort((a, b) => a - b)]),
    );
    assert.deepEqual(
      fromSchema,
      ENTRY_FIELDS,
      "entry.proto and EntryEncoder differ: write the new field in src/server/encode/entry-encoder.ts and list it in ENTRY_FIELDS",
    );
  });
});

/** How often each field of each message held a value that is not its default. */
function countSetFields(e: object, desc: DescMessage, seen: Map<string, number>): void {
  for (const f of desc.fields) {
    const holder = f.oneof
      ? (e as Record<string, { case?: string; value?: unknown }>)[f.oneof.localName]
      : undefined;
    const value = f.oneof
      ? holder?.case === f.localName
        ? holder.value
        : undefined
      : (e as Record<string, unknown>)[f.localName];
    const set = Array.isArray(value)
      ? value.length > 0
      : value !== undefined && value !== 0 && value !== 0n && value !== "" && value !== false;
    if (set) seen.set(`${desc.typeName}.${f.name}`, (seen.get(`${desc.typeName}.${f.name}`) ?? 0) + 1);
    if (!set || !f.message) continue;
    for (const m of Array.isArray(value) ? value : [value]) countSetFields(m as object, f.message, seen);
  }
}

describe("generated entries (fast-check)", () => {
  test("encode to protobuf-es's bytes", () => {
    fc.assert(
      fc.property(ENTRY, (e) => {
        assertSameBytes(e, "generated entry");
      }),
      { numRuns: 2000 },
    );
  });

  test("the generator sets every field of every message (so the property covers them)", () => {
    const seen = new Map<string, number>();
    for (const e of fc.sample(ENTRY, { numRuns: 2000, seed: 42 })) countSetFields(e, EntrySchema, seen);
    const missing: string[] = [];
    for (const desc of messagesOf(EntrySchema).values())
      for (const f of desc.fields)
        if (!seen.get(`${desc.typeName}.${f.name}`)) missing.push(`${desc.typeName}.${f.name}`);
    assert.deepEqual(missing, [], "fields the generated entries never set");
  });

  test("round trip: protobuf-es reads the encoder's bytes as the entry its own bytes give", () => {
    fc.assert(
      fc.property(ENTRY, (e) => {
        // Through protobuf-es's own bytes, not `e` itself: lone surrogates come back as U+FFFD.
        const expected = fromBinary(EntrySchema, toBinary(EntrySchema, e));
        assert.deepEqual(fromBinary(EntrySchema, encoder.encode(e)), expected);
      }),
      { numRuns: 300 },
    );
  });
});

// --- the decoder's fixtures ---

const dir = fixturesDir();
const skip = dir === undefined ? "shared/fixtures/binlog not found beside the repository" : false;

describe("entries of the decoder's fixtures", { skip }, () => {
  for (const name of ["mysql84.json", "mysql84-fullmeta.json"]) {
    test(`${name}: every entry encodes to protobuf-es's bytes`, () => {
      const fx = loadFixture(dir as string, name);
      for (const withProvider of [false, true]) {
        const builder = new EntryBuilder({ flavor: "mysql" });
        const kinds = new Set<string>();
        for (const source of fixtureSourceEvents(fx, withProvider)) {
          const entry = builder.build(source);
          if (!entry) continue;
          kinds.add(`${entry.entryType}/${entry.header?.eventType}`);
          assertSameBytes(entry, `${name} at ${source.nextOffset}`);
        }
        // begin, insert, update, delete, end, and statements
        assert.ok(kinds.size >= 5, `event kinds covered: ${[...kinds].join(" ")}`);
      }
    });
  }
});
