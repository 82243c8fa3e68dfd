// bench/failover in a tiny configuration, so that the benchmark of issue 22 cannot rot: one
// round of three fault kinds (the running server killed, the gateway holding consumer A killed,
// both consumers killed) through two gateways behind haproxy, session timeout 2 s. It must stop
// by itself, print a pause for each consumer and fault, and find that both consumers acked
// exactly the committed rows. The pauses are printed, never asserted (they are the bench's
// figures, and this machine is shared).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { HAPROXY } from "../../bench/failover/haproxy.js";

const BENCH = fileURLToPath(new URL("../../bench/failover/run.js", import.meta.url));

test("bench/failover: one round of three faults through haproxy, exact rows for both consumers", {
  skip: existsSync(HAPROXY) ? false : `${HAPROXY} is missing (scripts/setup.sh installs it)`,
}, async () => {
  const args = [
    BENCH,
    "--rounds",
    "1",
    "--faults",
    "server-kill,gateway-kill,consumer-kill",
    "--session-timeout",
    "2000",
    "--time-limit",
    "150",
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  // The bench stops itself at --time-limit; this only guards against a bench that ignores it.
  const guard = setTimeout(() => child.kill("SIGKILL"), 200_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(guard);
  // The runner shows stdout lines as comments ("# ..."): the bench's own "#" would be doubled.
  process.stdout.write(out.replace(/^#? ?/gm, ""));
  assert.equal(code, 0, "the bench exits 0");
  for (const title of [
    "running server SIGKILL",
    "gateway SIGKILL (and restart)",
    "consumer SIGKILL and restart",
  ]) {
    const row = out.split("\n").find((l) => l.startsWith(`| ${title} |`));
    assert.ok(row, `a row for ${title}`);
    // | fault | rounds | goal | A median | A worst | B median | B worst | commits |
    const cells = row.split("|").map((c) => c.trim());
    assert.equal(cells[2], "1", `one round of ${title}`);
    for (const i of [4, 5, 6, 7]) assert.match(cells[i] ?? "", /^\d+( \(over\))?$/, `a pause in ${row}`);
  }
  assert.match(out, /consumer A: acked exactly the \d+ committed rows, in order/);
  assert.match(out, /consumer B: acked exactly the \d+ committed rows, in order/);
});
