// The failover bench's bookkeeping (bench/failover): what a consumer acked, settled across
// unknown acks and restarts; violations it must catch; pauses around a fault; its options.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ConsumerEvent, fromRuns, parseEvent, toRuns } from "../../../bench/failover/events.js";
import { Ledger } from "../../../bench/failover/ledger.js";
import { OptionError, parseBenchOptions } from "../../../bench/failover/options.js";
import { largestGap, summarize } from "../../../bench/failover/pauses.js";
import { lineTime, timeline } from "../../../bench/failover/timeline.js";

const batch = (t: number, id: string, first: number, last: number): ConsumerEvent => ({
  ev: "batch",
  t,
  id,
  rows: [[first, last]],
});
const acked = (id: string): ConsumerEvent => ({ ev: "acked", t: 0, id });
const unacked = (id: string): ConsumerEvent => ({ ev: "unacked", t: 0, id, why: "broken" });
const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

function ledgerOf(events: ConsumerEvent[]): Ledger {
  const l = new Ledger();
  for (const e of events) l.add(e);
  return l;
}

describe("events", () => {
  test("rows travel as runs and come back as ids", () => {
    assert.deepEqual(toRuns([1, 2, 3, 7, 8, 10]), [
      [1, 3],
      [7, 8],
      [10, 10],
    ]);
    assert.deepEqual(fromRuns(toRuns([4, 5, 9])), [4, 5, 9]);
    assert.deepEqual(toRuns([]), []);
  });

  test("a line is an event only if it is one", () => {
    assert.deepEqual(parseEvent('{"ev":"acked","t":5,"id":"x"}'), { ev: "acked", t: 5, id: "x" });
    assert.equal(parseEvent("2026-12-07T00:00:00.000Z WARN something"), undefined);
    assert.equal(parseEvent('{"ev":"acked",'), undefined);
  });
});

describe("Ledger", () => {
  test("acked batches in order are exactly the committed rows", () => {
    const l = ledgerOf([batch(1, "a", 1, 10), acked("a"), batch(2, "b", 11, 20), acked("b")]);
    assert.equal(l.exactly(range(1, 20)), undefined);
    assert.deepEqual(l.deliveries, [1, 2]);
    assert.match(l.exactly(range(1, 21)) ?? "", /acked 20 rows, 21 were committed/);
  });

  test("an unknown ack followed by the same rows did not take effect", () => {
    const l = ledgerOf([batch(1, "a", 1, 10), unacked("a"), batch(2, "a2", 1, 10), acked("a2")]);
    assert.equal(l.exactly(range(1, 10)), undefined);
    assert.equal(l.redelivered, 10);
  });

  test("an unknown ack followed by the next rows took effect", () => {
    const l = ledgerOf([batch(1, "a", 1, 10), unacked("a"), batch(2, "b", 11, 12), acked("b")]);
    assert.equal(l.exactly(range(1, 12)), undefined);
  });

  test("a killed consumer's held batch is settled by what its successor gets", () => {
    const l = ledgerOf([batch(1, "a", 1, 5), acked("a"), batch(2, "b", 6, 9)]);
    l.killed();
    l.add({ ev: "start", t: 3, pid: 2 });
    l.add(batch(4, "c", 6, 9));
    l.add(acked("c"));
    assert.equal(l.exactly(range(1, 9)), undefined);
    assert.equal(l.ackedCount, 9);
  });

  test("an unknown ack with nothing after it took effect once settled", () => {
    const l = ledgerOf([batch(1, "a", 1, 5), unacked("a")]);
    assert.equal(l.ackedCount, 5);
    assert.match(l.exactly(range(1, 5)) ?? "", /acked 0 rows/);
    l.settle();
    assert.equal(l.exactly(range(1, 5)), undefined);
  });

  test("an acked row delivered again is a violation", () => {
    const l = ledgerOf([batch(1, "a", 1, 10), acked("a"), batch(2, "b", 8, 15), acked("b")]);
    assert.match(l.exactly(range(1, 15)) ?? "", /rows 8\.\.15 again after they were acked/);
  });

  test("rows never delivered are a violation", () => {
    const l = ledgerOf([batch(1, "a", 1, 10), acked("a"), batch(2, "b", 13, 15), acked("b")]);
    assert.match(l.exactly([...range(1, 10), ...range(13, 15)]) ?? "", /rows 11\.\.12 were never delivered/);
  });

  test("a batch that skips rows inside is a violation", () => {
    const l = ledgerOf([
      {
        ev: "batch",
        t: 1,
        id: "a",
        rows: [
          [1, 3],
          [5, 6],
        ],
      },
      acked("a"),
    ]);
    assert.match(l.exactly([1, 2, 3, 5, 6]) ?? "", /skips from row 3 to 5/);
  });

  test("batches without rows are not deliveries", () => {
    const l = ledgerOf([
      { ev: "batch", t: 1, id: "e", rows: [] },
      acked("e"),
      batch(2, "a", 1, 2),
      acked("a"),
    ]);
    assert.deepEqual(l.deliveries, [2]);
    assert.equal(l.exactly([1, 2]), undefined);
  });
});

describe("pauses", () => {
  test("the longest gap spanning the fault, not one before or after it", () => {
    const times = [0, 100, 1000, 1100, 5000, 5100, 9000];
    assert.deepEqual(largestGap(times, 1050, 5100), { ms: 3900, from: 1100, to: 5000 });
    // A gap that starts before the fault and ends after it counts.
    assert.deepEqual(largestGap(times, 500, 1050), { ms: 900, from: 100, to: 1000 });
    // The 3900 ms gap lies after the window.
    assert.deepEqual(largestGap(times, 0, 1000), { ms: 900, from: 100, to: 1000 });
    assert.equal(largestGap(times, 9000, 10_000), undefined);
  });

  test("median (a measured value) and worst", () => {
    assert.deepEqual(summarize([3, 1, 2]), { count: 3, median: 2, worst: 3 });
    assert.deepEqual(summarize([4, 1, 3, 2]), { count: 4, median: 2, worst: 4 });
  });
});

describe("timeline", () => {
  test("reads the time of sluice, haproxy and consumer lines", () => {
    assert.equal(
      lineTime("2026-12-07T03:55:01.819Z INFO  server: x"),
      Date.parse("2026-12-07T03:55:01.819Z"),
    );
    assert.equal(
      lineTime("2026-12-07T03:55:01.819123+00:00 host haproxy[1]: Server gateways/gateway-a is DOWN"),
      Date.parse("2026-12-07T03:55:01.819Z"),
    );
    assert.equal(lineTime('{"ev":"acked","t":1796615701885,"id":"x"}'), 1796615701885);
    assert.equal(lineTime("at Object.<anonymous> (file.js:1:1)"), undefined);
  });

  test("merges files in time order, relative to the fault", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "sluice-timeline-"));
    writeFileSync(
      join(dir, "server-1.log"),
      "1970-01-01T00:00:01.000Z INFO  a\n1970-01-01T00:00:03.000Z INFO  c\n",
    );
    writeFileSync(join(dir, "consumer-A.log"), '{"ev":"sub","t":2000,"cursor":""}\nnot a line\n');
    const lines = timeline([join(dir, "server-1.log"), join(dir, "consumer-A.log")], 2000, 0, 2500);
    assert.deepEqual(lines, [
      "  -1000 ms server-1: INFO  a",
      `     +0 ms consumer-A: {"ev":"sub","t":2000,"cursor":""}`,
    ]);
  });
});

describe("options", () => {
  test("defaults are issue 22's settings", () => {
    const o = parseBenchOptions([]);
    assert.equal(o.sessionTimeoutMs, 3000);
    assert.equal(o.gatewaySessionTimeoutMs, 3000);
    assert.equal(o.regrabDelayMs, 1000);
    assert.equal(o.rowsPerSecond, 600);
    assert.equal(o.checkIntervalMs, 500);
    assert.equal(o.shutdownSessions, true);
    assert.equal(o.faults.length, 8);
  });

  test("a bad value names its option", () => {
    assert.throws(
      () => parseBenchOptions(["--rounds", "0"]),
      /--rounds: must be a whole number of at least 1/,
    );
    assert.throws(
      () => parseBenchOptions(["--faults", "server-kill,nope"]),
      /--faults: unknown fault "nope"/,
    );
    assert.throws(() => parseBenchOptions(["--stream-transport", "ws"]), /--stream-transport/);
    assert.throws(() => parseBenchOptions(["--bogus"]), OptionError);
  });
});
