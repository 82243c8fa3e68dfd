// `npm run bench`'s runner (bench/all) end to end on its smallest part, so that the one
// command cannot rot: --quick --parts decode generates a 50k-row binlog in its own MariaDB,
// runs every decode reader and writes BENCHMARKS.md to a temp file with the machine, the
// targets table, the part's report and the hand-written table of what did not pay. Figures are
// never asserted (this machine is shared); their presence is.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, removeDir } from "../harness/processes.js";

const BENCH = fileURLToPath(new URL("../../bench/all/run.js", import.meta.url));

test("npm run bench -- --quick --parts decode: BENCHMARKS.md with the machine, the targets and the report", async () => {
  const work = makeTempDir("bench-all");
  const out = join(work, "BENCHMARKS.md");
  try {
    const args = [BENCH, "--quick", "--parts", "decode", "--work", work, "--out", out, "--time-limit", "240"];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (d) => {
      log += d;
    });
    child.stderr.on("data", (d) => {
      log += d;
    });
    // The runner stops the part at --time-limit; this only guards against one that ignores it.
    const guard = setTimeout(() => child.kill("SIGKILL"), 300_000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    clearTimeout(guard);
    assert.equal(code, 0, `the run exits 0:\n${log}`);
    assert.ok(existsSync(join(work, "decode.json")), "the part's JSON is kept in the work directory");
    const md = readFileSync(out, "utf8");
    process.stdout.write(md.replace(/^/gm, "  "));
    assert.match(md, /^# Benchmarks\n/);
    assert.match(md, /A --quick run/);
    assert.match(md, /\| CPU \| .+, \d+ cores \|/);
    assert.match(md, /\| MariaDB \| .*MariaDB/);
    assert.match(md, /\| decode \| sluice ≥ 3x @vlasky\/zongji .* \| \d+\.\d\dx \| (met|\*\*NOT met\*\*) \|/);
    assert.match(md, /\| decode \| `node dist\/bench\/decode\/run\.js --rows 50000 .*` \| [\d.]+ \| ok \|/);
    assert.match(md, /@vlasky\/zongji 0\.9\.0 +50,000/);
    assert.match(md, /## What was tried and did not pay/);
  } finally {
    removeDir(work);
  }
});
