// What the status page computes from ListDestinations' JSON: texts, levels, the lag history it
// keeps and the sparkline it draws (src/status-page/browser/model.ts, run here as in the browser).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DestinationStatusJson } from "../../../src/gen/sluice/v1/admin_service_pb.js";
import {
  connectError,
  durationText,
  fixText,
  LagHistory,
  lagLevel,
  lagOf,
  lagText,
  positionText,
  sparkline,
  stateOf,
  timeText,
} from "../../../src/status-page/browser/model.js";

test("lag: -1 is unknown; texts and levels by size", () => {
  assert.equal(lagOf({ lagMs: "-1" }), undefined);
  assert.equal(lagOf({}), 0, "proto3 JSON leaves zero out");
  assert.equal(lagOf({ lagMs: "1500" }), 1500);
  assert.equal(lagText(undefined), "unknown");
  assert.equal(lagText(250), "250 ms");
  assert.equal(lagText(1500), "1.5 s");
  assert.equal(lagText(252_000), "4 min 12 s");
  assert.deepEqual([undefined, 0, 9_999, 10_000, 59_999, 60_000].map(lagLevel), [
    "unknown",
    "ok",
    "ok",
    "warn",
    "warn",
    "bad",
  ]);
});

test("durations: the two largest units, zero units left out", () => {
  assert.equal(durationText(0), "0 s");
  assert.equal(durationText(3_400), "3 s");
  assert.equal(durationText(3_600_000 + 5 * 60_000 + 7_000), "1 h 5 min");
  assert.equal(durationText(2 * 86_400_000 + 30_000), "2 d");
  assert.equal(durationText(-5), "0 s");
});

test("positions and times", () => {
  assert.equal(positionText(undefined), "none");
  assert.equal(positionText({ journalName: "mysql-bin.000003", position: "1234" }), "mysql-bin.000003:1234");
  assert.equal(positionText({ journalName: "b.1", position: "4", gtid: "0-1-100" }), "b.1:4 (0-1-100)");
  assert.equal(timeText(Date.UTC(2026, 11, 7, 6, 40, 1, 500)), "2026-12-07 06:40:01 UTC");
});

test("a destination's state and what to do about a failure", () => {
  assert.equal(stateOf({ name: "d", running: { address: "127.0.0.1:1" } }), "running");
  assert.equal(stateOf({ name: "d" }), "no runner");
  const failed: DestinationStatusJson = {
    name: "d",
    running: { address: "127.0.0.1:1" },
    failure: { message: "boom", journalName: "mysql-bin.000002", position: "99", fix: "FIX_SKIP_EVENT" },
  };
  assert.equal(stateOf(failed), "failed");
  assert.equal(fixText(failed), "sluice skip-event -d d --at mysql-bin.000002:99 passes over the event");
  assert.equal(fixText({ name: "d" }), "");
});

test("the lag history keeps the last samples of each client and forgets clients that are gone", () => {
  const h = new LagHistory(3);
  const answer = (lags: Record<string, string>): DestinationStatusJson[] => [
    { name: "example", clients: Object.entries(lags).map(([clientId, lagMs]) => ({ clientId, lagMs })) },
  ];
  h.record(1, answer({ a: "10", b: "-1" }));
  h.record(2, answer({ a: "20", b: "5" }));
  h.record(3, answer({ a: "30" }));
  h.record(4, answer({ a: "40" }));
  assert.deepEqual(
    h.samples("example", "a").map((s) => [s.at, s.lagMs]),
    [
      [2, 20],
      [3, 30],
      [4, 40],
    ],
  );
  assert.deepEqual(h.samples("example", "b"), [], "b left the answer");
  h.gap(5);
  assert.deepEqual(
    h.samples("example", "a").map((s) => [s.at, s.lagMs]),
    [
      [3, 30],
      [4, 40],
      [5, undefined],
    ],
    "an answer that did not come is a gap",
  );
  assert.deepEqual(h.samples("other", "a"), []);
});

test("sparkline: newest at the right edge, scaled to the largest lag (at least a second), gaps where unknown", () => {
  const s = (...lags: (number | undefined)[]) => lags.map((lagMs, at) => ({ at, lagMs }));
  assert.deepEqual(sparkline(s(0, 2000, 1000), 40, 10, 5), { lines: ["20,10 30,0 40,5"], maxMs: 2000 });
  assert.deepEqual(sparkline(s(100, 100), 10, 10, 2).lines, ["0,9 10,9"], "small lags lie low");
  assert.deepEqual(sparkline(s(0, undefined, 0, 0), 30, 10, 4).lines, ["0,10", "20,10 30,10"]);
  assert.deepEqual(sparkline([], 30, 10, 4), { lines: [], maxMs: 1000 });
});

test("a failed answer's Connect code and message", () => {
  assert.deepEqual(connectError(401, { code: "unauthenticated", message: "no credentials" }), {
    code: "unauthenticated",
    message: "no credentials",
  });
  assert.deepEqual(connectError(502, undefined), { code: "http 502", message: "" });
});
