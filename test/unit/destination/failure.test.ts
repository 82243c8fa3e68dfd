// What a destination says when it stops: the event, its table and cause, and whether an
// operator may skip it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BinlogDecodeError, EventType } from "../../../src/server/binlog/index.js";
import { describeFailure } from "../../../src/server/destination/failure.js";
import { ReplicationError } from "../../../src/server/replication/replication-client.js";

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
      assert.equal(f.fix, "set-cursor", name);
      assert.match(f.event?.notSkippable ?? "", /sluice cursor set/, name);
    }
    for (const type of [
      EventType.TABLE_MAP,
      EventType.QUERY,
      EventType.UPDATE_ROWS_V2,
      EventType.TRANSACTION_PAYLOAD,
    ]) {
      const f = describeFailure(decodeError(type, "X"));
      assert.equal(f.event?.notSkippable, undefined);
      assert.equal(f.fix, "skip-event");
    }
  });

  test("a failure that is not about one event names none", () => {
    const denied = describeFailure(
      new ReplicationError("ACCESS_DENIED", "access denied for canal@db:3306", 1045),
    );
    assert.equal(denied.event, undefined);
    assert.equal(denied.fix, undefined, "nothing the admin API can fix: the process exits");
    const purged = describeFailure(
      new ReplicationError("BINLOG_PURGED", "the source no longer has the binlog", 1236),
    );
    assert.equal(purged.fix, "set-cursor");
    assert.equal(
      describeFailure(new BinlogDecodeError("checksum mismatch")).event,
      undefined,
      "no position known",
    );
  });
});
