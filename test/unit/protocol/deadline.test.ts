import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { test } from "node:test";
import {
  capTimeoutHeaders,
  formatGrpcTimeout,
  MAX_TIMER_MS,
  parseGrpcTimeout,
} from "../../../src/protocol/deadline.js";

test("grpc-timeout values parse in every unit", () => {
  assert.equal(parseGrpcTimeout("2H"), 7_200_000);
  assert.equal(parseGrpcTimeout("3M"), 180_000);
  assert.equal(parseGrpcTimeout("30S"), 30_000);
  assert.equal(parseGrpcTimeout("1500m"), 1500);
  assert.equal(parseGrpcTimeout("2000u"), 2);
  assert.equal(parseGrpcTimeout("5000000n"), 5);
  for (const bad of ["", "10", "10s", "123456789m", "-1S", "1.5S"]) {
    assert.equal(parseGrpcTimeout(bad), undefined, bad);
  }
});

test("grpc-timeout values are formatted with at most 8 digits", () => {
  assert.equal(formatGrpcTimeout(300), "300m");
  assert.equal(formatGrpcTimeout(99_999_999), "99999999m");
  assert.equal(formatGrpcTimeout(MAX_TIMER_MS), "2147483S");
  assert.equal(parseGrpcTimeout(formatGrpcTimeout(MAX_TIMER_MS)), 2_147_483_000);
});

test("longer timeouts are lowered to the cap, shorter and absent ones left alone", () => {
  const h: IncomingHttpHeaders = { "connect-timeout-ms": "60000", "grpc-timeout": "1M" };
  assert.equal(capTimeoutHeaders(h, 300), true);
  assert.deepEqual(h, { "connect-timeout-ms": "300", "grpc-timeout": "300m" });

  const short: IncomingHttpHeaders = { "connect-timeout-ms": "200", "grpc-timeout": "100m" };
  assert.equal(capTimeoutHeaders(short, 300), false);
  assert.deepEqual(short, { "connect-timeout-ms": "200", "grpc-timeout": "100m" });

  const none: IncomingHttpHeaders = { "content-type": "application/json" };
  assert.equal(capTimeoutHeaders(none, 300), false);
  assert.deepEqual(none, { "content-type": "application/json" });
});

test("without a cap, timeouts are still kept within Node's longest timer", () => {
  const h: IncomingHttpHeaders = { "connect-timeout-ms": "9999999999", "grpc-timeout": "99999999H" };
  capTimeoutHeaders(h);
  assert.equal(h["connect-timeout-ms"], String(MAX_TIMER_MS));
  assert.equal(parseGrpcTimeout(h["grpc-timeout"] as string), 2_147_483_000);
  const huge: IncomingHttpHeaders = { "connect-timeout-ms": "1000" };
  capTimeoutHeaders(huge, Number.MAX_SAFE_INTEGER);
  assert.equal(huge["connect-timeout-ms"], "1000");
});

test("malformed values are left for connect-es to refuse", () => {
  const h: IncomingHttpHeaders = { "connect-timeout-ms": "soon", "grpc-timeout": "1 hour" };
  assert.equal(capTimeoutHeaders(h, 300), false);
  assert.deepEqual(h, { "connect-timeout-ms": "soon", "grpc-timeout": "1 hour" });
});
