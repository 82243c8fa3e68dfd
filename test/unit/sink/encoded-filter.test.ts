// A client's filter on stored entries (encodedFilter, src/server/sink/entry-filter.ts), which
// judges an entry from the filter subject stored beside its bytes and prunes columns from
// them, gives what the filter gives on the entry as objects: the same entries dropped, the
// same columns kept; entries that pass whole are the stored bytes themselves, not copies.
// Statements are judged from the classification carried on their subject, never their SQL.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { type Entry, EntrySchema, EntryType, EventType } from "../../../src/gen/sluice/v1/entry_pb.js";
import { decodeEntryField } from "../../../src/server/encode/entry-encoder.js";
import { type FilterSubject, filterSubject } from "../../../src/server/entry/filter-subject.js";
import { EventFilter, type EventFilterOptions } from "../../../src/server/filter/index.js";
import { classifyStatement } from "../../../src/server/parse/ddl.js";
import { encodedFilter, filterEntry } from "../../../src/server/sink/entry-filter.js";
import { EntryStorer } from "../../../src/server/store/stored-entry.js";
import { POSITION } from "../store/stored-entries.js";

const storer = new EntryStorer();
const COLUMNS = ["id", "note", "price"];
const STATEMENTS = [
  "ALTER TABLE orders ADD c INT",
  "CREATE TABLE other.items (a INT)",
  "RENAME TABLE orders TO other.orders",
  "DROP TABLE shop.items, other.orders",
  "GRANT SELECT ON *.* TO u",
  "BEGIN",
];

const columns = fc
  .subarray(COLUMNS, { minLength: 1 })
  .map((names) => names.map((name, index) => ({ index, name, value: `${name}!`, sqlType: 12 })));

const ENTRY: fc.Arbitrary<Entry> = fc.oneof(
  fc
    .record({
      schema: fc.constantFrom("shop", "other"),
      table: fc.constantFrom("orders", "items"),
      eventType: fc.constantFrom(EventType.INSERT, EventType.UPDATE, EventType.DELETE),
      rows: fc.array(fc.record({ beforeColumns: columns, afterColumns: columns }), {
        minLength: 1,
        maxLength: 3,
      }),
    })
    .map(({ schema, table, eventType, rows }) =>
      create(EntrySchema, {
        entryType: EntryType.ROWDATA,
        header: { schemaName: schema, tableName: table, eventType },
        payload: { case: "rowChange", value: { eventType, rowDatas: rows } },
      }),
    ),
  fc
    .record({
      schema: fc.constantFrom("shop", "other", ""),
      sql: fc.constantFrom(...STATEMENTS),
      isDdl: fc.boolean(),
    })
    .map(({ schema, sql, isDdl }) =>
      create(EntrySchema, {
        entryType: EntryType.ROWDATA,
        header: { schemaName: schema, eventType: isDdl ? EventType.ALTER : EventType.QUERY },
        payload: {
          case: "rowChange",
          value: { isDdl, sql, ddlSchemaName: schema, eventType: isDdl ? EventType.ALTER : EventType.QUERY },
        },
      }),
    ),
  fc.constant(create(EntrySchema, { entryType: EntryType.TRANSACTION_BEGIN })),
);

/** The subject the parse stage makes: a statement's classification made once, from its SQL. */
function subjectOf(entry: Entry): FilterSubject | undefined {
  const change = entry.payload.case === "rowChange" ? entry.payload.value : undefined;
  const isStatement = change !== undefined && (change.isDdl || change.eventType === EventType.QUERY);
  return filterSubject(entry, isStatement ? classifyStatement(change.sql, change.ddlSchemaName) : undefined);
}

const FILTERS: EventFilterOptions[] = [
  {},
  { filter: "shop\\..*" },
  { blackFilter: "shop.items" },
  { fieldFilter: "shop.orders:id/note" },
  { fieldBlackFilter: "shop.orders:price,other.items:id" },
  { filter: "other\\..*", fieldFilter: "other.items:id" },
];

describe("a client's filter on stored entries (fast-check)", () => {
  test("drops, keeps and prunes as the filter on objects does", () => {
    const filters = FILTERS.map((f) => new EventFilter(f));
    fc.assert(
      fc.property(ENTRY, fc.nat({ max: FILTERS.length - 1 }), (entry, i) => {
        const filter = filters[i] as EventFilter;
        const subject = subjectOf(entry);
        const stored = storer.store(entry, subject, POSITION);
        const bytes = encodedFilter(filter)(stored.bytes, stored.subject);
        const expected = filterEntry(entry, subject, filter);
        if (expected === undefined) {
          assert.equal(bytes, undefined, "dropped");
          return;
        }
        assert.ok(bytes !== undefined, "kept");
        const normalized = fromBinary(EntrySchema, toBinary(EntrySchema, expected));
        assert.deepEqual(decodeEntryField(bytes), normalized);
        if (expected === entry) assert.equal(bytes, stored.bytes, "passed whole: the stored bytes, shared");
      }),
      { numRuns: 1000 },
    );
  });

  test("the size counted is the bytes held plus a fixed overhead", () => {
    const end = create(EntrySchema, { entryType: EntryType.TRANSACTION_END });
    const stored = storer.store(end, subjectOf(end), POSITION);
    assert.ok(stored.size > stored.bytes.length);
    assert.equal(stored.subject, undefined);
  });
});
