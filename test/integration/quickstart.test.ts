// Keeps the README's first command true: the quickstart starts, shows row changes, stops;
// every port speaks TLS with a throwaway CA's certificates.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

test("the quickstart shows row changes flowing and stops by itself", async () => {
  const script = fileURLToPath(new URL("../../scripts/quickstart.js", import.meta.url));
  const child = spawn(process.execPath, [script, "--seconds", "4"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  assert.equal(code, 0, `exit ${code}\n${out}\n${err}`);
  assert.match(
    out,
    /INSERT shop\.orders {2}id=1 item=\w+ qty=\d price=1\.50 status=new created_at="\d{4}-\d\d-\d\d /,
  );
  assert.match(out, /UPDATE shop\.orders {2}id=1 {2}status: new → paid/);
  assert.match(out, /Done: \d+ write rounds, \d+ row changes streamed and acked/);
  assert.match(out, /one runs "example", the other stands by/, "two servers run");
  assert.match(
    out,
    /gateway {4}https:\/\/127\.0\.0\.1:\d+ {3}routes to the runner/,
    "a gateway runs, over TLS",
  );
  assert.match(out, /servers {4}https:\/\/127\.0\.0\.1:\d+, https:\/\/127\.0\.0\.1:\d+ /, "servers over TLS");
  assert.match(out, /export SLUICE=https:\S+ SLUICE_CA=\/\S+\/ca\.crt SLUICE_TOKEN=quickstart\.\S+/);
  assert.match(
    out,
    /curl -s --cacert \$SLUICE_CA -H "Authorization: Bearer \$SLUICE_TOKEN" /,
    "the curl recipe trusts the CA, sends the token",
  );
});
