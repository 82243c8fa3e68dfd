// The TypeScript client's pure helpers: which errors it retries, the server's retry hint, the
// back-off, and typed column values for the cases a live table rarely shows.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Backoff, isRetryable, retryAfterMs } from "../../../src/clients/typescript/retry.js";
import { columnValue } from "../../../src/clients/typescript/values.js";
import { ColumnSchema } from "../../../src/gen/sluice/v1/entry_pb.js";

test("retryable: the subscription can come back by itself; refusals for good are not", () => {
  for (const code of [Code.Unavailable, Code.FailedPrecondition, Code.Internal, Code.Unknown, Code.Aborted]) {
    assert.equal(isRetryable(new ConnectError("x", code)), true, Code[code]);
  }
  for (const code of [
    Code.InvalidArgument,
    Code.NotFound,
    Code.AlreadyExists,
    Code.PermissionDenied,
    Code.Unauthenticated,
    Code.Unimplemented,
    Code.Canceled,
  ]) {
    assert.equal(isRetryable(new ConnectError("x", code)), false, Code[code]);
  }
});

test("the server's retry hint, from metadata or from the message; back-off never below it", () => {
  const byHeader = new ConnectError("no runner", Code.Unavailable, { "retry-after-ms": "750" });
  assert.equal(retryAfterMs(byHeader), 750);
  const byMessage = new ConnectError("no running server for example (retry after 1200 ms)", Code.Unavailable);
  assert.equal(retryAfterMs(byMessage), 1200);
  assert.equal(retryAfterMs(new ConnectError("plain", Code.Unavailable)), undefined);

  const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 6 });
  const plain = new ConnectError("x", Code.Unavailable);
  const delays = Array.from({ length: 6 }, () => backoff.next(plain) as number);
  delays.forEach((d, i) => {
    const ceiling = Math.min(1000, 100 * 2 ** i);
    assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${i + 1}: ${d} within [${ceiling / 2}, ${ceiling}]`);
  });
  assert.equal(backoff.next(plain), undefined, "attempts used up");
  backoff.reset();
  assert.ok((backoff.next(byMessage) as number) >= 1200, "the hint wins over a shorter back-off");
});

test("a retry hint of 0 (the gateway knows the new runner, or holds the reopened stream) is taken at once, once between batches, without growing the back-off", () => {
  const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000 });
  const now = new ConnectError("runner changed", Code.Unavailable, { "retry-after-ms": "0" });
  const plain = new ConnectError("x", Code.Unavailable);
  assert.equal(backoff.next(now), 0);
  assert.equal(backoff.attempt, 0, "not counted as a back-off step");
  const first = backoff.next(plain) as number;
  assert.ok(first >= 50 && first <= 100, `the first step after it: ${first}`);
  // Twice in a row without a batch in between: the back-off takes over, so it cannot spin.
  const second = backoff.next(now) as number;
  assert.ok(second >= 100 && second <= 200, `a second 0 hint waits the next step: ${second}`);
  backoff.reset();
  assert.equal(backoff.next(now), 0, "after a batch, at once again");
});

test("typed values: zero dates, omitted, ENUM index, BIGINT UNSIGNED vs DECIMAL, time zones", () => {
  const col = (sqlType: number, value: string, more: Record<string, unknown> = {}) =>
    create(ColumnSchema, { sqlType, value, ...more });
  assert.equal(columnValue(col(91, "0000-00-00")), "0000-00-00");
  assert.equal(columnValue(col(93, "0000-00-00 00:00:00.000")), "0000-00-00 00:00:00.000");
  assert.equal(columnValue(col(4, "", { omitted: true })), undefined);
  assert.equal(columnValue(col(12, "", { isNull: true })), null);
  assert.equal(columnValue(col(4, "2")), 2, "ENUM index without labels");
  assert.equal(
    columnValue(col(3, "18446744073709551615", { mysqlType: "bigint(20) unsigned" })),
    18446744073709551615n,
  );
  assert.equal(columnValue(col(3, "-0.10", { mysqlType: "decimal(5,2)" })), "-0.10");
  assert.equal(columnValue(col(-5, "-9223372036854775808")), -9223372036854775808n);
  assert.equal(columnValue(col(7, "1.5")), 1.5);
  assert.equal(columnValue(col(12, "1999", { mysqlType: "year(4)" })), 1999);
  assert.equal(columnValue(col(12, "1999", { mysqlType: "varchar(4)" })), "1999");
  assert.deepEqual(
    columnValue(col(93, "2024-01-01 00:00:00"), { timeZone: "-05:00" }),
    new Date("2024-01-01T05:00:00Z"),
  );
  assert.deepEqual(columnValue(col(93, "2024-01-01 00:00:00.5")), new Date("2024-01-01T00:00:00.500Z"));
  assert.throws(() => columnValue(col(93, "2024-01-01 00:00:00"), { timeZone: "Europe/Paris" }), /timeZone/);
  assert.deepEqual(columnValue(col(2004, "AAE=", { base64: true })), Buffer.from([0, 1]));
  // base64 decides, whatever the type: a CHAR in a charset the server cannot decode
  assert.deepEqual(columnValue(col(1, "w6k=", { base64: true, mysqlType: "char(1)" })), Buffer.from("é"));
  assert.equal(columnValue(col(1, "w6k=", { mysqlType: "char(4)" })), "w6k=");
  assert.equal(columnValue(col(2005, "long text")), "long text");
});
