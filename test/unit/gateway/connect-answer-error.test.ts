// A server's Connect JSON error as the gateway's JSON relay reads it (raw-unary.ts): the code,
// message and details the server wrote, its retry-after-ms, and no other header; so a NotApplied
// answer is sent again as on the typed path, and the caller gets the typed path's error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { notApplied, wasNotApplied } from "../../../src/contracts/not-applied.js";
import { connectAnswerError } from "../../../src/gateway/raw-unary.js";
import { unavailable } from "../../../src/protocol/errors.js";
import { connectUnaryError } from "../../../src/protocol/wire-errors.js";

/** The answer a server's connect-es (or lean path) writes for `err`, as the HTTP/2 client gives it. */
function answerOf(err: ConnectError, extra: Record<string, string> = {}) {
  const a = connectUnaryError(err);
  const body = a.body;
  return {
    headers: { ":status": String(a.status), date: "Mon, 07 Dec 2026 15:00:00 GMT", ...a.headers, ...extra },
    body: [body.subarray(0, 7), body.subarray(7)],
    trailers: {},
  };
}

test("a NotApplied unavailable: retried (the detail is read), retry-after-ms kept, nothing else", () => {
  const sent = notApplied(unavailable("destination example is stopping; retry shortly", 250));
  const got = connectAnswerError(answerOf(sent, { "x-other": "1" }));
  assert.ok(got !== undefined);
  assert.equal(got.code, Code.Unavailable);
  assert.equal(got.rawMessage, sent.rawMessage);
  assert.ok(wasNotApplied(got), "the NotApplied detail survives: the gateway sends the call again");
  assert.equal(got.metadata.get("retry-after-ms"), "250");
  assert.deepEqual([...got.metadata.keys()], ["retry-after-ms"]);
  // What the caller gets: the same Connect error the server wrote.
  const back = connectUnaryError(got);
  const first = connectUnaryError(sent);
  assert.equal(back.status, first.status);
  assert.deepEqual(JSON.parse(back.body.toString()), JSON.parse(first.body.toString()));
});

test("an error that took effect is not NotApplied; a 200 is no error", () => {
  const got = connectAnswerError(
    answerOf(new ConnectError('batch "1-9" is not the oldest', Code.FailedPrecondition)),
  );
  assert.equal(got?.code, Code.FailedPrecondition);
  assert.ok(!wasNotApplied(got));
  assert.equal(
    connectAnswerError({ headers: { ":status": "200" }, body: [Buffer.from("{}")], trailers: {} }),
    undefined,
  );
});

test("an answer that is not Connect's JSON error: the code of its HTTP status", () => {
  const got = connectAnswerError({
    headers: { ":status": "503", "content-type": "text/plain" },
    body: [Buffer.from("no")],
    trailers: {},
  });
  assert.equal(got?.code, Code.Unavailable);
  assert.ok(!wasNotApplied(got));
});
