// Tables the decoder passes over instead of decoding: excluded by includeTable (only the
// TABLE_MAP's name is read, so nothing else in it can fail), undecodable under tableErrors
// "skip", and events a caller was told to pass over (passOver, skipTable).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BinlogDecodeError, BinlogDecoder, type BinlogEvent } from "../../../src/server/binlog/index.js";

const TABLE_MAP = 19;
const WRITE_ROWS_V1 = 23;
const INT = 3;
const DATETIME = 12;

function event(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(19);
  h.writeUInt32LE(1700000000, 0);
  h[4] = type;
  h.writeUInt32LE(1, 5);
  h.writeUInt32LE(19 + body.length, 9);
  return Buffer.concat([h, body]);
}

function tableId(id: number): Buffer {
  const b = Buffer.alloc(8); // 6-byte id, 2 bytes of flags
  b.writeUIntLE(id, 0, 6);
  return b;
}

/** A TABLE_MAP of (INT, DATETIME) columns; `metaLength` other than 0 makes it undecodable. */
function tableMap(id: number, schema: string, table: string, metaLength = 0): Buffer {
  const name = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s), Buffer.from([0])]);
  return event(
    TABLE_MAP,
    Buffer.concat([
      tableId(id),
      name(schema),
      name(table),
      Buffer.from([2, INT, DATETIME, metaLength]),
      Buffer.alloc(metaLength),
      Buffer.from([0b11]), // both nullable
    ]),
  );
}

/** A WRITE_ROWS_V1 of one row; `truncated` leaves the DATETIME's 8 bytes short. */
function writeRows(id: number, rowId: number, truncated = false): Buffer {
  const row = Buffer.alloc(1 + 4 + 8);
  row[0] = 0; // no NULLs
  row.writeInt32LE(rowId, 1);
  row.writeBigUInt64LE(20240102030405n, 5);
  return event(
    WRITE_ROWS_V1,
    Buffer.concat([tableId(id), Buffer.from([2, 0b11]), truncated ? row.subarray(0, 9) : row]),
  );
}

const at = (offset: number) => ({ file: "mysql-bin.000001", offset });

function kinds(events: BinlogEvent[]): string[] {
  return events.map((e) =>
    e.type === "skipped_table"
      ? `skipped ${e.of} ${e.schema}.${e.table} ${e.reason}`
      : e.type === "rows"
        ? `rows ${e.table.schema}.${e.table.name} ${e.rows.length}`
        : e.type,
  );
}

describe("tables the decoder passes over", () => {
  test("a table includeTable excludes: only its name is read, an undecodable TABLE_MAP and rows stop nothing", () => {
    const d = new BinlogDecoder({ includeTable: (schema) => schema !== "secret" });
    const out = [
      d.decode(tableMap(7, "secret", "pii", 3), at(100)),
      d.decode(writeRows(7, 1, true), at(200)),
      d.decode(tableMap(7, "secret", "pii", 3), at(300)), // the same map again: from the cache
      d.decode(tableMap(8, "shop", "orders"), at(400)),
      d.decode(writeRows(8, 2), at(500)),
    ];
    assert.deepEqual(kinds(out), [
      "skipped table_map secret.pii filtered",
      "skipped rows secret.pii filtered",
      "skipped table_map secret.pii filtered",
      "table_map",
      "rows shop.orders 1",
    ]);
  });

  test("without tableErrors, an undecodable TABLE_MAP or row names file:offset, event and table", () => {
    const d = new BinlogDecoder();
    assert.throws(
      () => d.decode(tableMap(7, "shop", "broken", 3), at(100)),
      (err: unknown) =>
        err instanceof BinlogDecodeError &&
        err.offset === 100 &&
        err.table === "shop.broken" &&
        err.message.startsWith("mysql-bin.000001:100 TABLE_MAP_EVENT(19) of shop.broken: "),
    );
    d.decode(tableMap(8, "shop", "legacy"), at(200));
    assert.throws(
      () => d.decode(writeRows(8, 1, true), at(300)),
      (err: unknown) =>
        err instanceof BinlogDecodeError &&
        err.table === "shop.legacy" &&
        /^mysql-bin\.000001:300 WRITE_ROWS_V1_EVENT\(23\) of shop\.legacy: row image truncated/.test(
          err.message,
        ),
    );
  });

  test('tableErrors "skip": the undecodable events become skipped_table events carrying the error', () => {
    const d = new BinlogDecoder({ tableErrors: "skip" });
    const out = [
      d.decode(tableMap(7, "shop", "broken", 3), at(100)),
      d.decode(writeRows(7, 1), at(200)),
      d.decode(tableMap(8, "shop", "legacy"), at(300)),
      d.decode(writeRows(8, 1, true), at(400)),
      d.decode(writeRows(8, 2), at(500)),
    ];
    assert.deepEqual(kinds(out), [
      "skipped table_map shop.broken table_error",
      "skipped rows shop.broken table_error",
      "table_map",
      "skipped rows shop.legacy table_error",
      "rows shop.legacy 1",
    ]);
    const first = out[0] as Extract<BinlogEvent, { type: "skipped_table" }>;
    assert.match(first.error ?? "", /^mysql-bin\.000001:100 TABLE_MAP_EVENT\(19\) of shop\.broken: /);
    const row = out[3] as Extract<BinlogEvent, { type: "skipped_table" }>;
    assert.match(row.error ?? "", /^mysql-bin\.000001:400 .* of shop\.legacy: row image truncated/);
  });

  test("passOver: a TABLE_MAP takes its table's rows with it until its next TABLE_MAP; other events give undefined", () => {
    const d = new BinlogDecoder();
    const map = tableMap(8, "shop", "legacy");
    const skipped = d.passOver(map, at(100));
    assert.deepEqual(
      skipped && { of: skipped.of, table: `${skipped.schema}.${skipped.table}`, reason: skipped.reason },
      { of: "table_map", table: "shop.legacy", reason: "skipped" },
    );
    assert.deepEqual(kinds([d.decode(writeRows(8, 1), at(200))]), ["skipped rows shop.legacy skipped"]);
    assert.deepEqual(kinds([d.decode(map, at(300)), d.decode(writeRows(8, 2), at(400))]), [
      "table_map",
      "rows shop.legacy 1",
    ]);
    const rows = d.passOver(writeRows(8, 3, true), at(500));
    assert.equal(rows?.of, "rows");
    assert.equal(rows?.table, "legacy");
    assert.equal(d.passOver(event(16, Buffer.alloc(8)), at(600)), undefined, "an XID is not a table event");
  });
});
