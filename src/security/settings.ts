// What a server or gateway is told about authentication and authorization: the files and
// settings (server: the config file's security: keys, flags, environment; gateway: --auth-*
// flags), before anything is read. docs/security.md explains each.
import type { CanalUserSettings } from "./canal-user.js";
import type { JwtSettings } from "./jwt.js";

export type Role = "server" | "gateway";

export interface AuthSettings {
  /** Bearer tokens: a file of names, scrypt hashes and scopes (tokens.ts). */
  tokensFile?: string | undefined;
  /** JWTs signed by a key or key set. */
  jwt?: JwtSettings | undefined;
  /** canal's user (canal.user, canal.passwd), sent with HTTP Basic. */
  canal?: CanalUserSettings | undefined;
  /** A verified client certificate's subject CN is a principal (needs TLS with client certificates). */
  certificates?: boolean | undefined;
  /** Who may read or administer what (policy.ts); absent: an authenticated caller may do what its scopes allow (everything without scopes). */
  policyFile?: string | undefined;
  /** /healthz, /readyz and gRPC health: open to anyone (default), or only to authenticated callers. */
  health?: "open" | "authenticated" | undefined;
  /**
   * Server: which callers are sluice gateways, trusted with the consumer-fencing header and
   * with the principal they authenticated: those showing the shared secret, or a verified
   * client certificate whose subject CN matches one of `certificates`. A server given only
   * this (no tokens, JWT, canal user or certificates of clients) accepts gateways only.
   * Gateway: `secretFile` is the secret it shows servers.
   */
  gateways?: { secretFile?: string | undefined; certificates?: readonly string[] | undefined } | undefined;
}

/** True when the settings give any way for clients (not gateways) to authenticate. */
export function clientAuthenticationConfigured(s: AuthSettings | undefined): boolean {
  return (
    s !== undefined &&
    (s.tokensFile !== undefined || s.jwt !== undefined || s.canal !== undefined || s.certificates === true)
  );
}

/** True when a server with these settings knows its gateways (a secret or certificate subjects). */
export function gatewayTrustConfigured(s: AuthSettings | undefined): boolean {
  return s?.gateways?.secretFile !== undefined || (s?.gateways?.certificates?.length ?? 0) > 0;
}

/**
 * True when every call to the process must be authenticated: clients' credentials are
 * configured, or (a server) its gateways are. Part of the "listening beyond loopback needs TLS
 * and authentication" check.
 */
export function authenticationConfigured(s: AuthSettings | undefined, role: Role): boolean {
  return clientAuthenticationConfigured(s) || (role === "server" && gatewayTrustConfigured(s));
}

/** One line for the startup log: how callers are authenticated and authorized (never a secret). */
export function describeAuth(s: AuthSettings | undefined, role: Role): string {
  if (!authenticationConfigured(s, role)) {
    const proof = role === "gateway" && s?.gateways?.secretFile ? "; shows servers the gateway secret" : "";
    return `no authentication: every caller may do everything${proof}`;
  }
  const a = s as AuthSettings;
  const ways = [
    ...(a.tokensFile ? [`tokens (${a.tokensFile})`] : []),
    ...(a.jwt ? [`JWTs (${a.jwt.keyFile ?? a.jwt.jwksFile}, issuer ${a.jwt.issuer.join(" ")})`] : []),
    ...(a.canal ? [`canal user ${a.canal.user}`] : []),
    ...(a.certificates ? ["client certificates"] : []),
  ];
  const gateways =
    role === "server" && gatewayTrustConfigured(a)
      ? [
          `sluice gateways (${[...(a.gateways?.secretFile ? ["shared secret"] : []), ...(a.gateways?.certificates ?? []).map((c) => `certificate ${c}`)].join(", ")})`,
        ]
      : [];
  return [
    `authentication: ${[...ways, ...gateways].join(", ")}${ways.length === 0 ? " only" : ""}`,
    a.policyFile ? `policy ${a.policyFile}` : "no policy file (scopes, or everything)",
    `health ${a.health ?? "open"}`,
    ...(role === "gateway" && a.gateways?.secretFile ? ["shows servers the gateway secret"] : []),
  ].join("; ");
}
