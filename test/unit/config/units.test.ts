import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatDuration,
  formatSize,
  parseDuration,
  parseSize,
  UnitError,
} from "../../../src/server/config/index.js";

const sizes: [unknown, number][] = [
  [1024, 1024],
  ["100", 100],
  ["100B", 100],
  ["256MB", 256_000_000],
  ["256mb", 256_000_000],
  ["1GiB", 2 ** 30],
  ["64 MiB", 64 * 2 ** 20],
  ["512KiB", 512 * 1024],
  ["2KB", 2000],
  ["1.5GiB", 1.5 * 2 ** 30],
  ["1TB", 1e12],
  [" 3 gib ", 3 * 2 ** 30],
];

for (const [input, bytes] of sizes) {
  test(`parseSize(${JSON.stringify(input)}) = ${bytes}`, () => assert.equal(parseSize(input), bytes));
}

const badSizes: [unknown, RegExp][] = [
  ["lots", /must be a whole number of bytes or a size like "256MB" or "1GiB", got "lots"/],
  ["10M", /"M" is ambiguous: use MB or MiB/],
  ["1g", /"g" is ambiguous: use GB or GiB/],
  ["", /got ""/],
  ["-1MB", /got "-1MB"/],
  ["1e3", /got "1e3"/],
  ["5 PB", /got "5 PB"/],
  [1.5, /got 1.5/],
  [true, /got true/],
  [[1], /got a list/],
  [{ mb: 1 }, /got a map/],
  ["99999999999TiB", /too large/],
];

for (const [input, message] of badSizes) {
  test(`parseSize(${JSON.stringify(input)}) is refused`, () => {
    assert.throws(
      () => parseSize(input),
      (e: Error) => e instanceof UnitError && message.test(e.message),
    );
  });
}

const durations: [unknown, number][] = [
  [0, 0],
  [500, 500],
  ["250", 250],
  ["500ms", 500],
  ["5s", 5000],
  ["1.5s", 1500],
  ["2m", 120_000],
  ["1m30s", 90_000],
  ["1h", 3_600_000],
  ["1h2m3s4ms", 3_723_004],
  ["10S", 10_000],
];

for (const [input, ms] of durations) {
  test(`parseDuration(${JSON.stringify(input)}) = ${ms}`, () => assert.equal(parseDuration(input), ms));
}

const badDurations: [unknown, RegExp][] = [
  ["fast", /must be a number of milliseconds or a duration like "5s", "500ms" or "1m30s", got "fast"/],
  ["5 seconds", /got "5 seconds"/],
  ["5d", /got "5d"/],
  ["-5s", /got "-5s"/],
  ["s", /got "s"/],
  [1.5, /got 1.5/],
  [false, /got false/],
  [null, /got nothing/],
];

for (const [input, message] of badDurations) {
  test(`parseDuration(${JSON.stringify(input)}) is refused`, () => {
    assert.throws(
      () => parseDuration(input),
      (e: Error) => e instanceof UnitError && message.test(e.message),
    );
  });
}

test("sizes and durations format for summaries", () => {
  assert.equal(formatSize(64 * 2 ** 20), "64 MiB");
  assert.equal(formatSize(2 ** 30), "1 GiB");
  assert.equal(formatSize(1000), "1000 B");
  assert.equal(formatDuration(1000), "1s");
  assert.equal(formatDuration(1500), "1.5s");
  assert.equal(formatDuration(90_000), "90s");
  assert.equal(formatDuration(120_000), "2m");
  assert.equal(formatDuration(250), "250ms");
  assert.equal(formatDuration(0), "0");
});
