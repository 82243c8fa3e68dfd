// Safe defaults as a user meets them: `sluice server` and `sluice gateway` listen on loopback
// by default; told to listen beyond it (API or metrics port) without TLS and authentication,
// they refuse to start, exit 2 and say what to set, before binding anything. (Starting one
// with --insecure beyond loopback is left to test/unit/security/listen-rule.test.ts: tests
// listen on 127.0.0.1 only.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type IssuedCertificate, TestCa } from "../harness/certificates.js";

const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
// Nothing listens there: a server that got past the rule would fail later, differently.
const SOURCE = "mysql://repl@127.0.0.1:1";

function sluice(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [SLUICE, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, SLUICE_LOG_LEVEL: "error" },
  });
  return { status: r.status, stderr: r.stderr };
}

let dir: string;
let ca: TestCa;
let cert: IssuedCertificate;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "insecure-listen-"));
  ca = TestCa.create(dir, "ca");
  cert = ca.issue("server", { cn: "server", ips: ["127.0.0.1"], usage: "server" });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("sluice server beyond loopback without TLS and authentication: refused, saying what to set", () => {
  const r = sluice(["server", "--host", "0.0.0.0", "--source", SOURCE, "--metrics-port", "off"]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /^sluice server: refusing to start: the API port would listen on 0\.0\.0\.0:11113, beyond loopback, without TLS and without authentication/,
  );
  for (const setting of [
    "--tls-cert",
    "--tls-key",
    "--tls-client-ca",
    "--tls-client-auth require",
    "--host 127.0.0.1",
    "--insecure",
    "security.insecure: true",
  ]) {
    assert.ok(r.stderr.includes(setting), `names ${setting}: ${r.stderr}`);
  }
});

test("sluice server: TLS without authentication beyond loopback is refused too", () => {
  const r = sluice([
    "server",
    "--host",
    "0.0.0.0",
    "--source",
    SOURCE,
    "--metrics-port",
    "off",
    "--tls-cert",
    cert.cert,
    "--tls-key",
    cert.key,
  ]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /the API port would listen on 0\.0\.0\.0:11113, beyond loopback, without authentication/,
  );
  assert.ok(!r.stderr.includes("Set TLS"), r.stderr);
});

test("sluice server: the metrics port follows the same rule", () => {
  const config = join(dir, "metrics.yaml");
  writeFileSync(config, "metrics:\n  host: 0.0.0.0\n  port: 0\n");
  const r = sluice(["server", "--config", config, "--source", SOURCE]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /the metrics port would listen on 0\.0\.0\.0:0, beyond loopback, without TLS and without authentication/,
  );
  assert.ok(r.stderr.includes("metrics.host: 127.0.0.1"), r.stderr);
  // TLS with client certificates on the API port only: the metrics port still lacks them.
  const tls = [
    "--tls-cert",
    cert.cert,
    "--tls-key",
    cert.key,
    "--tls-client-ca",
    ca.cert,
    "--tls-metrics-client-auth",
    "none",
  ];
  const half = sluice(["server", "--config", config, "--source", SOURCE, ...tls]);
  assert.equal(half.status, 2, half.stderr);
  assert.match(
    half.stderr,
    /the metrics port would listen on 0\.0\.0\.0:0, beyond loopback, without authentication/,
  );
  assert.ok(half.stderr.includes("--tls-metrics-client-auth require"), half.stderr);
});

test("sluice gateway beyond loopback: refused for its API port and its metrics port", () => {
  const api = sluice(["gateway", "--zk", "127.0.0.1:1", "--host", "0.0.0.0", "--metrics-port", "off"]);
  assert.equal(api.status, 2, api.stderr);
  assert.match(
    api.stderr,
    /^sluice gateway: refusing to start: the API port would listen on 0\.0\.0\.0:8080, beyond loopback/,
  );
  for (const setting of [
    "--tls-cert FILE --tls-key FILE",
    "--tls-client-auth require",
    "--host 127.0.0.1",
    "--insecure",
  ]) {
    assert.ok(api.stderr.includes(setting), `names ${setting}: ${api.stderr}`);
  }
  const metrics = sluice([
    "gateway",
    "--zk",
    "127.0.0.1:1",
    "--metrics-host",
    "0.0.0.0",
    "--metrics-port",
    "0",
  ]);
  assert.equal(metrics.status, 2, metrics.stderr);
  assert.match(metrics.stderr, /the metrics port would listen on 0\.0\.0\.0:0, beyond loopback/);
  assert.ok(metrics.stderr.includes("--metrics-host 127.0.0.1"), metrics.stderr);
});

test("the defaults listen on loopback", () => {
  const help = (command: string) =>
    spawnSync(process.execPath, [SLUICE, command, "--help"], { encoding: "utf8" }).stdout;
  assert.match(help("server"), /--host ADDR\s+listen address \(default 127\.0\.0\.1/);
  assert.match(help("gateway"), /--host ADDR\s+address to listen on \(default 127\.0\.0\.1/);
});
