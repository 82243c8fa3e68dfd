// A statement is classified once, as the binlog reader reads its QUERY event; the entry, the
// destination's filter and every client's filter decide from that classification alone. Each
// test hands on a classification that disagrees with the SQL: were the SQL parsed again
// anywhere, the outcome would follow the SQL instead.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { EntrySchema, EntryType, EventType } from "../../../src/gen/sluice/v1/entry_pb.js";
import type { QueryEvent } from "../../../src/server/binlog/index.js";
import { filterSubject } from "../../../src/server/entry/filter-subject.js";
import type { EntryPosition } from "../../../src/server/entry/positions.js";
import type { DdlInfo } from "../../../src/server/entry/statement.js";
import { EventFilter } from "../../../src/server/filter/index.js";
import type { SourceEvent } from "../../../src/server/parse/binlog-reader.js";
import { EntryBuilder } from "../../../src/server/parse/entry-builder.js";
import { encodedFilter, filterEntry } from "../../../src/server/sink/entry-filter.js";
import { EntryStorer } from "../../../src/server/store/stored-entry.js";

/** The SQL names shop.orders; the classification carried with it names other.items. */
const SQL = "ALTER TABLE shop.orders ADD c INT";
const CARRIED: DdlInfo = { kind: "ALTER", tables: [{ schema: "other", table: "items" }], isDdl: true };

function queryEvent(sql: string): SourceEvent {
  const event: QueryEvent = {
    type: "query",
    header: { timestamp: 1, typeCode: 2, serverId: 1, eventSize: 100, logPos: 200, flags: 0 },
    threadId: 7,
    executionTime: 0,
    errorCode: 0,
    schema: "shop",
    sql,
    statement: "ddl",
  };
  return { event, file: "mysql-bin.000001", offset: 100, nextOffset: 200, gtid: "", serverId: 1 };
}

const POSITION: EntryPosition = {
  file: "mysql-bin.000001",
  offset: 100,
  after: undefined,
  before: { file: "mysql-bin.000001", position: 4, gtid: "", timestamp: 0 },
  timestamp: 0,
  gtid: "",
  serverId: 1,
};

test("the entry builder takes a statement's kind and table from its carried classification", () => {
  const carried: DdlInfo = { kind: "TRUNCATE", tables: [{ schema: "other", table: "items" }], isDdl: true };
  const entry = new EntryBuilder({ flavor: "mariadb" }).build({ ...queryEvent(SQL), statement: carried });
  assert.ok(entry?.payload.case === "rowChange");
  assert.equal(entry.header?.eventType, EventType.TRUNCATE);
  assert.equal(`${entry.header?.schemaName}.${entry.header?.tableName}`, "other.items");
  assert.equal(entry.payload.value.sql, SQL, "the SQL itself travels unchanged");
});

test("the destination's filter and a client's filter judge a statement by its carried classification", () => {
  const entry = new EntryBuilder({ flavor: "mariadb" }).build({ ...queryEvent(SQL), statement: CARRIED });
  assert.ok(entry);
  const subject = filterSubject(entry, CARRIED);
  const stored = new EntryStorer().store(entry, subject, POSITION);
  const other = new EventFilter({ filter: "other\\..*" });
  const shop = new EventFilter({ filter: "shop\\..*" });
  assert.equal(filterEntry(entry, subject, other), entry);
  assert.equal(filterEntry(entry, subject, shop), undefined);
  assert.equal(encodedFilter(other)(stored.bytes, stored.subject), stored.bytes);
  assert.equal(encodedFilter(shop)(stored.bytes, stored.subject), undefined);
});

test("a statement entry without its classification is refused, not judged as a row change", () => {
  const entry = create(EntrySchema, {
    entryType: EntryType.ROWDATA,
    header: { schemaName: "shop", tableName: "orders", eventType: EventType.ALTER },
    payload: { case: "rowChange", value: { isDdl: true, sql: SQL, eventType: EventType.ALTER } },
  });
  assert.throws(() => filterSubject(entry, undefined), /has no classification/);
});
