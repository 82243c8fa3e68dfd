// The listen rule (src/security/listen-rule.ts) and the ports of a server as its configuration
// gives them (src/server/listen-security.ts): beyond loopback only with TLS and authentication,
// or when told it is on purpose; the refusal names what to set.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  checkListenRule,
  InsecureListenError,
  isLoopback,
  type ListenerSecurity,
} from "../../../src/security/listen-rule.js";
import { loadServerConfig } from "../../../src/server/config/load.js";
import { serverListeners } from "../../../src/server/listen-security.js";
import { TestCa } from "../../harness/certificates.js";

const HINTS = {
  tls: "TLS-SETTINGS",
  authentication: (l: ListenerSecurity) => `AUTH-SETTINGS for ${l.what}`,
  loopback: () => "LOOPBACK-SETTING",
  insecure: "INSECURE-SETTING",
};

const api = (host: string, tls: boolean, authenticated: boolean): ListenerSecurity => ({
  what: "the API port",
  host,
  port: 11113,
  tls,
  authenticated,
});

test("loopback addresses, and what is not one", async () => {
  for (const h of ["127.0.0.1", "127.9.8.7", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"]) {
    assert.equal(await isLoopback(h), true, h);
  }
  for (const h of ["0.0.0.0", "::", "[::]", "10.0.0.5", "192.168.1.20", "::ffff:10.0.0.5", "fe80::1"]) {
    assert.equal(await isLoopback(h), false, h);
  }
});

test("loopback needs nothing; beyond it, TLS and authentication", async () => {
  assert.deepEqual(await checkListenRule([api("127.0.0.1", false, false)], false, HINTS), []);
  assert.deepEqual(await checkListenRule([api("0.0.0.0", true, true)], false, HINTS), []);
  const refusal = async (l: ListenerSecurity) => {
    try {
      await checkListenRule([l], false, HINTS);
    } catch (err) {
      assert.ok(err instanceof InsecureListenError);
      return err.message;
    }
    assert.fail(`${l.host} tls=${l.tls} auth=${l.authenticated}: expected a refusal`);
  };
  const neither = await refusal(api("0.0.0.0", false, false));
  assert.match(
    neither,
    /^refusing to start: the API port would listen on 0\.0\.0\.0:11113, beyond loopback, without TLS and without authentication/,
  );
  for (const hint of [
    "TLS-SETTINGS",
    "AUTH-SETTINGS for the API port",
    "LOOPBACK-SETTING",
    "INSECURE-SETTING",
  ]) {
    assert.ok(neither.includes(hint), `names ${hint}: ${neither}`);
  }
  const noAuth = await refusal(api("10.0.0.5", true, false));
  assert.match(noAuth, /without authentication/);
  assert.ok(!noAuth.includes("TLS-SETTINGS"), "TLS is there: not asked for");
  const noTls = await refusal(api("::", false, true));
  assert.match(noTls, /would listen on \[::\]:11113, beyond loopback, without TLS,/);
  assert.ok(!noTls.includes("AUTH-SETTINGS"), "authentication is there: not asked for");
  const metrics = await refusal({ ...api("0.0.0.0", true, false), what: "the metrics port", port: 9464 });
  assert.match(metrics, /the metrics port would listen on 0\.0\.0\.0:9464/);
  assert.ok(metrics.includes("AUTH-SETTINGS for the metrics port"));
});

test("told it is on purpose, it starts and says what is open", async () => {
  const warnings = await checkListenRule(
    [api("0.0.0.0", false, false), { ...api("127.0.0.1", false, false), what: "the metrics port" }],
    true,
    HINTS,
  );
  assert.deepEqual(warnings, [
    "the API port listens on 0.0.0.0:11113 without TLS and without authentication (INSECURE-SETTING): anyone who can reach it is served",
  ]);
});

let dir: string;
let ca: TestCa;
let server: { cert: string; key: string };
before(() => {
  dir = mkdtempSync(join(tmpdir(), "listen-rule-"));
  ca = TestCa.create(dir, "ca");
  server = ca.issue("server", { cn: "server", ips: ["127.0.0.1"], usage: "server" });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("a server's ports from its configuration: TLS on both, client certificates each their own", () => {
  const load = (argv: string[]) =>
    serverListeners(
      loadServerConfig({ argv: ["--source", "mysql://u@db:3306", ...argv], env: {}, cwd: dir }),
    );
  const plain = load(["--host", "0.0.0.0"]);
  assert.deepEqual(
    plain.map((l) => [l.what, l.host, l.port, l.tls, l.authenticated]),
    [
      ["the API port", "0.0.0.0", 11113, false, false],
      ["the metrics port", "0.0.0.0", 9464, false, false],
    ],
  );
  const tls = ["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", ca.cert];
  const required = load(tls);
  assert.deepEqual(
    required.map((l) => [l.tls, l.authenticated]),
    [
      [true, true],
      [true, true],
    ],
    "require is the default with a client CA, for both ports",
  );
  const openMetrics = load([...tls, "--tls-metrics-client-auth", "none"]);
  assert.deepEqual(
    openMetrics.map((l) => [l.what, l.tls, l.authenticated]),
    [
      ["the API port", true, true],
      ["the metrics port", true, false],
    ],
  );
  assert.deepEqual(
    load(["--metrics-port", "off"]).map((l) => l.what),
    ["the API port"],
  );
  const requested = load([...tls, "--tls-client-auth", "request"]);
  assert.equal(requested[0]?.authenticated, false, "asked for, not required: not authentication");
});
