// The gateway's authentication and authorization flags (--auth-*, --policy,
// --gateway-secret-file), read into src/security's AuthSettings and checked by reading every
// file they name: a mistake is a usage error naming the flag, the file and the line.
import { resolve } from "node:path";
import { readSecretFile, SecretFileError } from "../common/secrets.js";
import { authSettingsProblems } from "../security/security.js";
import type { AuthSettings } from "../security/settings.js";
import { parseDuration, UnitError } from "../server/config/units.js";
import { UsageError } from "./command.js";

export const GATEWAY_AUTH_HELP = `Authentication and authorization (docs/security.md):
  --auth-tokens FILE          bearer tokens clients authenticate with: names, scrypt
                              hashes and scopes (sluice token create NAME; env
                              SLUICE_AUTH_TOKENS)
  --auth-jwt-key FILE         JWTs signed with this public key (PEM or JWK) are accepted
  --auth-jwks FILE            ... or signed with a key of this key set (JWKS)
  --auth-jwt-issuer ISS       the iss JWTs must carry (required with JWTs; repeatable)
  --auth-jwt-audience AUD     an aud JWTs must carry (required with JWTs; repeatable)
  --auth-jwt-clock-skew DUR   clock skew allowed on exp and nbf (default 30s, at most 5m)
  --auth-canal-user NAME      canal's user (canal.user), sent with HTTP Basic
  --auth-canal-passwd-file FILE
                              its canal.passwd (SHA1(SHA1(password)) in hex), from a file
                              (or SLUICE_AUTH_CANAL_PASSWD)
  --auth-certificates         a verified TLS client certificate's subject CN authenticates
  --auth-health open|authenticated
                              /healthz, /readyz, gRPC health: open to anyone (default) or
                              only to authenticated callers
  --policy FILE               who may read or administer which destinations and clientIds
                              (env SLUICE_POLICY); without it an authenticated client may
                              do what its scopes allow
  --gateway-secret-file FILE  the secret shown to servers that accept gateways only (the
                              servers' --gateway-secret-file; env SLUICE_GATEWAY_SECRET_FILE)`;

/** The flags as given, before they are checked. */
export interface AuthFlags {
  tokens?: string;
  jwtKey?: string;
  jwks?: string;
  issuer: string[];
  audience: string[];
  clockSkewSeconds?: number;
  canalUser?: string;
  canalPasswdFile?: string;
  certificates: boolean;
  health?: "open" | "authenticated";
  policy?: string;
  gatewaySecretFile?: string;
}

export function emptyAuthFlags(): AuthFlags {
  return { issuer: [], audience: [], certificates: false };
}

/** Reads one flag into `flags`; false when `name` is not one of these flags. */
export function readAuthFlag(
  name: string,
  value: () => string,
  flags: AuthFlags,
  label: string = name,
): boolean {
  switch (name) {
    case "--auth-tokens":
      flags.tokens = value();
      return true;
    case "--auth-jwt-key":
      flags.jwtKey = value();
      return true;
    case "--auth-jwks":
      flags.jwks = value();
      return true;
    case "--auth-jwt-issuer":
      flags.issuer.push(value());
      return true;
    case "--auth-jwt-audience":
      flags.audience.push(value());
      return true;
    case "--auth-jwt-clock-skew":
      try {
        flags.clockSkewSeconds = parseDuration(value()) / 1000;
      } catch (err) {
        if (err instanceof UnitError) throw new UsageError(`${label}: ${err.message}`);
        throw err;
      }
      return true;
    case "--auth-canal-user":
      flags.canalUser = value();
      return true;
    case "--auth-canal-passwd-file":
      flags.canalPasswdFile = value();
      return true;
    case "--auth-canal-passwd":
      throw new UsageError(
        `${label}: not a flag (arguments are visible to every local user); give --auth-canal-passwd-file FILE or SLUICE_AUTH_CANAL_PASSWD`,
      );
    case "--auth-certificates":
      flags.certificates = value() !== "false";
      return true;
    case "--auth-health": {
      const v = value();
      if (v !== "open" && v !== "authenticated")
        throw new UsageError(`${label}: must be open or authenticated, got "${v}"`);
      flags.health = v;
      return true;
    }
    case "--policy":
      flags.policy = value();
      return true;
    case "--gateway-secret-file":
      flags.gatewaySecretFile = value();
      return true;
    default:
      return false;
  }
}

/** The settings of the flags, every file read and checked; undefined when none were given. */
export function gatewayAuthSettings(
  flags: AuthFlags,
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): AuthSettings | undefined {
  const file = (f: string | undefined) => (f === undefined ? undefined : resolve(cwd, f));
  const s: AuthSettings = {};
  if (flags.tokens !== undefined) s.tokensFile = file(flags.tokens);
  if (flags.jwtKey !== undefined || flags.jwks !== undefined) {
    s.jwt = {
      keyFile: file(flags.jwtKey),
      jwksFile: file(flags.jwks),
      issuer: flags.issuer,
      audience: flags.audience,
      clockSkewSeconds: flags.clockSkewSeconds ?? 30,
    };
  } else if (flags.issuer.length > 0 || flags.audience.length > 0 || flags.clockSkewSeconds !== undefined) {
    throw new UsageError("--auth-jwt-*: give the key too: --auth-jwt-key FILE or --auth-jwks FILE");
  }
  const passwd = canalPasswd(flags, env);
  if (flags.canalUser !== undefined) {
    if (passwd === undefined) {
      throw new UsageError(
        "--auth-canal-user: needs its canal.passwd: --auth-canal-passwd-file FILE or SLUICE_AUTH_CANAL_PASSWD",
      );
    }
    s.canal = { user: flags.canalUser, passwd };
  } else if (passwd !== undefined) {
    throw new UsageError("--auth-canal-passwd-file: give the user too: --auth-canal-user NAME");
  }
  if (flags.certificates) s.certificates = true;
  if (flags.health !== undefined) s.health = flags.health;
  if (flags.policy !== undefined) s.policyFile = file(flags.policy);
  if (flags.gatewaySecretFile !== undefined) s.gateways = { secretFile: file(flags.gatewaySecretFile) };
  if (Object.keys(s).length === 0) return undefined;
  const problems = authSettingsProblems(s, "gateway");
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return s;
}

function canalPasswd(flags: AuthFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.canalPasswdFile !== undefined) {
    // The file holds canal.passwd (a hash): read as a secret file all the same.
    try {
      return readSecretFile(flags.canalPasswdFile).trim();
    } catch (err) {
      if (err instanceof SecretFileError) throw new UsageError(`--auth-canal-passwd-file: ${err.message}`);
      throw err;
    }
  }
  const v = env.SLUICE_AUTH_CANAL_PASSWD?.trim();
  return v ? v : undefined;
}
