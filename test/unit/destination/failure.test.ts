// What a destination says when it stops: the event, its table and cause, and whether an
// operator may skip it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BinlogDecodeError, EventType } from "../../../src/server/binlog/index.js";
import { describeFailure } from "../../../src/server/destination/failure.js";

const decodeError = (eventType: number, name: string, table?: string) =>
  new BinlogDecodeError("row image truncated in column 1", {
    file: "mysql-bin.000003",
    offset: 4711,
    eventType,
    eventTypeName: name,
    ...(table ? { table } : {}),
  });

describe("describeFailure", () => {
  test("a row event that cannot be decoded: where, which table, why, skippable", () => {
    const f = describeFailure(
      decodeError(EventType.WRITE_ROWS_V1, "WRITE_ROWS_V1_EVENT", "shop.legacy"),
      1000,
    );
    assert.equal(
      f.message,
      "mysql-bin.000003:4711 WRITE_ROWS_V1_EVENT(23) of shop.legacy: row image truncated in column 1",
    );
    assert.equal(f.since, 1000);
    assert.deepEqual(f.event, {
      file: "mysql-bin.000003",
      position: 4711,
      eventType: "WRITE_ROWS_V1_EVENT",
      table: "shop.legacy",
      cause: "row image truncated in column 1",
    });
  });

  test("events that frame transactions or describe the file cannot be skipped, and the message says what instead", () => {
    for (const [type, name] of [
      [EventType.XID, "XID_EVENT"],
      [EventType.MARIADB_GTID, "MARIADB_GTID_EVENT"],
      [EventType.FORMAT_DESCRIPTION, "FORMAT_DESCRIPTION_EVENT"],
      [EventType.ROTATE, "ROTATE_EVENT"],
    ] as const) {
      const f = describeFailure(decodeError(type, name));
      assert.match(f.event?.notSkippable ?? "", /sluice cursor set/, name);
    }
    for (const type of [
      EventType.TABLE_MAP,
      EventType.QUERY,
      EventType.UPDATE_ROWS_V2,
      EventType.TRANSACTION_PAYLOAD,
    ]) {
      assert.equal(describeFailure(decodeError(type, "X")).event?.notSkippable, undefined);
    }
  });

  test("a failure that is not about one event names none", () => {
    assert.equal(describeFailure(new Error("Access denied for user 'canal'")).event, undefined);
    assert.equal(
      describeFailure(new BinlogDecodeError("checksum mismatch")).event,
      undefined,
      "no position known",
    );
  });
});
