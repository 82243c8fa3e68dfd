import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { SecurityConfigError } from "../../../src/security/errors.js";
import {
  createToken,
  parseTokenFile,
  readTokenFile,
  tokenName,
  verifyToken,
} from "../../../src/security/tokens.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-tokens-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a token made by createToken is accepted by its line, and only the exact token is", async () => {
  const a = await createToken("orders-app", ["read:orders", "read:shop/team-a-*"]);
  const b = await createToken("ops");
  assert.match(a.token, /^orders-app\.[A-Za-z0-9_-]{43}$/, "the name, then 256 random bits");
  assert.ok(!a.line.includes(a.token.split(".")[1] as string), "the file line holds no secret");
  const file = join(dir, "tokens");
  writeFileSync(file, `# tokens\n${a.line}\n\n${b.line}   # the operators\n`);
  const entries = readTokenFile(file);
  assert.deepEqual(await verifyToken(entries, a.token), {
    id: "orders-app",
    via: "token",
    scopes: ["read:orders", "read:shop/team-a-*"],
  });
  assert.deepEqual(
    await verifyToken(entries, b.token),
    { id: "ops", via: "token" },
    "no scopes: the policy decides",
  );
  const secretOfB = b.token.slice("ops.".length);
  assert.equal(await verifyToken(entries, `orders-app.${secretOfB}`), undefined, "another token's secret");
  assert.equal(await verifyToken(entries, `${a.token.slice(0, -1)}x`), undefined, "one character off");
  assert.equal(await verifyToken(entries, `nobody.${secretOfB}`), undefined, "an unknown name");
  assert.equal(await verifyToken(entries, "orders-app"), undefined);
  assert.equal(tokenName("a.b.c"), undefined, "a JWT's shape is not a token");
});

test("token file mistakes name the file and the line, never a hash or secret", async () => {
  const ok = (await createToken("ok")).line;
  const cases: [string, RegExp][] = [
    [
      `${ok}\nbad! scrypt$16384$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==`,
      /^F:2: the name must be 1 to 64 letters/,
    ],
    [`${ok}\none two three four`, /^F:2: must be "NAME scrypt/],
    [`${ok}\n${ok}`, /^F:2: the name "ok" is also on an earlier line/],
    ["x plain-text-password", /^F:1: the hash must be scrypt\$N\$r\$p\$SALT\$HASH/],
    ["x scrypt$1048576$32$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", /^F:1: the hash's scrypt parameters/],
    [`\n\n${ok} write:orders`, /^F:3: scope "write:orders": must be read:DESTINATION or admin:DESTINATION/],
    [`${ok} read:or/ders/x`, /^F:1: scope "read:or\/ders\/x": its clientId must be a name or a pattern/],
  ];
  for (const [text, want] of cases) {
    assert.throws(
      () => parseTokenFile(text, "F"),
      (err: Error) =>
        err instanceof SecurityConfigError && want.test(err.message) && !err.message.includes("$AAAA"),
      text,
    );
  }
  assert.throws(() => readTokenFile(join(dir, "missing")), /missing: cannot read it: no such file/);
});
