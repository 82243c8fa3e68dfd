// The delivery responses made from stored entry bytes (src/server/encode/responses.ts) against
// protobuf-es: GetResponse and StreamResponse{batch} byte for byte on generated batches, and
// what connect-es writes for a `preEncoded` message (toBinary, after create) is those bytes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  BatchSchema,
  GetResponseSchema,
  StreamResponseSchema,
} from "../../../src/gen/sluice/v1/canal_service_pb.js";
import { type FlatMessage, FlatMessageSchema } from "../../../src/gen/sluice/v1/flat_message_pb.js";
import { EntryEncoder } from "../../../src/server/encode/entry-encoder.js";
import { encodeGetResponse, encodeStreamBatch, preEncoded } from "../../../src/server/encode/responses.js";
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
    old: [{ note: "é" }],
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

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const a = Buffer.from(actual);
  const e = Buffer.from(expected);
  if (!a.equals(e))
    assert.fail(`${what}:\n  ours        ${a.toString("hex")}\n  protobuf-es ${e.toString("hex")}`);
}

/** What connect-es and the lean gRPC path write for a handler's answer `m`. */
function written(schema: DescMessage, m: object): Uint8Array {
  return toBinary(schema, create(schema, m as never));
}

describe("responses from stored entry bytes (fast-check)", () => {
  test("GetResponse: protobuf-es's bytes, and what connect-es writes of preEncoded", () => {
    fc.assert(
      fc.property(BATCH, ({ batchId, entries, flat, epoch }) => {
        const ours = encodeGetResponse(
          batchId,
          entries.map((e) => encoder.encodeField(e)),
          flat,
          epoch,
        );
        const expected = toBinary(
          GetResponseSchema,
          create(GetResponseSchema, { batchId, entries, flatMessages: flat, epoch }),
        );
        sameBytes(ours, expected, "GetResponse");
        sameBytes(written(GetResponseSchema, preEncoded(GetResponseSchema, ours)), expected, "preEncoded");
      }),
      { numRuns: 500 },
    );
  });

  test("StreamResponse with a Batch: protobuf-es's bytes, and what connect-es writes of preEncoded", () => {
    fc.assert(
      fc.property(BATCH, ({ batchId, entries, flat }) => {
        const ours = encodeStreamBatch(
          batchId,
          entries.map((e) => encoder.encodeField(e)),
          flat,
        );
        const batch = create(BatchSchema, { batchId, entries, flatMessages: flat });
        const expected = toBinary(
          StreamResponseSchema,
          create(StreamResponseSchema, { message: { case: "batch", value: batch } }),
        );
        sameBytes(ours, expected, "StreamResponse");
        sameBytes(
          written(StreamResponseSchema, preEncoded(StreamResponseSchema, ours)),
          expected,
          "preEncoded",
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe("responses: edges", () => {
  test("an empty GetResponse is no bytes, and preEncoded of none writes none", () => {
    const ours = encodeGetResponse("", [], [], 0n);
    assert.equal(ours.length, 0);
    assert.equal(written(GetResponseSchema, preEncoded(GetResponseSchema, ours)).length, 0);
  });

  test("a batch of megabytes (length prefixes of three and four bytes)", () => {
    const big = fc.sample(ENTRY, { numRuns: 200, seed: 3 });
    const entries = [...big, ...big, ...big, ...big, ...big];
    const fields = entries.map((e) => encoder.encodeField(e));
    const total = fields.reduce((n, f) => n + f.length, 0);
    assert.ok(total > 2_097_152, `the batch is ${total} bytes, want over 2 MiB`);
    const ours = encodeStreamBatch("1-1", fields, []);
    const expected = toBinary(
      StreamResponseSchema,
      create(StreamResponseSchema, {
        message: { case: "batch", value: create(BatchSchema, { batchId: "1-1", entries }) },
      }),
    );
    sameBytes(ours, expected, "StreamResponse");
    const back = fromBinary(
      StreamResponseSchema,
      written(StreamResponseSchema, preEncoded(StreamResponseSchema, ours)),
    );
    assert.equal(back.message.case, "batch");
    assert.equal(back.message.value?.entries.length, entries.length);
  });
});
