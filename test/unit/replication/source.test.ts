import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSourceUrl, redact } from "../../../src/server/replication/source.js";

test("parses source URLs", () => {
  assert.deepEqual(parseSourceUrl("mysql://repl:p%40ss@db.example:3307?ssl=verify-ca&ca=/etc/ca.pem"), {
    host: "db.example",
    port: 3307,
    user: "repl",
    password: "p@ss",
    ssl: "verify-ca",
    caFile: "/etc/ca.pem",
  });
  assert.equal(parseSourceUrl("mariadb://u@[::1]").host, "::1");
  assert.equal(parseSourceUrl("mysql://u:p@h").port, 3306);
});

test("bad source URLs say what is wrong without printing the password", () => {
  assert.throws(() => parseSourceUrl("postgres://u:secret@h"), /scheme must be mysql:\/\//);
  assert.throws(() => parseSourceUrl("mysql://h:1"), /names no user/);
  assert.throws(() => parseSourceUrl("mysql://u:p@h?ssl=maybe"), /ssl must be one of/);
  assert.throws(() => parseSourceUrl("mysql://u:p@h?sslmode=on"), /unknown URL parameter "sslmode"/);
  assert.throws(
    () => parseSourceUrl("mysql//u:secret@h"),
    (e: Error) => /is not a URL/.test(e.message) && !e.message.includes("secret"),
  );
  assert.equal(redact("mysql://u:secret@h:1"), "mysql://u:***@h:1");
});
