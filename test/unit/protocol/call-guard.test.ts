import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { abortSignalOf, CallCancel } from "../../../src/protocol/call-cancel.js";
import { abortError, linkSignals, raceAbort } from "../../../src/protocol/server/call-guard.js";

test("a linked signal fires with the reason of the first of its two signals", () => {
  const a = new AbortController();
  const b = new AbortController();
  const linked = linkSignals(a.signal, b.signal);
  assert.equal(linked.aborted, false);
  const reason = new ConnectError("server is shutting down", Code.Unavailable);
  b.abort(reason);
  assert.equal(linked.aborted, true);
  assert.equal(linked.reason, reason);
  a.abort(new Error("later"));
  assert.equal(linked.reason, reason);
});

test("a linked signal of an already aborted one is aborted", () => {
  const a = new AbortController();
  a.abort(new ConnectError("late", Code.DeadlineExceeded));
  const linked = linkSignals(a.signal, new AbortController().signal);
  assert.equal(linked.aborted, true);
  assert.equal(abortError(linked).code, Code.DeadlineExceeded);
});

test("raceAbort resolves with the promise, or rejects with the signal's reason as a ConnectError", async () => {
  const a = new AbortController();
  assert.equal(await raceAbort(Promise.resolve(7), [a.signal]), 7);
  const pending = raceAbort(new Promise(() => {}), [a.signal]);
  a.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
  await assert.rejects(
    pending,
    (e: unknown) => e instanceof ConnectError && e.code === Code.DeadlineExceeded,
  );
  // An already aborted signal, and a plain abort() without reason: canceled.
  const plain = new AbortController();
  plain.abort();
  await assert.rejects(
    raceAbort(Promise.resolve(1), [plain.signal]),
    (e: unknown) => ConnectError.from(e).code === Code.Canceled,
  );
  // The loser's rejection is not left unhandled.
  const b = new AbortController();
  const loser = raceAbort(new Promise((_, reject) => setTimeout(() => reject(new Error("late")), 5)), [
    b.signal,
  ]);
  b.abort(new ConnectError("x", Code.Unavailable));
  await assert.rejects(loser);
  await new Promise((resolve) => setTimeout(resolve, 20));
});

test("a CallCancel runs its listeners once, on abort, and keeps its first reason", () => {
  const cancel = new CallCancel();
  const calls: string[] = [];
  const a = () => calls.push("a");
  const b = () => calls.push("b");
  cancel.addEventListener("abort", a, { once: true });
  cancel.addEventListener("abort", a); // the same listener again: once
  cancel.addEventListener("abort", b);
  cancel.removeEventListener("abort", b);
  assert.equal(cancel.aborted, false);
  const reason = new ConnectError("the client went away", Code.Canceled);
  cancel.abort(reason);
  cancel.abort(new Error("later"));
  cancel.addEventListener("abort", () => calls.push("late")); // as an AbortSignal: never runs
  assert.deepEqual(calls, ["a"]);
  assert.equal(cancel.aborted, true);
  assert.equal(cancel.reason, reason);
});

test("raceAbort takes a CallCancel beside AbortSignals; abortSignalOf makes a real signal of one", async () => {
  const cancel = new CallCancel();
  const shutdown = new AbortController();
  const raced = raceAbort(new Promise(() => {}), [cancel, shutdown.signal]);
  const asSignal = abortSignalOf(cancel);
  cancel.abort(new ConnectError("the deadline passed", Code.DeadlineExceeded));
  await assert.rejects(raced, (e: unknown) => e instanceof ConnectError && e.code === Code.DeadlineExceeded);
  assert.equal(asSignal.aborted, true);
  assert.equal(asSignal.reason, cancel.reason);
  assert.equal(abortSignalOf(cancel).aborted, true, "of an aborted one: aborted at once");
});
