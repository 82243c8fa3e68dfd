// What the gateway does with its own failures and with calls that did not take effect.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ZkError } from "../../../src/common/zk/client.js";
import { callError, withCallErrors } from "../../../src/gateway/call-errors.js";
import { RetryBudget } from "../../../src/gateway/relay.js";
import { retryAfterMs } from "../../../src/protocol/errors.js";

test("a call that did not take effect is sent again after short growing pauses, for the hold time in all", () => {
  let now = 1000;
  const budget = new RetryBudget(2000, () => now);
  const pauses: number[] = [];
  for (let p = budget.next(7n); p !== undefined; p = budget.next(7n)) {
    pauses.push(p);
    now += p;
  }
  assert.deepEqual(pauses.slice(0, 4), [25, 50, 100, 100]);
  assert.ok(pauses.slice(2).every((p) => p === 100));
  // It spends at most the hold time, then gives up: the last pause ends at or after it.
  const spent = pauses.reduce((a, b) => a + b, 0);
  assert.ok(spent >= 2000 && spent < 2100, `spent ${spent} ms`);
});

test("a new runner (another epoch) gets short pauses again, within the same hold time", () => {
  let now = 0;
  const budget = new RetryBudget(5000, () => now);
  const pauses = [budget.next(1n), budget.next(1n), budget.next(1n), budget.next(2n), budget.next(2n)];
  assert.deepEqual(pauses, [25, 50, 100, 25, 50]);
  now = 5000;
  assert.equal(budget.next(3n), undefined, "the hold time counts from the first failure");
});

test("ZooKeeper failing under a call is unavailable with a retry delay, never unknown", () => {
  const e = callError(
    new ZkError(-116, "zookeeper is closing", "get", "/otter/canal/destinations/d/c/running"),
  );
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, /CLOSING/);
  assert.equal(retryAfterMs(e), 500);
  const own = new ConnectError("x", Code.NotFound);
  assert.equal(callError(own), own);
  assert.equal(callError(new Error("boom")).code, Code.Unknown);
});

test("withCallErrors maps the failures of unary and streaming methods", async () => {
  const closing = () => new ZkError(-116, "zookeeper is closing", "get");
  const impl = withCallErrors({
    async unary(): Promise<string> {
      throw closing();
    },
    async *stream(): AsyncGenerator<number> {
      yield 1;
      throw closing();
    },
    async fine(x: number): Promise<number> {
      return x + 1;
    },
  });
  await assert.rejects(impl.unary(), (e) => e instanceof ConnectError && e.code === Code.Unavailable);
  const got: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const n of impl.stream()) got.push(n);
    })(),
    (e) => e instanceof ConnectError && e.code === Code.Unavailable,
  );
  assert.deepEqual(got, [1]);
  assert.equal(await impl.fine(1), 2);
});
