import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  RETRY_AFTER_MS,
  relayError,
  retryAfterMs,
  unauthenticated,
  unavailable,
} from "../../../src/protocol/errors.js";

test("each constructor gives the code of the design's error table", () => {
  const cases: Array<[ConnectError, Code]> = [
    [invalidArgument("batchSize", "must be 1..10000"), Code.InvalidArgument],
    [notFound("destination x not found"), Code.NotFound],
    [failedPrecondition("batch 2 is not the oldest (1 is)"), Code.FailedPrecondition],
    [alreadyExists("clientId 1001 is held by 10.0.0.9:40000 since 2024-01-01T00:00:00Z"), Code.AlreadyExists],
    [unavailable("no running server", 500), Code.Unavailable],
    [permissionDenied("not allowed"), Code.PermissionDenied],
    [unauthenticated("no credentials"), Code.Unauthenticated],
  ];
  for (const [err, code] of cases) {
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, code);
  }
});

test("invalidArgument names the field", () => {
  assert.equal(
    invalidArgument("batchSize", "must be 1..10000, got 0").rawMessage,
    "batchSize: must be 1..10000, got 0",
  );
  // Not twice when the message already names it.
  assert.equal(
    invalidArgument("batchSize", "batchSize must be 1..10000, got 0").rawMessage,
    "batchSize must be 1..10000, got 0",
  );
  assert.equal(
    invalidArgument("filter", 'bad regex in filter "a(": unterminated group').rawMessage,
    'bad regex in filter "a(": unterminated group',
  );
  // A longer word that merely contains the field does not count.
  assert.equal(
    invalidArgument("window", "windows must be 1..1000").rawMessage,
    "window: windows must be 1..1000",
  );
  assert.equal(invalidArgument("a.b", "axb is wrong").rawMessage, "a.b: axb is wrong");
});

test("unavailable puts the retry delay in the message and in retry-after-ms metadata", () => {
  const e = unavailable("no running server for destination example", 1500);
  assert.equal(e.rawMessage, "no running server for destination example (retry after 1500 ms)");
  assert.equal(e.metadata.get(RETRY_AFTER_MS), "1500");
  assert.equal(retryAfterMs(e), 1500);
  assert.equal(unavailable("x", 12.2).metadata.get(RETRY_AFTER_MS), "13");
  const plain = unavailable("server is shutting down");
  assert.equal(plain.rawMessage, "server is shutting down");
  assert.equal(retryAfterMs(plain), undefined);
});

test("retryAfterMs reads the metadata, or else the message", () => {
  assert.equal(retryAfterMs(new ConnectError("x (retry after 250 ms)", Code.Unavailable)), 250);
  assert.equal(retryAfterMs(new ConnectError("x", Code.Unavailable, { "retry-after-ms": "40" })), 40);
  assert.equal(retryAfterMs(new Error("boom")), undefined);
});

test("relayError keeps code, message and retry-after-ms of an error read from the wire", () => {
  const wire = new ConnectError("no runner (retry after 300 ms)", Code.Unavailable, {
    "retry-after-ms": "300",
    "content-type": "application/json",
  });
  // As connect-es marks errors it parsed from a response.
  (wire as { isWireError: boolean }).isWireError = true;
  const relayed = relayError(wire);
  assert.equal(relayed.isWireError, false);
  assert.equal(relayed.code, Code.Unavailable);
  assert.equal(relayed.rawMessage, "no runner (retry after 300 ms)");
  assert.equal(relayed.metadata.get(RETRY_AFTER_MS), "300");
  assert.equal(relayed.metadata.get("content-type"), null);
  const local = notFound("x");
  assert.equal(relayError(local), local);
});
