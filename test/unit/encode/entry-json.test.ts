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
import { type Entry, EntrySchema, PairSchema } from "../../../src/gen/sluice/v1/entry_pb.js";
import { EntryEncoder, entryMessage } from "../../../src/server/encode/entry-encoder.js";
import { storedEntryJsonBytes, writeEntryJson } from "../../../src/server/encode/entry-json.js";
import { EntryBuilder } from "../../../src/server/parse/entry-builder.js";
import { fixturesDir, loadFixture } from "../binlog/helpers.js";
import { ENTRY } from "./arbitrary-entry.js";
import { fixtureSourceEvents } from "./fixture-events.js";

const encoder = new EntryEncoder();

/**
 * The writer's JSON of `e` as the store holds it against what connect-es writes for the entry
 * those bytes decode to (the typed path decodes stored bytes: lone surrogates are U+FFFD there).
 */
function assertSameJson(e: Entry, what: string): void {
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
