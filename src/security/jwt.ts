// JWTs verified with jose against a public key file (PEM, or a JWK) or a JWKS file (a key set,
// keys picked by "kid"). Checked: the signature (asymmetric algorithms only: a shared HMAC key
// would let whoever verifies also mint), exp (required), nbf, iss and aud (both required in
// the settings), with a bounded clock skew. The principal is the token's sub; its scopes come
// from "scope" (space-separated, OAuth's) or "scp" (a list), keeping Sluice's (read:..., admin:...).
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLocalJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { fileProblem, SecurityConfigError } from "./errors.js";
import type { Principal } from "./principal.js";
import { isSluiceScope } from "./scopes.js";

export const JWT_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

export interface JwtSettings {
  /** A public key: PEM (SPKI or certificate) or a JWK in JSON. One of keyFile and jwksFile. */
  keyFile?: string | undefined;
  /** A JWKS ({"keys":[...]}) in JSON. */
  jwksFile?: string | undefined;
  /** Accepted issuers (iss). */
  issuer: readonly string[];
  /** Accepted audiences (aud): the token's must include one. */
  audience: readonly string[];
  /** Clock skew tolerated on exp and nbf, in seconds. */
  clockSkewSeconds: number;
}

/** The longest clock skew the settings may ask for. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** A JWT's failure as a reason that is safe to tell its sender (never its content). */
export class JwtRejected extends Error {}

export class JwtVerifier {
  readonly #key: KeyObject | JWTVerifyGetKey;

  constructor(readonly settings: JwtSettings) {
    this.#key = loadKey(settings);
  }

  /** The principal of a valid token; JwtRejected saying why not (expired, not yet valid, ...). */
  async verify(token: string): Promise<{ principal: Principal; expiresAt: number }> {
    let payload: JWTPayload;
    try {
      const key = this.#key;
      const options = {
        issuer: [...this.settings.issuer],
        audience: [...this.settings.audience],
        clockTolerance: this.settings.clockSkewSeconds,
        algorithms: JWT_ALGORITHMS,
        requiredClaims: ["exp", "sub"],
      };
      ({ payload } =
        typeof key === "function"
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options));
    } catch (err) {
      throw new JwtRejected(reason(err));
    }
    const sub = payload.sub as string;
    if (sub === "" || sub.length > 256) throw new JwtRejected("its sub is empty or too long");
    const scopes = scopesOf(payload);
    return {
      principal: { id: sub, via: "jwt", ...(scopes ? { scopes } : {}) },
      expiresAt: (payload.exp as number) * 1000,
    };
  }
}

/** Why jose refused a token, in words that give nothing away beyond the kind of failure. */
function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "it has expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf") return "it is not valid yet";
    if (err.claim === "iss") return "its issuer is not accepted";
    if (err.claim === "aud") return "its audience is not accepted";
    return `its ${err.claim} claim is missing or wrong`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "its signature does not verify";
  if (err instanceof errors.JWKSNoMatchingKey) return "no key of the key set verifies it";
  if (err instanceof errors.JOSEAlgNotAllowed) return "its algorithm is not accepted";
  return "it is not a valid JWT";
}

/** Sluice's scopes of a token (scope: "a b", or scp: [...]); undefined when it names none. */
function scopesOf(payload: JWTPayload): string[] | undefined {
  const raw = payload.scope ?? payload.scp;
  const list = typeof raw === "string" ? raw.split(" ") : Array.isArray(raw) ? raw : [];
  const ours = list.filter((s): s is string => typeof s === "string" && isSluiceScope(s));
  // A malformed one of ours grants nothing (scopeGrants skips it), and still makes the token a scoped one.
  return ours.length === 0 ? undefined : ours;
}

function loadKey(s: JwtSettings): KeyObject | JWTVerifyGetKey {
  const file = (s.keyFile ?? s.jwksFile) as string;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw fileProblem(file, err);
  }
  if (s.jwksFile !== undefined) {
    let jwks: unknown;
    try {
      jwks = JSON.parse(text);
    } catch {
      throw new SecurityConfigError(`${file}: not JSON; a JWKS file is {"keys":[{...},...]}`);
    }
    try {
      const set = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
      for (const k of (jwks as { keys: { kty?: string }[] }).keys) {
        if (k.kty === "oct")
          throw new SecurityConfigError(
            `${file}: holds a symmetric ("oct") key; only public keys verify JWTs here`,
          );
      }
      return set;
    } catch (err) {
      if (err instanceof SecurityConfigError) throw err;
      throw new SecurityConfigError(`${file}: not a JWKS: ${(err as Error).message}`);
    }
  }
  // createPublicKey would derive a public key from a private one: refuse those, they belong elsewhere.
  const jwk = text.trimStart().startsWith("{") ? parseJson(text) : undefined;
  if (text.includes("PRIVATE KEY") || (jwk && typeof jwk === "object" && "d" in jwk)) {
    throw new SecurityConfigError(`${file}: holds a private key; give the public key (openssl pkey -pubout)`);
  }
  if (jwk && typeof jwk === "object" && (jwk as { kty?: unknown }).kty === "oct") {
    throw new SecurityConfigError(
      `${file}: holds a symmetric ("oct") key; only public keys verify JWTs here`,
    );
  }
  try {
    return jwk !== undefined
      ? createPublicKey({
          key: jwk as Parameters<typeof createPublicKey>[0] & object,
          format: "jwk",
        } as never)
      : createPublicKey(text);
  } catch (err) {
    throw new SecurityConfigError(`${file}: not a public key (PEM or JWK): ${(err as Error).message}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
