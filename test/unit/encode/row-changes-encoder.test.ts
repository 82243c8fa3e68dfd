// Row changes written straight from their values (src/server/encode/row-changes-encoder.ts)
// against the same entry as objects (rowChangesEntry) through protobuf-es's toBinary: byte for
// byte, on the decoder's fixtures (every column type of MySQL 8.4) and on generated row
// changes (any column specs, values with any code unit and of any length, NULL and missing
// values, every kind, field-filter masks). And a field filter keeps the same columns on row
// changes as on the entry as objects.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { BatchSchema } from "../../../src/gen/sluice/v1/canal_service_pb.js";
import { EventType, HeaderSchema } from "../../../src/gen/sluice/v1/entry_pb.js";
import { EntryEncoder } from "../../../src/server/encode/entry-encoder.js";
import { filterSubject } from "../../../src/server/entry/filter-subject.js";
import {
  isRowChanges,
  type RowChangeRows,
  type RowChanges,
  rowChangesEntry,
} from "../../../src/server/entry/row-changes.js";
import { EventFilter } from "../../../src/server/filter/index.js";
import { EntryBuilder } from "../../../src/server/parse/entry-builder.js";
import { filterEntry } from "../../../src/server/sink/entry-filter.js";
import { fixturesDir, loadFixture } from "../binlog/helpers.js";
import { COLUMN_SPEC, HEADER, INT64, VALUE } from "./arbitrary-entry.js";
import { fixtureSourceEvents } from "./fixture-events.js";

const encoder = new EntryEncoder();
const TEST_HEADER = create(HeaderSchema, {
  logfileName: "mysql-bin.000001",
  schemaName: "shop",
  tableName: "users",
});

/** r's bytes as an `entries` field, and the same entry as objects through protobuf-es. */
function assertSameBytes(r: RowChanges, what: string): void {
  const actual = encoder.encodeField(r);
  const expected = Buffer.from(toBinary(BatchSchema, create(BatchSchema, { entries: [rowChangesEntry(r)] })));
  if (!actual.equals(expected)) {
    assert.fail(`${what}: row changes ${actual.toString("hex")}\n  protobuf-es ${expected.toString("hex")}`);
  }
  // And the Entry message alone, as EntryEncoder.encode gives it.
  assert.ok(encoder.encode(r).equals(encoder.encode(rowChangesEntry(r))), `${what}: encode`);
}

const ROW_CHANGES: fc.Arbitrary<RowChanges> = fc.array(COLUMN_SPEC, { maxLength: 6 }).chain((columns) => {
  const image = fc.array(VALUE, { minLength: columns.length, maxLength: columns.length });
  const change: fc.Arbitrary<RowChangeRows> = fc.oneof(
    fc.record({
      kind: fc.constantFrom("insert" as const, "delete" as const),
      rows: fc.array(image, { maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant("update" as const),
      rows: fc.array(fc.record({ before: image, after: image }), { maxLength: 3 }),
    }),
  );
  return fc.record({
    kind: fc.constant("rowChanges" as const),
    header: HEADER,
    tableId: INT64,
    eventType: fc.constantFrom(EventType.INSERT, EventType.UPDATE, EventType.DELETE),
    columns: fc.constant(columns),
    change,
    keep: fc.option(fc.array(fc.boolean(), { minLength: columns.length, maxLength: columns.length }), {
      nil: undefined,
    }),
  });
});

describe("generated row changes (fast-check)", () => {
  test("encode to protobuf-es's bytes of the same entry as objects", () => {
    fc.assert(
      fc.property(ROW_CHANGES, (r) => assertSameBytes(r, "generated")),
      { numRuns: 1500 },
    );
  });

  test("an update's after image marks the columns that changed, an insert's every present one", () => {
    const spec = { sqlType: 4, name: "", isKey: false, length: 0, mysqlType: "", base64: false };
    const columns = [0, 1, 2, 3].map((index) => ({ ...spec, index, name: `c${index}` }));
    const r: RowChanges = {
      kind: "rowChanges",
      header: TEST_HEADER,
      tableId: 1n,
      eventType: EventType.UPDATE,
      columns,
      change: {
        kind: "update",
        rows: [{ before: ["a", "b", null, undefined], after: ["a", "x", null, "d"] }],
      },
    };
    const e = rowChangesEntry(r);
    const row = e.payload.case === "rowChange" ? e.payload.value.rowDatas[0] : undefined;
    assert.deepEqual(
      row?.afterColumns.map((c) => c.updated),
      [false, true, false, true],
    );
    assert.deepEqual(
      row?.beforeColumns.map((c) => c.updated),
      [false, false, false, false],
    );
    assertSameBytes(r, "update");
    const insert = rowChangesEntry({ ...r, change: { kind: "insert", rows: [["a", null, undefined, ""]] } });
    const after = insert.payload.case === "rowChange" ? insert.payload.value.rowDatas[0]?.afterColumns : [];
    assert.deepEqual(
      after?.map((c) => [c.updated, c.isNull, c.omitted]),
      [
        [true, false, false],
        [true, true, false],
        [false, false, true],
        [true, false, false],
      ],
    );
  });
});

describe("a field filter on row changes", () => {
  const filters = [
    new EventFilter({ filter: "shop\\..*", fieldFilter: "shop.users:id/email" }),
    new EventFilter({ fieldBlackFilter: "shop.users:ssn/name" }),
  ];
  test("keeps the columns it keeps on the entry as objects, and the bytes agree", () => {
    fc.assert(
      fc.property(
        ROW_CHANGES,
        fc.array(fc.constantFrom("id", "email", "name", "ssn"), { maxLength: 6 }),
        (base, names) => {
          const columns = base.columns.map((c, i) => ({ ...c, name: names[i] ?? c.name }));
          const r: RowChanges = { ...base, header: TEST_HEADER, columns };
          const subject = filterSubject(r, undefined);
          for (const filter of filters) {
            const kept = filterEntry(r, subject, filter);
            const keptObjects = filterEntry(rowChangesEntry(r), subject, filter);
            assert.ok(kept && keptObjects && isRowChanges(kept));
            assert.deepEqual(rowChangesEntry(kept), keptObjects);
            assert.ok(encoder.encodeField(kept).equals(encoder.encodeField(keptObjects)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// --- the decoder's fixtures ---

const dir = fixturesDir();
const skip = dir === undefined ? "shared/fixtures/binlog not found beside the repository" : false;

describe("row changes of the decoder's fixtures", { skip }, () => {
  for (const name of ["mysql84.json", "mysql84-fullmeta.json"]) {
    test(`${name}: every rows event encodes to protobuf-es's bytes, and build() gives the same entry`, () => {
      const fx = loadFixture(dir as string, name);
      for (const withProvider of [false, true]) {
        const builder = new EntryBuilder({ flavor: "mysql" });
        let rowsEvents = 0;
        for (const source of fixtureSourceEvents(fx, withProvider)) {
          const built = builder.buildForStore(source);
          if (!built || !isRowChanges(built)) continue;
          rowsEvents++;
          assertSameBytes(built, `${name} at ${source.nextOffset}`);
          assert.deepEqual(builder.build(source), rowChangesEntry(built));
        }
        assert.ok(rowsEvents >= 3, `rows events: ${rowsEvents}`);
      }
    });
  }
});
