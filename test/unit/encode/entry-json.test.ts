// The hand-written Entry JSON writer (src/server/encode/entry-json.ts) against protobuf-es's
// toJsonString with connect-es's options (none for writing): character for character, on the
// decoder's fixtures and on entries generated from entry.proto's own descriptors
// (arbitrary-entry.ts: every field of every message, defaults and extremes, enum numbers the
// schema does not name, text with any code unit). A field added to entry.proto is generated at
// once: the writer fails these tests until it writes it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, toJsonString } from "@bufbuild/protobuf";
import fc from "fast-check";
import { type Entry, EntrySchema, PairSchema } from "../../../src/gen/sluice/v1/entry_pb.js";
import { BinlogDecoder } from "../../../src/server/binlog/index.js";
import { ENTRY_JSON_FIELDS, entryJson } from "../../../src/server/encode/entry-json.js";
import { EntryBuilder } from "../../../src/server/parse/entry-builder.js";
import { TransactionTracker } from "../../../src/server/parse/transaction-tracker.js";
import { fixtureProvider, fixturesDir, loadFixture } from "../binlog/helpers.js";
import { ENTRY, messagesOf } from "./arbitrary-entry.js";

function assertSameJson(e: Entry, what: string): void {
  const expected = toJsonString(EntrySchema, e);
  const actual = entryJson(e);
  if (actual !== expected) assert.fail(`${what}:\n  writer      ${actual}\n  protobuf-es ${expected}`);
}

describe("the schema and the JSON writer agree on the fields", () => {
  test("every field of every message reachable from Entry is one the writer writes", () => {
    const fromSchema = Object.fromEntries(
      [...messagesOf(EntrySchema)].map(([name, m]) => [
        name,
        m.fields.map((f) => f.number).sort((a, b) => a - b),
      ]),
    );
    assert.deepEqual(
      fromSchema,
      ENTRY_JSON_FIELDS,
      "entry.proto and the JSON writer differ: write the new field in src/server/encode/entry-json.ts and list it in ENTRY_JSON_FIELDS",
    );
  });
});

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

const dir = fixturesDir();
const skip = dir === undefined ? "shared/fixtures/binlog not found beside the repository" : false;

describe("entries of the decoder's fixtures", { skip }, () => {
  for (const name of ["mysql84.json", "mysql84-fullmeta.json"]) {
    test(`${name}: every entry writes protobuf-es's JSON`, () => {
      const fx = loadFixture(dir as string, name);
      for (const withProvider of [false, true]) {
        const decoder = new BinlogDecoder({ schemaProvider: withProvider ? fixtureProvider(fx) : undefined });
        const tracker = new TransactionTracker();
        tracker.file = "mysql-bin.000001";
        const builder = new EntryBuilder({ flavor: "mysql" });
        let count = 0;
        let offset = 4;
        for (const hex of fx.packets) {
          const bytes = Buffer.from(hex, "hex").subarray(1);
          const event = decoder.decode(bytes, { file: "mysql-bin.000001", offset });
          const gtid = tracker.observe(event, offset, offset + bytes.length);
          const entry = builder.build({
            event,
            file: "mysql-bin.000001",
            offset,
            nextOffset: offset + bytes.length,
            gtid,
            serverId: 1,
          });
          offset += bytes.length;
          if (!entry) continue;
          count++;
          assertSameJson(entry, `${name} at ${offset}`);
        }
        assert.ok(count > 10, `entries checked: ${count}`);
      }
    });
  }
});
