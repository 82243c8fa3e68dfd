import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UsageError } from "../../../src/cli/command.js";
import { parseGatewayArgs } from "../../../src/cli/gateway-command.js";
import { DEFAULT_LIMITS } from "../../../src/security/limits.js";

test("sluice gateway flags: defaults, durations, sizes, and errors that name the flag", () => {
  const d = parseGatewayArgs(["--zk", "zk1.example:21810"], {});
  assert.equal(d.port, 8080);
  assert.equal(d.host, "127.0.0.1");
  assert.equal(d.leaseIdleMs, 30_000);
  assert.equal(d.holdMs, 5_000);
  assert.equal(d.zkRoot, "/otter/canal");
  const f = parseGatewayArgs(
    [
      "--zk=a:1,b:2",
      "--port",
      "0",
      "--host",
      "0.0.0.0",
      "--lease-idle",
      "1500ms",
      "--hold=2s",
      "--max-message",
      "8MiB",
      "--max-request=1MiB",
    ],
    {},
  );
  assert.deepEqual(
    [f.zk, f.port, f.host, f.leaseIdleMs, f.holdMs, f.maxMessageBytes, f.maxRequestBytes],
    ["a:1,b:2", 0, "0.0.0.0", 1500, 2000, 8 << 20, 1 << 20],
  );
  assert.equal(d.maxRequestBytes, 4 << 20, "a server's default");
  assert.throws(() => parseGatewayArgs(["--zk", "z", "--max-request", "big"], {}), /--max-request/);
  assert.equal(parseGatewayArgs([], { SLUICE_ZK: "z:1" }).zk, "z:1");
  assert.throws(
    () => parseGatewayArgs([], {}),
    (e) => e instanceof UsageError && /--zk is required/.test(e.message),
  );
  assert.throws(() => parseGatewayArgs(["--zk", "z", "--port", "x"], {}), /--port/);
  assert.throws(() => parseGatewayArgs(["--zk", "z", "--lease-idle", "soon"], {}), /--lease-idle/);
  assert.throws(() => parseGatewayArgs(["--zk", "z", "--zk-root", "otter/"], {}), /--zk-root/);
  assert.throws(() => parseGatewayArgs(["--zk", "z", "--nope"], {}), /--nope: unknown flag/);
});

test("sluice gateway --metrics-port and --metrics-host", () => {
  const d = parseGatewayArgs(["--zk", "z"], {});
  assert.equal(d.metricsPort, 9465, "one above a server's 9464");
  assert.equal(d.metricsHost, undefined, "the same as --host");
  assert.equal(parseGatewayArgs(["--zk", "z", "--metrics-port", "off"], {}).metricsPort, undefined);
  assert.equal(parseGatewayArgs(["--zk", "z", "--metrics-port=0"], {}).metricsPort, 0);
  assert.equal(parseGatewayArgs(["--zk", "z", "--metrics-host", "0.0.0.0"], {}).metricsHost, "0.0.0.0");
  assert.throws(() => parseGatewayArgs(["--zk", "z", "--metrics-port", "on"], {}), /--metrics-port.*"on"/);
  assert.throws(() => parseGatewayArgs(["--zk", "z", "--metrics-port", "70000"], {}), /--metrics-port/);
  assert.throws(
    () => parseGatewayArgs(["--zk", "z", "--port", "9000", "--metrics-port", "9000"], {}),
    /--metrics-port: must differ from --port/,
  );
});

test("sluice gateway ZooKeeper credentials: user by flag or env, password by file or env, never a flag", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-gateway-args-"));
  try {
    writeFileSync(join(dir, "zk.pw"), "from-File\n");
    const file = join(dir, "zk.pw");
    assert.equal(parseGatewayArgs(["--zk", "z"], {}).zkCredentials, undefined);
    assert.deepEqual(
      parseGatewayArgs(["--zk", "z", "--zk-user", "s"], { SLUICE_ZK_PASSWORD: "from-Env" }).zkCredentials,
      {
        user: "s",
        password: "from-Env",
      },
    );
    assert.deepEqual(
      parseGatewayArgs(["--zk", "z", `--zk-password-file=${file}`], {
        SLUICE_ZK_USER: "s",
        SLUICE_ZK_PASSWORD: "from-Env",
      }).zkCredentials,
      { user: "s", password: "from-File" },
      "the flag wins over the environment",
    );
    assert.deepEqual(
      parseGatewayArgs(["--zk", "z"], { SLUICE_ZK_USER: "s", SLUICE_ZK_PASSWORD_FILE: file }).zkCredentials,
      { user: "s", password: "from-File" },
    );
    const refused = (args: string[], env: Record<string, string>, re: RegExp) =>
      assert.throws(
        () => parseGatewayArgs(["--zk", "z", ...args], env),
        (e) => e instanceof UsageError && re.test(e.message) && !/from-(Env|File)|sekret/.test(e.message),
      );
    refused(["--zk-password", "sekret"], {}, /^--zk-password: is not a flag.*SLUICE_ZK_PASSWORD/);
    refused(["--zk-user", "s"], {}, /^--zk-user: needs a password/);
    refused(
      [],
      { SLUICE_ZK_PASSWORD: "from-Env" },
      /^SLUICE_ZK_PASSWORD: a ZooKeeper password needs its user/,
    );
    refused(
      ["--zk-user", "s", "--zk-password-file", join(dir, "nope")],
      {},
      /^--zk-password-file: cannot read .*no such file/,
    );
    refused(
      ["--zk-user", "s"],
      { SLUICE_ZK_PASSWORD: "from-Env", SLUICE_ZK_PASSWORD_FILE: file },
      /one way, not both/,
    );
    refused(["--zk-user", "a:b"], { SLUICE_ZK_PASSWORD: "from-Env" }, /must not contain ":"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sluice gateway --limit-*: per-client limits, burst twice the rate unless given", () => {
  assert.deepEqual(parseGatewayArgs(["--zk", "z"], {}).limits, DEFAULT_LIMITS);
  assert.deepEqual(
    parseGatewayArgs(["--zk", "z", "--limit-streams", "3", "--limit-calls=4", "--limit-rate", "50"], {})
      .limits,
    { streams: 3, calls: 4, rate: 50, burst: 100 },
  );
  assert.equal(parseGatewayArgs(["--zk", "z", "--limit-rate=50", "--limit-burst=7"], {}).limits.burst, 7);
  for (const bad of ["0", "-1", "1.5", "many"]) {
    assert.throws(
      () => parseGatewayArgs(["--zk", "z", `--limit-rate=${bad}`], {}),
      (e) => e instanceof UsageError && /--limit-rate: must be a positive integer/.test(e.message),
      bad,
    );
  }
  assert.throws(() => parseGatewayArgs(["--zk", "z", "--limit-streams"], {}), /--limit-streams/);
  assert.equal(parseGatewayArgs(["--zk", "z"], { SLUICE_LIMIT_RATE: "30" }).limits.rate, 30);
});

test("sluice gateway settings from a config file and SLUICE_* variables: flags win over the environment, which wins over the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-gateway-config-"));
  try {
    const config = join(dir, "gateway.yaml");
    writeFileSync(
      config,
      ["zk: zk-from-file:2181", "port: 9090", "lease-idle: 2s", "hold: 3s", "insecure: true", ""].join("\n"),
    );
    const fromFile = parseGatewayArgs(["--config", config], {});
    assert.deepEqual(
      [fromFile.zk, fromFile.port, fromFile.leaseIdleMs, fromFile.holdMs, fromFile.security.insecure],
      ["zk-from-file:2181", 9090, 2000, 3000, true],
    );
    const layered = parseGatewayArgs(["--config", config, "--port", "7070"], {
      SLUICE_ZK: "zk-from-env:2181",
      SLUICE_PORT: "6060",
      SLUICE_INSECURE: "false",
    });
    assert.deepEqual(
      [layered.zk, layered.port, layered.leaseIdleMs, layered.security.insecure],
      ["zk-from-env:2181", 7070, 2000, false],
      "flag over variable over file, key by key",
    );
    assert.equal(parseGatewayArgs([], { SLUICE_GATEWAY_CONFIG: config }).zk, "zk-from-file:2181");
    // Mistakes name where they are.
    writeFileSync(config, "zk: z\nprot: 1\nzk-password: secret\nport: [1, 2]\n");
    assert.throws(
      () => parseGatewayArgs(["--config", config], {}),
      (e) =>
        e instanceof UsageError &&
        /gateway\.yaml:2:1: prot: unknown key \(did you mean port\?\)/.test(e.message) &&
        /gateway\.yaml:3:1: zk-password: a config file holds no password/.test(e.message) &&
        /gateway\.yaml:4:1: port: takes one value, not a list/.test(e.message) &&
        !e.message.includes("secret"),
    );
    writeFileSync(config, "zk: z\nport: 99999\n");
    assert.throws(
      () => parseGatewayArgs(["--config", config], {}),
      /port \(\S+gateway\.yaml:2:1\): must be 0\.\.65535/,
    );
    assert.throws(
      () => parseGatewayArgs([], { SLUICE_ZK: "z", SLUICE_LEASE_IDLE: "soon" }),
      /SLUICE_LEASE_IDLE: /,
    );
    assert.throws(
      () => parseGatewayArgs([], { SLUICE_ZK: "z", SLUICE_INSECURE: "yes" }),
      /SLUICE_INSECURE: must be true or false/,
    );
    assert.throws(
      () => parseGatewayArgs(["--config", join(dir, "missing.yaml")], {}),
      /--config: cannot read/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sluice gateway flags are read by node:util.parseArgs: every problem at once, each naming its flag", () => {
  assert.throws(
    () =>
      parseGatewayArgs(
        ["--zk", "z", "--prot", "1", "--port", "--host", "h", "stray", "--zk-password", "pw"],
        {},
      ),
    (e) =>
      e instanceof UsageError &&
      /--prot: unknown flag \(did you mean --port\?\)/.test(e.message) &&
      /--port: needs a value \(--port N\)/.test(e.message) &&
      /"stray": unexpected argument/.test(e.message) &&
      /--zk-password: is not a flag/.test(e.message) &&
      !e.message.includes('pw"'),
  );
  assert.throws(() => parseGatewayArgs(["--zk", "a", "--zk", "b"], {}), /--zk: given more than once/);
  assert.equal(parseGatewayArgs(["--zk", "z", "--insecure=false"], {}).security.insecure, false);
});
