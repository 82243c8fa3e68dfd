// resolveTimeZone: which zone a source's TIMESTAMPs are rendered in, from its @@time_zone,
// @@system_time_zone and current offset.
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveTimeZone } from "../../../src/server/replication/replication-client.js";

test("an IANA name, UTC and a fixed offset are kept; anything else becomes the current offset", () => {
  assert.equal(resolveTimeZone("SYSTEM", "UTC", 0), "UTC");
  assert.equal(resolveTimeZone("SYSTEM", "gmt", 0), "gmt");
  assert.equal(resolveTimeZone("Europe/Berlin", "UTC", 60), "Europe/Berlin");
  assert.equal(resolveTimeZone("SYSTEM", "Asia/Tokyo", 540), "Asia/Tokyo");
  assert.equal(resolveTimeZone("+05:30", "UTC", 330), "+05:30");
  // MariaDB's system_time_zone is often an abbreviation no IANA database knows.
  assert.equal(resolveTimeZone("SYSTEM", "CEST", 120), "+02:00");
  assert.equal(resolveTimeZone("SYSTEM", "PDT", -420), "-07:00");
});
