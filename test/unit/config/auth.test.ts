// The server's security: keys, and the flags and variables that set them: every file is read at
// startup, and a mistake names the key (or flag), the file and the line.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createToken } from "../../../src/security/tokens.js";
import { ConfigError, loadServerConfig, type ServerConfig } from "../../../src/server/config/index.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-config-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const source = "mysql://repl@127.0.0.1:3306";

before(async () => {
  writeFileSync(join(dir, "tokens"), `${(await createToken("app", ["read:example"])).line}\n`);
  writeFileSync(
    join(dir, "policy.yaml"),
    "rules:\n  - principals: [token:app]\n    destinations: [example]\n    allow: [read]\n",
  );
  writeFileSync(
    join(dir, "bad-policy.yaml"),
    "rules:\n  - principals: [token:app]\n    destinations: [example]\n    allow: [raed]\n",
  );
  writeFileSync(join(dir, "gateway.secret"), "s3cret\n");
  writeFileSync(
    join(dir, "jwt.pem"),
    generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }),
  );
});

function load(yaml: string, argv: string[] = [], env: Record<string, string> = {}): ServerConfig {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `destinations:\n  - name: example\n    source: "${source}"\n${yaml}`);
  return loadServerConfig({ argv: ["--config", file, ...argv], env, cwd: dir });
}

function problems(yaml: string, argv: string[] = [], env: Record<string, string> = {}): string {
  try {
    load(yaml, argv, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail("the config was accepted");
}

test("security: keys become the server's AuthSettings, paths resolved against the working directory", () => {
  const c = load(
    [
      "security:",
      "  tokens: tokens",
      "  policy: policy.yaml",
      "  health: authenticated",
      "  jwt: { keyFile: jwt.pem, issuer: https://idp, audience: [sluice, cdc], clockSkew: 1m }",
      "  canal: { user: canal, passwd: E3619321C1A937C46A0D8BD1DAC39F93B27D4458 }",
      "  gateways: { secretFile: gateway.secret, certificates: [gw-*] }",
      "",
    ].join("\n"),
  );
  assert.deepEqual(c.auth, {
    tokensFile: join(dir, "tokens"),
    policyFile: join(dir, "policy.yaml"),
    health: "authenticated",
    jwt: {
      keyFile: join(dir, "jwt.pem"),
      jwksFile: undefined,
      issuer: ["https://idp"],
      audience: ["sluice", "cdc"],
      clockSkewSeconds: 60,
    },
    canal: { user: "canal", passwd: "E3619321C1A937C46A0D8BD1DAC39F93B27D4458" },
    gateways: { secretFile: join(dir, "gateway.secret"), certificates: ["gw-*"] },
  });
  assert.equal(load("").auth, undefined, "none given: no authentication");
});

test("--auth-tokens, --policy, --gateway-secret-file and their variables set security:", () => {
  const c = load("", ["--auth-tokens", "tokens", "--policy=policy.yaml"], {
    SLUICE_GATEWAY_SECRET_FILE: "gateway.secret",
  });
  assert.deepEqual(c.auth, {
    tokensFile: join(dir, "tokens"),
    policyFile: join(dir, "policy.yaml"),
    gateways: { secretFile: join(dir, "gateway.secret") },
  });
  assert.equal(load("", [], { SLUICE_AUTH_TOKENS: "tokens" }).auth?.tokensFile, join(dir, "tokens"));
});

test("mistakes name the key or flag, the file and the line", () => {
  assert.match(
    problems("security:\n  tokens: tokens\n  policy: bad-policy.yaml\n"),
    /security.policy: .*bad-policy.yaml:4:13: rules\[0\].allow: must list read, admin, got "raed"/,
  );
  assert.match(
    problems("", ["--auth-tokens", "tokens", "--policy", "bad-policy.yaml"]),
    /--policy: .*bad-policy.yaml:4:13: rules\[0\].allow/,
  );
  assert.match(
    problems("security:\n  tokens: missing\n"),
    /security.tokens: .*missing: cannot read it: no such file/,
  );
  assert.match(
    problems("security:\n  policy: policy.yaml\n"),
    /security.policy: a policy needs clients to authenticate/,
  );
  assert.match(
    problems("security:\n  token: tokens\n"),
    /security.token: unknown key \(did you mean "tokens"\?\)/,
  );
  assert.match(
    problems("security:\n  jwt: { keyFile: jwt.pem, audience: x }\n"),
    /security.jwt: jwt: issuer is required/,
  );
  assert.match(
    problems("security:\n  jwt: { keyFile: jwt.pem, issuer: i, audience: a, clockSkew: 10m }\n"),
    /security.jwt.clockSkew: must be at most 300s/,
  );
  const canal = problems("security:\n  canal: { user: canal, passwd: not-a-hash }\n");
  assert.match(canal, /security.canal.passwd: must be canal's canal.passwd/);
  assert.ok(!canal.includes("not-a-hash"), "a password's hash is never shown");
  assert.match(
    problems("security:\n  health: closed\n"),
    /security.health: must be "open" or "authenticated"/,
  );
  assert.match(
    problems("security:\n  gateways: { secretFile: nowhere }\n"),
    /security.gateways.secretFile: cannot read "nowhere": no such file/,
  );
});
