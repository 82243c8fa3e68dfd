// GetResponse's JSON made from stored entries (src/server/encode/json-responses.ts) against
// what connect-es writes for the same GetResponse made the typed way (toJsonString with its
// defaults, UTF-8): byte for byte on generated batches, with and without flat messages, batchId
// and epoch; and each entry's JSON made once and shared.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, toJsonString } from "@bufbuild/protobuf";
import fc from "fast-check";
import { GetResponseSchema } from "../../../src/gen/sluice/v1/canal_service_pb.js";
import { type FlatMessage, FlatMessageSchema } from "../../../src/gen/sluice/v1/flat_message_pb.js";
import { EntryEncoder } from "../../../src/server/encode/entry-encoder.js";
import { encodeGetResponseJson, storedEntryJson } from "../../../src/server/encode/json-responses.js";
import { ENTRY, INT64, STRING } from "./arbitrary-entry.js";

const encoder = new EntryEncoder();

const FLAT: FlatMessage[] = [
  create(FlatMessageSchema, {
    id: 7n,
    database: "shop",
    table: "orders",
    pkNames: ["id"],
    type: "UPDATE",
    es: 1_700_000_000_000n,
    ts: 1_700_000_000_123n,
    sqlType: { id: 4, note: 12 },
    mysqlType: { id: "int", note: "varchar(20)" },
    data: [{ id: "1", note: null }],
    old: [{ note: 'é\u2028"' }],
    gtid: "0-1-42",
    logfileName: "mysql-bin.000001",
    logfileOffset: 1234n,
  }),
  create(FlatMessageSchema, { isDdl: true, sql: "ALTER TABLE t ADD c INT", type: "ALTER" }),
];

const BATCH = fc.record({
  batchId: fc.oneof(fc.constant(""), fc.constant("3-17"), STRING),
  entries: fc.array(ENTRY, { maxLength: 6 }),
  flat: fc.subarray(FLAT),
  epoch: INT64,
});

describe("GetResponse JSON from stored entries (fast-check)", () => {
  test("connect-es's bytes for the same GetResponse", () => {
    fc.assert(
      fc.property(BATCH, (b) => {
        const stored = b.entries.map((e) => encoder.encodeField(e));
        const actual = Buffer.concat(encodeGetResponseJson(b.batchId, stored, b.flat, b.epoch));
        const typed = create(GetResponseSchema, {
          batchId: b.batchId,
          entries: b.entries,
          flatMessages: b.flat,
          epoch: b.epoch,
        });
        // connect-es's JSON serialization: toJsonString with its options, then TextEncoder.
        const expected = Buffer.from(new TextEncoder().encode(toJsonString(GetResponseSchema, typed)));
        if (!actual.equals(expected))
          assert.fail(`ours        ${actual.toString("utf8")}\nconnect-es  ${expected.toString("utf8")}`);
      }),
      { numRuns: 1000 },
    );
  });

  test("every member absent: {}", () => {
    assert.equal(Buffer.concat(encodeGetResponseJson("", [], [], 0n)).toString(), "{}");
  });
});

describe("each entry's JSON", () => {
  test("made once per stored entry and shared; a copy of the bytes gets its own", () => {
    const [e] = fc.sample(ENTRY, { numRuns: 1, seed: 7 });
    const stored = encoder.encodeField(e as never);
    const first = storedEntryJson(stored);
    assert.equal(storedEntryJson(stored), first, "the same Buffer on the second delivery");
    const copy = Buffer.from(stored);
    assert.notEqual(storedEntryJson(copy), first);
    assert.ok(storedEntryJson(copy).equals(first));
  });
});
