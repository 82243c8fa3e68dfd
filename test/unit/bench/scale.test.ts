// bench/scale's pure parts: the balance check of the runners' spread, the latency histogram
// merged over consumer processes, how streams are paired and spread over processes, and the
// per-stream exactness check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { spreadOf } from "../../../bench/scale/balance.js";
import { checkStreams } from "../../../bench/scale/check.js";
import type { StreamResult } from "../../../bench/scale/consumer.js";
import { blocks, streamPairs } from "../../../bench/scale/consumers.js";
import { bucketOf, LatencyHistogram } from "../../../bench/scale/histogram.js";

const A = "127.0.0.1:1";
const B = "127.0.0.1:2";
const C = "127.0.0.1:3";

test("balanced: every destination runs and no server runs two more than another", () => {
  assert.deepEqual(spreadOf([A, B, C, A], [A, B, C]), {
    perServer: { [A]: 2, [B]: 1, [C]: 1 },
    unassigned: 0,
    balanced: true,
  });
  // 3/1/0 and 2/2/0 are where the balancer still moves one (to a server running two fewer).
  assert.equal(spreadOf([A, A, A, B], [A, B, C]).balanced, false);
  assert.equal(spreadOf([A, A, B, B], [A, B, C]).balanced, false);
  // A server running nothing is counted.
  assert.deepEqual(spreadOf([A, B], [A, B, C]).perServer, { [A]: 1, [B]: 1, [C]: 0 });
  assert.equal(spreadOf([A, B], [A, B, C]).balanced, true);
  // A destination without a runner (a handover in progress) is not balanced yet.
  const s = spreadOf([A, undefined, C], [A, B, C]);
  assert.equal(s.unassigned, 1);
  assert.equal(s.balanced, false);
});

test("histogram buckets keep three significant digits; percentiles and max of merged histograms", () => {
  assert.equal(bucketOf(57.9), 57);
  assert.equal(bucketOf(1234), 1230);
  assert.equal(bucketOf(98_765), 98_700);
  assert.equal(bucketOf(-3), 0);
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  for (let v = 1; v <= 900; v++) a.add(v * 10);
  for (let v = 901; v <= 1000; v++) b.add(v * 10);
  b.add(10_003);
  const all = new LatencyHistogram();
  all.merge(a.buckets(), a.max);
  all.merge(b.buckets(), b.max);
  assert.equal(all.count, 1001);
  assert.equal(all.max, 10_003);
  assert.equal(all.percentile(50), 5010);
  assert.ok(Math.abs(all.percentile(99) - 9910) <= 100, String(all.percentile(99)));
  assert.equal(all.percentile(100), 10_003);
  assert.ok(Number.isNaN(new LatencyHistogram().percentile(50)));
});

test("streams are distinct (destination, clientId) pairs, spread in contiguous blocks", () => {
  const pairs = streamPairs(["d1", "d2", "d3"], 7);
  assert.deepEqual(pairs.slice(0, 4), [
    ["d1", "c1"],
    ["d2", "c1"],
    ["d3", "c1"],
    ["d1", "c2"],
  ]);
  assert.equal(new Set(pairs.map((p) => p.join("/"))).size, 7);
  const parts = blocks(pairs, 3);
  assert.deepEqual(
    parts.map((p) => p.length),
    [3, 2, 2],
  );
  assert.deepEqual(parts.flat(), pairs);
  assert.equal(blocks([1, 2], 5).length, 2);
  const big = blocks(
    streamPairs(
      Array.from({ length: 50 }, (_, i) => `d${i}`),
      500,
    ),
    5,
  );
  assert.deepEqual(
    big.map((p) => new Set(p.map(([d]) => d)).size),
    [50, 50, 50, 50, 50],
  );
});

test("a stream is exact only with its destination's ids 1..n in order, and the same values as the others", () => {
  const stream = (d: string, c: string, runs: StreamResult["runs"], valueChars = 100): StreamResult => ({
    destination: d,
    clientId: c,
    rows: runs.reduce((s, r) => s + r[3], 0),
    batches: 1,
    runs,
    subscriptions: 1,
    retries: [],
    lastAckEpochMs: 0,
    valueChars,
  });
  const pairs: Array<[string, string]> = [
    ["d1", "c1"],
    ["d1", "c2"],
  ];
  const ok = [stream("d1", "c1", [["t", "I", 1, 5]]), stream("d1", "c2", [["t", "I", 1, 5]])];
  assert.deepEqual(checkStreams(ok, pairs, 5), []);
  const skipped = [
    ok[0] as StreamResult,
    stream("d1", "c2", [
      ["t", "I", 1, 2],
      ["t", "I", 4, 2],
    ]),
  ];
  assert.match(checkStreams(skipped, pairs, 5)[0] ?? "", /d1\/c2: expected ids 1..5/);
  assert.match(checkStreams([ok[0] as StreamResult], pairs, 5)[0] ?? "", /d1\/c2: no result/);
  const otherValues = [ok[0] as StreamResult, stream("d1", "c2", [["t", "I", 1, 5]], 99)];
  assert.match(checkStreams(otherValues, pairs, 5)[0] ?? "", /value chars/);
});
