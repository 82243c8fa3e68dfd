// The server's authentication and authorization settings: the security: keys of the config
// file (and --auth-tokens, --policy, --gateway-secret-file and their SLUICE_* variables), read
// into the AuthSettings of src/security and checked by reading every file they name, so that a
// mistake stops the server at startup with the key, the file and the line. docs/security.md.
import { resolve } from "node:path";
import { readSecretFile, SecretFileError } from "../../common/secrets.js";
import { canalPasswdProblem } from "../../security/canal-user.js";
import { SecurityConfigError } from "../../security/errors.js";
import { JwtVerifier, MAX_CLOCK_SKEW_SECONDS } from "../../security/jwt.js";
import { readPolicyFile } from "../../security/policy.js";
import { checkJwt } from "../../security/security.js";
import type { AuthSettings } from "../../security/settings.js";
import { readTokenFile } from "../../security/tokens.js";
import type { Setting, Settings } from "./args.js";
import { describeValue, parseDuration, UnitError } from "./units.js";

/** The keys of security: that this module reads. */
export const AUTH_KEYS = ["tokens", "jwt", "canal", "certificates", "policy", "health", "gateways"] as const;
const JWT_KEYS = ["keyFile", "jwksFile", "issuer", "audience", "clockSkew"];
const CANAL_KEYS = ["user", "passwd"];
const GATEWAYS_KEYS = ["secretFile", "certificates"];
const DEFAULT_CLOCK_SKEW_SECONDS = 30;

/** What the validation of the config gives this module: where to report, and which values came as text. */
export interface AuthContext {
  report(path: string, message: string): void;
  isText(path: string): boolean;
}

type RawMap = Record<string, unknown>;

/** Writes --auth-tokens, --policy, --gateway-secret-file (or their variables) into security:. */
export function overlayAuthSettings(
  settings: Settings,
  section: (key: string) => RawMap | undefined,
  set: (target: RawMap, key: string, path: string, value: unknown, label: string) => void,
): void {
  const tokens = settings["auth-tokens"];
  const policy = settings.policy;
  const secret = settings["gateway-secret-file"];
  if (!tokens && !policy && !secret) return;
  const security = section("security");
  if (!security) return; // not a map: reported by validation
  if (tokens) set(security, "tokens", "security.tokens", tokens.value, tokens.label);
  if (policy) set(security, "policy", "security.policy", policy.value, policy.label);
  if (secret) {
    const gateways = { ...(security.gateways as RawMap | undefined) };
    security.gateways = gateways;
    set(gateways, "secretFile", "security.gateways.secretFile", (secret as Setting).value, secret.label);
  }
}

/** The settings under security:, every file read and checked; undefined when none are given. */
export function readAuthSettings(ctx: AuthContext, raw: unknown, cwd: string): AuthSettings | undefined {
  if (raw === undefined || raw === null || !isMap(raw)) return undefined; // a non-map is reported by validation
  const out: AuthSettings = {};
  const file = (path: string, v: unknown) => {
    const name = str(ctx, path, v, "a file name");
    return name === undefined ? undefined : resolve(cwd, name);
  };
  const tokens = file("security.tokens", raw.tokens);
  if (tokens !== undefined) {
    if (check(ctx, "security.tokens", () => readTokenFile(tokens))) out.tokensFile = tokens;
  }
  const policy = file("security.policy", raw.policy);
  if (policy !== undefined) {
    if (check(ctx, "security.policy", () => readPolicyFile(policy))) out.policyFile = policy;
  }
  const jwt = readJwt(ctx, raw.jwt, cwd);
  if (jwt) out.jwt = jwt;
  const canal = readCanal(ctx, raw.canal);
  if (canal) out.canal = canal;
  if (raw.certificates !== undefined) {
    const v = raw.certificates;
    const b =
      typeof v === "boolean"
        ? v
        : ctx.isText("security.certificates") && /^(true|false)$/i.test(String(v).trim())
          ? /^true$/i.test(String(v).trim())
          : undefined;
    if (b === undefined)
      ctx.report("security.certificates", `must be true or false, got ${describeValue(v)}`);
    else out.certificates = b;
  }
  if (raw.health !== undefined) {
    if (raw.health === "open" || raw.health === "authenticated") out.health = raw.health;
    else ctx.report("security.health", `must be "open" or "authenticated", got ${describeValue(raw.health)}`);
  }
  const gateways = readGateways(ctx, raw.gateways, cwd);
  if (gateways) out.gateways = gateways;
  const any = Object.keys(out).length > 0;
  if (any && out.policyFile !== undefined && !out.tokensFile && !out.jwt && !out.canal && !out.certificates) {
    ctx.report(
      "security.policy",
      "a policy needs clients to authenticate: give security.tokens, security.jwt, security.canal or security.certificates",
    );
  }
  return any ? out : undefined;
}

function readJwt(ctx: AuthContext, raw: unknown, cwd: string): AuthSettings["jwt"] {
  const m = map(ctx, "security.jwt", raw, JWT_KEYS);
  if (m === undefined) return undefined;
  const fileOf = (key: string) => {
    const name = str(ctx, `security.jwt.${key}`, m[key], "a file name");
    return name === undefined ? undefined : resolve(cwd, name);
  };
  const keyFile = fileOf("keyFile");
  const jwksFile = fileOf("jwksFile");
  const list = (key: string): string[] => {
    const v = m[key];
    const items = Array.isArray(v) ? v : v === undefined ? [] : [v];
    if (!items.every((i) => typeof i === "string" && i.trim() !== "")) {
      ctx.report(`security.jwt.${key}`, `must be a string or a list of strings, got ${describeValue(v)}`);
      return [];
    }
    return (items as string[]).map((i) => i.trim());
  };
  let clockSkewSeconds = DEFAULT_CLOCK_SKEW_SECONDS;
  if (m.clockSkew !== undefined) {
    try {
      clockSkewSeconds = parseDuration(m.clockSkew) / 1000;
    } catch (err) {
      if (!(err instanceof UnitError)) throw err;
      ctx.report("security.jwt.clockSkew", err.message);
    }
    if (clockSkewSeconds > MAX_CLOCK_SKEW_SECONDS)
      ctx.report(
        "security.jwt.clockSkew",
        `must be at most ${MAX_CLOCK_SKEW_SECONDS}s, got ${describeValue(m.clockSkew)}`,
      );
  }
  const jwt = { keyFile, jwksFile, issuer: list("issuer"), audience: list("audience"), clockSkewSeconds };
  const ok = check(ctx, "security.jwt", () => {
    checkJwt(jwt);
    new JwtVerifier(jwt);
  });
  return ok ? jwt : undefined;
}

function readCanal(ctx: AuthContext, raw: unknown): AuthSettings["canal"] {
  const m = map(ctx, "security.canal", raw, CANAL_KEYS);
  if (m === undefined) return undefined;
  const user = str(ctx, "security.canal.user", m.user, "canal's user name (canal.user)");
  const passwd = str(ctx, "security.canal.passwd", m.passwd, "canal.passwd");
  if (user === undefined && m.user === undefined) ctx.report("security.canal.user", "is required");
  if (passwd === undefined && m.passwd === undefined) ctx.report("security.canal.passwd", "is required");
  if (user === undefined || passwd === undefined) return undefined;
  const problem = canalPasswdProblem(passwd);
  if (problem) {
    // Never the value: it is a password's hash.
    ctx.report("security.canal.passwd", problem);
    return undefined;
  }
  return { user, passwd };
}

function readGateways(ctx: AuthContext, raw: unknown, cwd: string): AuthSettings["gateways"] {
  const m = map(ctx, "security.gateways", raw, GATEWAYS_KEYS);
  if (m === undefined) return undefined;
  const out: NonNullable<AuthSettings["gateways"]> = {};
  const name = str(ctx, "security.gateways.secretFile", m.secretFile, "a file holding the gateways' secret");
  if (name !== undefined) {
    try {
      readSecretFile(name, cwd);
      out.secretFile = resolve(cwd, name);
    } catch (err) {
      if (!(err instanceof SecretFileError)) throw err;
      ctx.report("security.gateways.secretFile", err.message);
    }
  }
  if (m.certificates !== undefined) {
    const v = m.certificates;
    const items = Array.isArray(v) ? v : [v];
    if (!items.every((i) => typeof i === "string" && i.trim() !== "")) {
      ctx.report(
        "security.gateways.certificates",
        `must be a list of certificate subject CNs (patterns with "*"), got ${describeValue(v)}`,
      );
    } else out.certificates = (items as string[]).map((i) => i.trim());
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A map's known keys (unknown ones reported); undefined when absent or not a map. */
function map(ctx: AuthContext, path: string, raw: unknown, keys: readonly string[]): RawMap | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMap(raw)) {
    ctx.report(path, `must be a map (${keys.join(", ")}), got ${describeValue(raw)}`);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!keys.includes(key)) ctx.report(`${path}.${key}`, `unknown key; ${path} takes ${keys.join(", ")}`);
  }
  return raw;
}

function str(ctx: AuthContext, path: string, v: unknown, expected: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.trim() === "") {
    ctx.report(path, `must be ${expected}, got ${describeValue(v)}`);
    return undefined;
  }
  return v.trim();
}

/** Runs a check of files; a SecurityConfigError is reported under `path`. True when it passed. */
function check(ctx: AuthContext, path: string, run: () => void): boolean {
  try {
    run();
    return true;
  } catch (err) {
    if (!(err instanceof SecurityConfigError)) throw err;
    for (const line of err.message.split("\n")) ctx.report(path, line);
    return false;
  }
}

function isMap(v: unknown): v is RawMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
