// bench/decode/server.ts: why mariadbd could not start on a saved dataset, from its error log.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startupFailure } from "../../../bench/decode/server.js";

test("a dataset another mariadbd holds is named as in use, with what to do", () => {
  const log = [
    "2026-12-07 17:26:01 0 [Note] InnoDB: Number of transaction pools: 1",
    "2026-12-07 17:26:02 0 [ERROR] InnoDB: Unable to lock ./ibdata1 error: 11",
    "2026-12-07 17:26:02 0 [ERROR] Plugin 'InnoDB' registration as a STORAGE ENGINE failed.",
  ].join("\n");
  const why = startupFailure(log, "/tmp/ds500k/data");
  assert.match(why, /\/tmp\/ds500k\/data is in use by another mariadbd/);
  assert.match(why, /give each run a copy of its own/);
});

test("any other failure gives the log's last errors, without their timestamps", () => {
  const log = [
    "2026-12-07 17:28:31 0 [ERROR] mariadbd: File './mysql-bin.000030' not found (Errcode: 2)",
    "2026-12-07 17:28:31 0 [ERROR] Could not open log file",
    "2026-12-07 17:28:31 0 [ERROR] Can't init tc log",
    "2026-12-07 17:28:31 0 [ERROR] Aborting",
  ].join("\n");
  assert.equal(startupFailure(log, "/d"), "Could not open log file; Can't init tc log; Aborting");
  assert.equal(startupFailure("", "/d"), "no error in its log");
});
