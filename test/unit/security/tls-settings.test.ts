// TLS settings read from files (src/security/tls.ts) as `sluice server`'s configuration and
// `sluice gateway`'s flags give them: each problem names its setting, a key's contents never
// show, and a good set loads the PEM.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { UsageError } from "../../../src/cli/command.js";
import { parseGatewayArgs } from "../../../src/cli/gateway-command.js";
import { ConfigError } from "../../../src/server/config/errors.js";
import { loadServerConfig } from "../../../src/server/config/load.js";
import { type IssuedCertificate, TestCa } from "../../harness/certificates.js";

let dir: string;
let ca: TestCa;
let server: IssuedCertificate;
let gateway: IssuedCertificate;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "tls-settings-"));
  ca = TestCa.create(dir, "ca");
  server = ca.issue("server", { cn: "server", ips: ["127.0.0.1"], usage: "server" });
  gateway = ca.issue("gateway", { cn: "gateway", ips: ["127.0.0.1"], usage: "both" });
  writeFileSync(join(dir, "garbage.pem"), "SECRET-LOOKING-CONTENT\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

function serverProblems(argv: string[], yaml?: string): string[] {
  const config = yaml === undefined ? [] : ["--config", join(dir, "s.yaml")];
  if (yaml !== undefined) writeFileSync(join(dir, "s.yaml"), yaml);
  try {
    loadServerConfig({ argv: ["--source", "mysql://u@db", ...config, ...argv], env: {}, cwd: dir });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail("expected a ConfigError");
}

test("sluice server: TLS from flags, the environment or the file", () => {
  const viaFlags = loadServerConfig({
    argv: ["--source", "mysql://u@db", "--tls-cert", server.cert, "--tls-key", server.key, "--insecure"],
    env: {},
    cwd: dir,
  });
  assert.equal(viaFlags.security?.insecure, true);
  assert.equal(viaFlags.security?.tls?.listen.clientAuth, "none");
  assert.match(String(viaFlags.security?.tls?.listen.cert), /BEGIN CERTIFICATE/);
  const viaEnv = loadServerConfig({
    argv: ["--source", "mysql://u@db"],
    env: {
      SLUICE_TLS_CERT: server.cert,
      SLUICE_TLS_KEY: server.key,
      SLUICE_TLS_CLIENT_CA: ca.cert,
      SLUICE_INSECURE: "false",
    },
    cwd: dir,
  });
  assert.equal(viaEnv.security?.tls?.listen.clientAuth, "require", "the default with a client CA");
  assert.equal(viaEnv.security?.insecure, false);
  writeFileSync(
    join(dir, "f.yaml"),
    `security:\n  tls:\n    cert: server.crt\n    key: server.key\n    clientCa: ca.crt\n    clientAuth: request\n    metricsClientAuth: none\n`,
  );
  const viaFile = loadServerConfig({
    argv: ["--source", "mysql://u@db", "--config", "f.yaml"],
    env: {},
    cwd: dir,
  });
  assert.equal(viaFile.security?.tls?.listen.clientAuth, "request");
  assert.equal(viaFile.security?.tls?.metrics.clientAuth, "none");
  assert.equal(viaFile.security?.tls?.metrics.clientCa, undefined);
  assert.equal(
    loadServerConfig({ argv: ["--source", "mysql://u@db"], env: {}, cwd: dir }).security,
    undefined,
    "nothing set: no security section",
  );
});

test("sluice server: each TLS problem names its setting", () => {
  assert.deepEqual(serverProblems(["--tls-cert", server.cert]), [
    "security.tls.key: is required for TLS (--tls-key, SLUICE_TLS_KEY): cert and key, PEM files",
  ]);
  assert.deepEqual(serverProblems(["--tls-cert", "missing.crt", "--tls-key", server.key]), [
    '--tls-cert: cannot read "missing.crt": no such file',
  ]);
  const garbage = serverProblems(["--tls-cert", server.cert, "--tls-key", "garbage.pem"]);
  assert.deepEqual(garbage, ['--tls-key: "garbage.pem": not a PEM private key']);
  assert.ok(!garbage.join().includes("SECRET-LOOKING"), "a file's contents never show");
  assert.deepEqual(serverProblems(["--tls-cert", server.cert, "--tls-key", gateway.key]).length, 1);
  assert.match(
    serverProblems(["--tls-cert", server.cert, "--tls-key", gateway.key])[0] as string,
    /^--tls-key: ".*gateway\.key" is not the key of the certificate in --tls-cert/,
  );
  assert.deepEqual(
    serverProblems(["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-auth", "require"]),
    ["--tls-client-auth: require needs security.tls.clientCa, the CA that client certificates must chain to"],
  );
  assert.deepEqual(
    serverProblems(["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-auth", "maybe"]),
    ['--tls-client-auth: must be none, request or require, got "maybe"'],
  );
  assert.deepEqual(
    serverProblems([
      "--tls-cert",
      server.cert,
      "--tls-key",
      server.key,
      "--tls-client-ca",
      ca.cert,
      "--tls-client-auth",
      "none",
    ]),
    [
      "--tls-client-ca: client certificates are not asked for (--tls-client-auth is none): drop the CA, or ask for them with request or require",
    ],
  );
  assert.deepEqual(serverProblems(["--tls-cert", "garbage.pem", "--tls-key", server.key]), [
    '--tls-cert: "garbage.pem" holds no PEM certificate (-----BEGIN CERTIFICATE-----)',
  ]);
  assert.match(
    serverProblems([], "security:\n  tls:\n    crt: x\n").join("\n"),
    /^security\.tls\.crt: unknown key \(did you mean "cert"\?\) \(at .*s\.yaml:3:5\)$/,
  );
  assert.deepEqual(serverProblems(["--insecure=maybe"]), ['--insecure: must be true or false, got "maybe"']);
});

test("sluice gateway: TLS flags, and each problem names its flag", () => {
  const base = ["--zk", "z:1"];
  const flags = parseGatewayArgs(
    [
      ...base,
      ...[
        "--tls-cert",
        join(dir, "gateway.crt"),
        "--tls-key",
        join(dir, "gateway.key"),
        "--tls-client-ca",
        ca.cert,
      ],
      ...[
        "--tls-upstream-ca",
        ca.cert,
        "--tls-upstream-cert",
        gateway.cert,
        "--tls-upstream-key",
        gateway.key,
      ],
      ...["--tls-upstream-name", "sluice-server", "--insecure"],
    ],
    {},
  );
  assert.equal(flags.security.tls?.clientAuth, "require");
  assert.equal(flags.security.metricsTls?.clientAuth, "require");
  assert.equal(flags.security.upstreamTls?.serverName, "sluice-server");
  assert.match(String(flags.security.upstreamTls?.cert), /BEGIN CERTIFICATE/);
  assert.equal(flags.security.insecure, true);
  assert.deepEqual(parseGatewayArgs(base, {}).security, { insecure: false, authConfigured: false });
  const usage = (args: string[]) => {
    try {
      parseGatewayArgs([...base, ...args], {});
    } catch (err) {
      assert.ok(err instanceof UsageError, String(err));
      return err.message;
    }
    assert.fail("expected a UsageError");
  };
  assert.equal(usage(["--tls-cert", gateway.cert]), "--tls-cert: needs --tls-key");
  assert.equal(usage(["--tls-client-auth", "require"]), "--tls-client-auth: needs --tls-cert and --tls-key");
  assert.equal(
    usage(["--tls-upstream-cert", gateway.cert, "--tls-upstream-key", gateway.key]),
    "--tls-upstream-cert: needs --tls-upstream-ca (the CA of the servers' certificates)",
  );
  assert.equal(
    usage(["--tls-upstream-ca", ca.cert, "--tls-upstream-cert", gateway.cert]),
    "--tls-upstream-cert: needs its key too",
  );
  assert.equal(
    usage(["--tls-upstream-ca", join(dir, "nope.crt")]),
    `--tls-upstream-ca: cannot read "${join(dir, "nope.crt")}": no such file`,
  );
});
