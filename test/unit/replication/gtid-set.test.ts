import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeMysqlGtidSet, parseMysqlGtidSet } from "../../../src/server/replication/gtid-set.js";

test("parses MySQL GTID sets with several servers and ranges", () => {
  const set = parseMysqlGtidSet(
    "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7, 4f22aa47-71ca-11e1-9e33-c80aa9429562:3",
  );
  assert.deepEqual(set.get("3e11fa4771ca11e19e33c80aa9429562"), [
    { start: 1n, end: 5n },
    { start: 7n, end: 7n },
  ]);
  assert.deepEqual(set.get("4f22aa4771ca11e19e33c80aa9429562"), [{ start: 3n, end: 3n }]);
  assert.equal(parseMysqlGtidSet("").size, 0);
});

test("encodes the wire form COM_BINLOG_DUMP_GTID expects (end exclusive)", () => {
  const buf = encodeMysqlGtidSet("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5");
  assert.equal(buf.length, 8 + 16 + 8 + 16);
  assert.equal(buf.readBigUInt64LE(0), 1n);
  assert.equal(buf.subarray(8, 24).toString("hex"), "3e11fa4771ca11e19e33c80aa9429562");
  assert.equal(buf.readBigUInt64LE(24), 1n);
  assert.equal(buf.readBigUInt64LE(32), 1n);
  assert.equal(buf.readBigUInt64LE(40), 6n);
});

test("rejects what it cannot encode, naming the part", () => {
  assert.throws(
    () => parseMysqlGtidSet("not-a-uuid:1-2"),
    /"not-a-uuid:1-2" does not start with a server UUID/,
  );
  assert.throws(() => parseMysqlGtidSet("3e11fa47-71ca-11e1-9e33-c80aa9429562"), /has no transaction range/);
  assert.throws(() => parseMysqlGtidSet("3e11fa47-71ca-11e1-9e33-c80aa9429562:5-2"), /bad range "5-2"/);
  assert.throws(
    () => parseMysqlGtidSet("3e11fa47-71ca-11e1-9e33-c80aa9429562:tag:1"),
    /tagged GTIDs are not supported yet/,
  );
});
