// bench/delivery's checks: the id runs a consumer reports must equal the workload plan's, so
// that a consumer that skips, repeats or reorders a row fails; and the profile reader's
// per-part and inclusive accounting.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { planWorkload } from "../../../bench/decode/generate.js";
import { compareRuns, expectedRuns, RunRecorder } from "../../../bench/delivery/check.js";
import { profileOf } from "../../../bench/delivery/profile.js";

/** Every row change of a plan, in binlog order. */
function rowsOf(rows: number): Array<[string, string, number]> {
  return planWorkload(rows).flatMap((s) =>
    Array.from({ length: 100 }, (_, i): [string, string, number] => [s.table, s.kind, s.from + i]),
  );
}

function record(rows: Array<[string, string, number]>) {
  const r = new RunRecorder();
  for (const [table, kind, id] of rows) r.add(table, kind, id);
  return r.runs;
}

test("the plan: rounds of 10 statements of 100 rows, every 10th round on wide16, deterministic", () => {
  const plan = planWorkload(25_000);
  assert.equal(plan.length, 250); // rounded up to whole rounds of 1000 row changes
  assert.deepEqual(planWorkload(25_000), plan);
  assert.equal(plan.filter((s) => s.table === "wide16").length, 20);
  assert.deepEqual(
    plan.slice(0, 10).map((s) => s.kind),
    ["I", "I", "U", "I", "U", "D", "I", "U", "D", "I"],
  );
  assert.equal(plan[0]?.from, 1);
  assert.equal(plan[1]?.from, 101);
  assert.equal(plan[5]?.kind === "D" && plan[5].from, 1); // deletes cut the oldest rows
});

test("a consumer that got every row in order matches the plan's runs", () => {
  const expected = expectedRuns(planWorkload(5000), 100);
  assert.equal(compareRuns(expected, record(rowsOf(5000))), undefined);
  // Consecutive inserts merge into one run.
  assert.deepEqual(expected[0], ["sbtest1", "I", 1, 200]);
});

test("a skipped, repeated or reordered row, or one of another kind, fails the check and says where", () => {
  const expected = expectedRuns(planWorkload(5000), 100);
  const rows = rowsOf(5000);
  const skipped = rows.filter((_, i) => i !== 1234);
  assert.match(compareRuns(expected, record(skipped)) ?? "", /after \d+ rows in order, expected/);
  const repeated = [...rows.slice(0, 501), ...rows.slice(500)];
  assert.ok(compareRuns(expected, record(repeated)));
  const swapped = [...rows];
  [swapped[10], swapped[11]] = [
    swapped[11] as [string, string, number],
    swapped[10] as [string, string, number],
  ];
  assert.ok(compareRuns(expected, record(swapped)));
  const wrongKind = rows.map((r, i): [string, string, number] => (i === 4000 ? [r[0], "U", r[2]] : r));
  assert.ok(compareRuns(expected, record(wrongKind)));
  assert.ok(compareRuns(expected, record(rows.slice(0, -1))), "one row short");
});

test("profileOf: self time by part, inclusive time of calls, samples outside the window left out", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-profile-"));
  try {
    const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
      id,
      callFrame: { functionName, url, lineNumber: 0, columnNumber: 0, scriptId: "0" },
      children,
    });
    const pb = "file:///x/node_modules/@bufbuild/protobuf/dist/esm/to-binary.js";
    const profile = {
      nodes: [
        frame(1, "(root)", "", [2, 5, 6]),
        frame(2, "serve", "file:///repo/dist/src/server/service/canal-service.js", [3]),
        frame(3, "toBinary", pb, [4]),
        frame(4, "string", "file:///x/node_modules/@bufbuild/protobuf/dist/esm/wire/binary-encoding.js"),
        frame(5, "(garbage collector)", ""),
        frame(6, "(idle)", ""),
      ],
      startTime: 1000,
      endTime: 2000,
      // Samples at 1000+100k µs; each one's time is the next delta.
      samples: [4, 3, 5, 6, 4, 2],
      timeDeltas: [0, 100, 100, 100, 100, 100, 100],
    };
    const file = join(dir, "p.cpuprofile");
    writeFileSync(file, JSON.stringify(profile));
    const all = profileOf(file, "server", 10, "/repo");
    assert.equal(all.cpuMs, 0.5); // six samples of 100 µs, the idle one left out
    const part = (name: string) => all.parts.find((p) => p.name === name)?.ms;
    assert.equal(part("protobuf-es"), 0.3);
    assert.equal(part("garbage collector"), 0.1);
    assert.equal(part("server: store, service, destination"), 0.1);
    const call = (name: string) => all.calls.find((p) => p.name === name);
    assert.equal(call("protobuf-es toBinary")?.ms, 0.3);
    assert.equal(call("protobuf-es toBinary")?.usPerRow, 30);
    // A window over the samples at 1200..1400 µs: the GC, idle and second `string` samples.
    const some = profileOf(file, "server", 10, "/repo", [1200, 1400]);
    assert.equal(some.cpuMs, 0.2);
    assert.equal(some.parts.find((p) => p.name === "garbage collector")?.ms, 0.1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("RunRecorder.reset forgets a batch delivered again, so its redelivery counts once", () => {
  const rows = rowsOf(3000);
  const r = new RunRecorder();
  for (const [table, kind, id] of rows.slice(0, 150)) r.add(table, kind, id);
  const mark = r.mark();
  for (const [table, kind, id] of rows.slice(150, 420)) r.add(table, kind, id); // ack refused
  r.reset(mark);
  for (const [table, kind, id] of rows.slice(150)) r.add(table, kind, id); // delivered again
  assert.equal(compareRuns(expectedRuns(planWorkload(3000), 100), r.runs), undefined);
});
