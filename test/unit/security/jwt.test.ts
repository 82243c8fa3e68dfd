import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { exportJWK, SignJWT } from "jose";
import { SecurityConfigError } from "../../../src/security/errors.js";
import { JwtRejected, type JwtSettings, JwtVerifier } from "../../../src/security/jwt.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-jwt-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const issuer = "https://idp.example";
const audience = "sluice";
const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
const keyFile = join(dir, "key.pem");
writeFileSync(keyFile, pair.publicKey.export({ type: "spki", format: "pem" }));
const settings: JwtSettings = { keyFile, issuer: [issuer], audience: [audience], clockSkewSeconds: 30 };
const now = () => Math.floor(Date.now() / 1000);

function jwt(claims: Record<string, unknown> = {}, key = pair.privateKey, kid?: string): Promise<string> {
  const c = { sub: "svc-orders", iss: issuer, aud: audience, exp: now() + 300, ...claims };
  return new SignJWT(c).setProtectedHeader({ alg: "ES256", ...(kid ? { kid } : {}) }).sign(key);
}

async function refusal(v: JwtVerifier, token: string): Promise<string> {
  try {
    await v.verify(token);
  } catch (err) {
    assert.ok(err instanceof JwtRejected, String(err));
    return err.message;
  }
  assert.fail("the token was accepted");
}

test("a JWT signed with the key is a principal: its sub, and Sluice's scopes", async () => {
  const v = new JwtVerifier(settings);
  const { principal } = await v.verify(await jwt({ scope: "openid read:orders admin:orders/1001" }));
  assert.deepEqual(principal, { id: "svc-orders", via: "jwt", scopes: ["read:orders", "admin:orders/1001"] });
  const unscoped = await v.verify(await jwt({ scope: "openid profile" }));
  assert.deepEqual(
    unscoped.principal,
    { id: "svc-orders", via: "jwt" },
    "no scope of ours: the policy decides",
  );
  const scp = await v.verify(await jwt({ scp: ["read:shop-*"] }));
  assert.deepEqual(scp.principal.scopes, ["read:shop-*"]);
});

test("expired, not yet valid, wrongly signed, foreign or unbounded JWTs are refused, saying only why", async () => {
  const v = new JwtVerifier(settings);
  assert.equal(await refusal(v, await jwt({ exp: now() - 120 })), "it has expired");
  assert.equal(await refusal(v, await jwt({ nbf: now() + 120 })), "it is not valid yet");
  assert.equal(await refusal(v, await jwt({}, other.privateKey)), "its signature does not verify");
  assert.equal(await refusal(v, await jwt({ iss: "https://evil.example" })), "its issuer is not accepted");
  assert.equal(await refusal(v, await jwt({ aud: "someone-else" })), "its audience is not accepted");
  assert.equal(await refusal(v, await jwt({ exp: undefined })), "its exp claim is missing or wrong");
  assert.equal(await refusal(v, "not.a.jwt"), "it is not a valid JWT");
  // "alg":"none" never verifies.
  const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
  const body = Buffer.from(
    JSON.stringify({ sub: "x", iss: issuer, aud: audience, exp: now() + 60 }),
  ).toString("base64url");
  assert.match(await refusal(v, `${header}.${body}.`), /algorithm is not accepted|not a valid JWT/);
});

test("the clock skew is tolerated on exp and nbf, and no more", async () => {
  const v = new JwtVerifier(settings);
  await v.verify(await jwt({ exp: now() - 10 }));
  await v.verify(await jwt({ nbf: now() + 10 }));
  assert.equal(await refusal(v, await jwt({ exp: now() - 45 })), "it has expired");
  const strict = new JwtVerifier({ ...settings, clockSkewSeconds: 0 });
  assert.equal(await refusal(strict, await jwt({ exp: now() - 2 })), "it has expired");
});

test("a JWKS file: keys are picked by kid", async () => {
  const jwks = join(dir, "jwks.json");
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" };
  const jwk2 = { ...(await exportJWK(other.publicKey)), kid: "k2", alg: "ES256" };
  writeFileSync(jwks, JSON.stringify({ keys: [jwk, jwk2] }));
  const v = new JwtVerifier({ ...settings, keyFile: undefined, jwksFile: jwks });
  assert.equal((await v.verify(await jwt({}, pair.privateKey, "k1"))).principal.id, "svc-orders");
  assert.equal((await v.verify(await jwt({}, other.privateKey, "k2"))).principal.id, "svc-orders");
  assert.equal(await refusal(v, await jwt({}, other.privateKey, "k1")), "its signature does not verify");
  assert.equal(await refusal(v, await jwt({}, other.privateKey, "k9")), "no key of the key set verifies it");
});

test("key files that are private or symmetric keys, or not keys, are refused at startup", () => {
  const priv = join(dir, "private.pem");
  writeFileSync(priv, pair.privateKey.export({ type: "pkcs8", format: "pem" }));
  assert.throws(() => new JwtVerifier({ ...settings, keyFile: priv }), /private.pem: holds a private key/);
  const oct = join(dir, "oct.json");
  writeFileSync(oct, JSON.stringify({ kty: "oct", k: "c2VjcmV0" }));
  assert.throws(() => new JwtVerifier({ ...settings, keyFile: oct }), /symmetric/);
  const junk = join(dir, "junk");
  writeFileSync(junk, "hello");
  assert.throws(
    () => new JwtVerifier({ ...settings, keyFile: junk }),
    (e: Error) => e instanceof SecurityConfigError && /junk: not a public key/.test(e.message),
  );
});
