// The client's row reader (wire/row-reader.ts) on the entries the server builds from the
// decoder's fixtures (shared/fixtures/binlog: every MySQL column type, NULLs, a NOBLOB image's
// absent columns, DDL and other statements): its rows, raw columns and typed values equal
// flatRows(fromBinary(...))'s.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type FlatRow, flatRows, typed } from "../../../src/clients/typescript/rows.js";
import { RowReader } from "../../../src/clients/typescript/wire/row-reader.js";
import { type Entry, EntrySchema } from "../../../src/gen/sluice/v1/entry_pb.js";
import { BinlogDecoder } from "../../../src/server/binlog/index.js";
import { EntryBuilder } from "../../../src/server/parse/entry-builder.js";
import { TransactionTracker } from "../../../src/server/parse/transaction-tracker.js";
import { fixtureProvider, fixturesDir, loadFixture } from "../binlog/helpers.js";

const dir = fixturesDir();
const skip = dir === undefined ? "shared/fixtures/binlog not found beside the repository" : false;

/** The server's entries for a fixture's packets, as it builds them from the binlog. */
function fixtureEntries(name: string): Entry[] {
  const fx = loadFixture(dir as string, name);
  const decoder = new BinlogDecoder({ schemaProvider: fixtureProvider(fx), timeZone: "UTC" });
  const tracker = new TransactionTracker();
  const builder = new EntryBuilder({ flavor: "mysql" });
  tracker.file = "mysql-bin.000001";
  const entries: Entry[] = [];
  let offset = 4;
  for (const hex of fx.packets) {
    const event = decoder.decode(Buffer.from(hex, "hex").subarray(1), { file: tracker.file, offset });
    const next = offset + hex.length / 2 - 1;
    const gtid = tracker.observe(event, offset, next);
    const entry = builder.build({ event, file: tracker.file, offset, nextOffset: next, gtid, serverId: 1 });
    if (entry) entries.push(entry);
    offset = next;
  }
  return entries;
}

const plain = (row: FlatRow) => ({
  ...row,
  beforeColumns: row.beforeColumns,
  afterColumns: row.afterColumns,
});

/** typed() of a row, Dates by their time, in two time zones. */
function typedValues(row: FlatRow): unknown {
  const list = (image: Record<string, unknown> | undefined) =>
    image && Object.entries(image).map(([k, v]) => [k, v instanceof Date ? `Date ${v.getTime()}` : v]);
  return ["UTC", "+08:00"].map((timeZone) => {
    const { before, after } = typed(row, { timeZone });
    return { before: list(before), after: list(after) };
  });
}

for (const name of ["mysql84.json", "mysql84-fullmeta.json"]) {
  describe(`fixture ${name}`, { skip }, () => {
    test("the reader's rows, raw columns and typed values are flatRows()'s", () => {
      const entries = fixtureEntries(name);
      const bytes = entries.map((e) => toBinary(EntrySchema, e));
      const expected = flatRows(bytes.map((b) => fromBinary(EntrySchema, b)));
      const actual = new RowReader().rows(bytes);
      assert.deepStrictEqual(actual.map(plain), expected.map(plain));
      assert.deepStrictEqual(actual.map(typedValues), expected.map(typedValues));

      // What the fixture holds, so that the comparison above covers it: inserts, an update, a
      // delete, statements; every column type; NULLs and absent (NOBLOB) columns.
      const types = new Set(expected.map((r) => r.type));
      for (const t of ["INSERT", "UPDATE", "DELETE"]) assert.ok(types.has(t as FlatRow["type"]), t);
      assert.ok(
        expected.some((r) => r.sql !== ""),
        "a statement",
      );
      const columns = expected.flatMap((r) => [...r.beforeColumns, ...r.afterColumns]);
      const mysqlTypes = new Set(columns.map((c) => c.mysqlType.replace(/\(.*$/, "")));
      assert.ok(mysqlTypes.size >= 20, `column types: ${[...mysqlTypes].join(", ")}`);
      assert.ok(
        columns.some((c) => c.isNull),
        "a NULL",
      );
      assert.ok(
        columns.some((c) => c.omitted),
        "an absent column",
      );
      assert.ok(
        columns.some((c) => c.base64),
        "a binary value",
      );
    });
  });
}
