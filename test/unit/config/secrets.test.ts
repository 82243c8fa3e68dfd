// Passwords of `sluice server` from the environment and from files, ZooKeeper credentials,
// and the rules that keep them out of argv and messages.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  ConfigError,
  describeConfig,
  loadServerConfig,
  type ServerConfig,
} from "../../../src/server/config/index.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-secrets-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = "S3cret-pw!";
writeFileSync(join(dir, "db.pw"), `${SECRET}\n`);
writeFileSync(join(dir, "db2.pw"), "other-Secret");
writeFileSync(join(dir, "zk.pw"), "zk-Secret\r\n");
writeFileSync(join(dir, "empty.pw"), "\n");
writeFileSync(join(dir, "two-lines.pw"), "a\nb\n");

function load(argv: string[], env: Record<string, string> = {}, yaml?: string): ServerConfig {
  const args = [...argv];
  if (yaml !== undefined) {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    args.unshift("--config", file);
  }
  return loadServerConfig({ argv: args, env, cwd: dir, localAddress: "10.0.0.1" });
}

function problems(argv: string[], env: Record<string, string> = {}, yaml?: string): string[] {
  try {
    load(argv, env, yaml);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    const text = [err.message, ...err.problems].join("\n");
    for (const s of [SECRET, "other-Secret", "zk-Secret", "Env-Secret"]) assert.ok(!text.includes(s), text);
    return [...err.problems];
  }
  assert.fail("expected a ConfigError");
}

const password = (c: ServerConfig, i = 0) => c.destinations[i]?.source.password;

test("the source password: from SLUICE_SOURCE_PASSWORD, a file, or the URL; flags > env > file", () => {
  assert.equal(
    password(load(["--source", "mysql://u@h"], { SLUICE_SOURCE_PASSWORD: "Env-Secret" })),
    "Env-Secret",
  );
  assert.equal(password(load(["--source", "mysql://u@h", "--source-password-file", "db.pw"])), SECRET);
  assert.equal(password(load(["--source", "mysql://u@h"], { SLUICE_SOURCE_PASSWORD_FILE: "db.pw" })), SECRET);
  assert.equal(password(load([], { SLUICE_SOURCE: "mysql://u:inurl@h" })), "inurl");
  // A password given on its own replaces the URL's.
  assert.equal(
    password(load([], { SLUICE_SOURCE: "mysql://u:inurl@h", SLUICE_SOURCE_PASSWORD: "Env-Secret" })),
    "Env-Secret",
  );
  // The flag (a file) beats the environment.
  assert.equal(
    password(
      load(["--source", "mysql://u@h", "--source-password-file", "db.pw"], {
        SLUICE_SOURCE_PASSWORD: "Env-Secret",
      }),
    ),
    SECRET,
  );
  // The file's passwordFile, beaten by the environment.
  const yaml = "destinations: [{ name: a, source: 'mysql://u@h', passwordFile: db2.pw }]";
  assert.equal(password(load([], {}, yaml)), "other-Secret");
  assert.equal(password(load([], { SLUICE_SOURCE_PASSWORD: "Env-Secret" }, yaml)), "Env-Secret");
  assert.equal(password(load([], { SLUICE_SOURCE_PASSWORD_FILE: "db.pw" }, yaml)), SECRET);
  // With two destinations the password goes to the one --destination names.
  const two = "destinations: [{ name: a, source: 'mysql://u@h' }, { name: b, source: 'mysql://u@h2' }]";
  const c = load(["--destination", "b"], { SLUICE_SOURCE_PASSWORD: "Env-Secret" }, two);
  assert.deepEqual([password(c, 0), password(c, 1)], ["", "Env-Secret"]);
  assert.equal(c.destinations[1]?.redactedSourceUrl, "mysql://u:***@h2:3306");
});

test("password problems name the setting and never show a password", () => {
  assert.match(
    problems(["--source", "mysql://u@h", "--source-password", SECRET])[0] as string,
    /^--source-password: is not a flag.*set SLUICE_SOURCE_PASSWORD, or give --source-password-file FILE/,
  );
  assert.match(
    problems(["--source", "mysql://u@h", "--source-password-file", "nope.pw"])[0] as string,
    /^--source-password-file: cannot read "nope.pw": no such file/,
  );
  assert.match(
    problems(["--source", "mysql://u@h", "--source-password-file", "empty.pw"])[0] as string,
    /is empty/,
  );
  assert.match(
    problems(["--source", "mysql://u@h", "--source-password-file", "two-lines.pw"])[0] as string,
    /more than one line/,
  );
  assert.match(
    problems(["--source", "mysql://u@h"], {
      SLUICE_SOURCE_PASSWORD: "Env-Secret",
      SLUICE_SOURCE_PASSWORD_FILE: "db.pw",
    })[0] as string,
    /SLUICE_SOURCE_PASSWORD and SLUICE_SOURCE_PASSWORD_FILE: give the password one way/,
  );
  assert.match(
    problems(
      [],
      {},
      "destinations: [{ name: a, source: 'mysql://u@h', passwordFile: nope.pw }]",
    )[0] as string,
    /^destinations\[0\]\.passwordFile: cannot read "nope.pw": no such file \(at /,
  );
  // A config file cannot hold a plain password key.
  assert.match(
    problems([], {}, `destinations: [{ name: a, source: 'mysql://u@h', password: ${SECRET} }]`)[0] as string,
    /^destinations\[0\]\.password: a config file holds no password: give passwordFile \(a file holding it\) or SLUICE_SOURCE_PASSWORD/,
  );
  // The environment's password never shows, whatever else is wrong.
  const p = problems(["--source", "mysql://u@h", "--port", "Env-Secret"], {
    SLUICE_SOURCE_PASSWORD: "Env-Secret",
  });
  assert.equal(p.length, 1);
});

test("a password in argv is warned about, one in the environment or a file is not", () => {
  const warned = load(["--source", `mysql://u:${SECRET}@h`]).warnings ?? [];
  assert.equal(warned.length, 1);
  assert.match(warned[0] as string, /^--source: the URL holds a password/);
  assert.ok(!(warned[0] as string).includes(SECRET));
  assert.equal(load([], { SLUICE_SOURCE: `mysql://u:${SECRET}@h` }).warnings, undefined);
  assert.equal(load(["--source", "mysql://u@h", "--source-password-file", "db.pw"]).warnings, undefined);
  assert.equal(load(["--source", "mysql://u@h"]).warnings, undefined);
});

test("ZooKeeper credentials: user and password from file, environment or flags", () => {
  const zk =
    "zk: { connect: 'z:2181', user: sluice, passwordFile: zk.pw }\ndestinations: [{ name: a, source: 'mysql://u@h' }]";
  assert.deepEqual(load([], {}, zk).zk?.credentials, { user: "sluice", password: "zk-Secret" });
  assert.deepEqual(load([], { SLUICE_ZK_PASSWORD: "Env-Secret" }, zk).zk?.credentials, {
    user: "sluice",
    password: "Env-Secret",
  });
  assert.deepEqual(
    load(["--zk-user", "ops", "--zk-password-file", "db.pw"], { SLUICE_ZK_PASSWORD: "Env-Secret" }, zk).zk
      ?.credentials,
    { user: "ops", password: SECRET },
  );
  const env = { SLUICE_ZK: "z:2181", SLUICE_SOURCE: "mysql://u@h", SLUICE_ZK_USER: "sluice" };
  assert.deepEqual(load([], { ...env, SLUICE_ZK_PASSWORD_FILE: "zk.pw" }).zk?.credentials, {
    user: "sluice",
    password: "zk-Secret",
  });
  assert.equal(load(["--zk", "z:2181", "--source", "mysql://u@h"]).zk?.credentials, undefined);

  const text = describeConfig(load([], { ...env, SLUICE_ZK_PASSWORD: "Env-Secret" }));
  assert.match(text, /digest user sluice \(nodes get ACLs\)/);
  assert.ok(!text.includes("Env-Secret"));
  assert.match(
    describeConfig(load(["--zk", "z:2181", "--source", "mysql://u@h"])),
    /no credentials \(nodes open to anyone\)/,
  );
});

test("ZooKeeper credential problems", () => {
  const base = ["--zk", "z:2181", "--source", "mysql://u@h"];
  assert.match(problems([...base, "--zk-user", "sluice"])[0] as string, /^--zk-user: needs a password/);
  assert.match(
    problems(base, { SLUICE_ZK_PASSWORD: "Env-Secret" })[0] as string,
    /^SLUICE_ZK_PASSWORD: a ZooKeeper password needs its user/,
  );
  assert.match(
    problems([...base, "--zk-user", "a:b"], { SLUICE_ZK_PASSWORD: "Env-Secret" })[0] as string,
    /^--zk-user: the ZooKeeper user must not contain ":"/,
  );
  assert.match(
    problems([...base, "--zk-password", "Env-Secret"])[0] as string,
    /^--zk-password: is not a flag/,
  );
  assert.match(
    problems([...base, "--zk-user", "s", "--zk-password-file", "nope"])[0] as string,
    /^--zk-password-file: cannot read "nope": no such file/,
  );
  assert.match(
    problems([...base, "--zk-user", "s"], {
      SLUICE_ZK_PASSWORD: "Env-Secret",
      SLUICE_ZK_PASSWORD_FILE: "zk.pw",
    })[0] as string,
    /give the password one way, not both/,
  );
});
