// The `security:` section of `sluice server`'s configuration: TLS on the API and metrics ports
// and the insecure switch (issue 18; docs/security.md, "TLS"; docs/configuration.md).
//
//   security:
//     insecure: false            # listen beyond loopback without TLS or authentication anyway
//     tls:
//       cert: /etc/sluice/server.crt
//       key: /etc/sluice/server.key
//       clientCa: /etc/sluice/ca.crt     # CA of client certificates
//       clientAuth: require              # none | request | require (default: require with clientCa)
//       metricsClientAuth: none          # the metrics port's (default: clientAuth)

import { closest } from "../../common/closest.js";
import type { TlsListenOptions } from "../../protocol/tls.js";
import { readListenTls, TlsSettingsError } from "../../security/tls.js";
import type { Settings } from "./args.js";
import { AUTH_KEYS } from "./auth.js";
import { describeValue } from "./units.js";

export interface SecurityConfig {
  /** security.insecure: start even when a port listens beyond loopback without TLS or authentication. */
  insecure: boolean;
  /**
   * Some authentication of callers is configured (auth.ts: tokens, JWTs, canal users,
   * certificates as principals, gateways' proof); required client certificates (tls.clientAuth
   * require) count on their own.
   */
  authConfigured: boolean;
  /** TLS on the API port and the metrics port; absent: cleartext. */
  tls?: ServerTlsConfig;
}

export interface ServerTlsConfig {
  /** The API port's: certificate, key (PEM, read at load), client CA and mode. */
  listen: TlsListenOptions;
  /** The metrics port's: the same certificate, its own client-certificate mode. */
  metrics: TlsListenOptions;
}

/** Every key of security: (auth.ts reads the authentication and authorization ones). */
export const SECURITY_KEYS = ["insecure", "tls", "limits", ...AUTH_KEYS] as const;
export const TLS_KEYS = ["cert", "key", "clientCa", "clientAuth", "metricsClientAuth"] as const;

/** The flags and variables of this section (appended to args.ts's OPTIONS). */
export const SECURITY_OPTIONS = [
  { flag: "tls-cert", env: "SLUICE_TLS_CERT", arg: "FILE" },
  { flag: "tls-key", env: "SLUICE_TLS_KEY", arg: "FILE" },
  { flag: "tls-client-ca", env: "SLUICE_TLS_CLIENT_CA", arg: "FILE" },
  { flag: "tls-client-auth", env: "SLUICE_TLS_CLIENT_AUTH", arg: "MODE" },
  { flag: "tls-metrics-client-auth", env: "SLUICE_TLS_METRICS_CLIENT_AUTH", arg: "MODE" },
  { flag: "insecure", env: "SLUICE_INSECURE", arg: "" },
] as const;

/** Flags that take no value: `--insecure` is `--insecure=true`. */
export const BOOLEAN_FLAGS: readonly string[] = ["insecure"];

const FLAG_KEYS = [
  ["tls-cert", "cert"],
  ["tls-key", "key"],
  ["tls-client-ca", "clientCa"],
  ["tls-client-auth", "clientAuth"],
  ["tls-metrics-client-auth", "metricsClientAuth"],
] as const;

type Set = (
  target: Record<string, unknown>,
  key: string,
  path: string,
  value: unknown,
  label: string,
) => void;

/** Writes this section's flags and variables over the file's `security:` map. */
export function overlaySecurity(
  settings: Settings,
  section: (key: string) => Record<string, unknown> | undefined,
  set: Set,
): void {
  const given = FLAG_KEYS.filter(([flag]) => settings[flag] !== undefined);
  const insecure = settings.insecure;
  if (given.length === 0 && !insecure) return;
  const security = section("security");
  if (!security) return; // not a map: validate reports it
  if (insecure) set(security, "insecure", "security.insecure", insecure.value, insecure.label);
  if (given.length === 0) return;
  const current = security.tls;
  if (current !== undefined && current !== null && (typeof current !== "object" || Array.isArray(current)))
    return;
  const tls: Record<string, unknown> = { ...(current as Record<string, unknown> | null | undefined) };
  security.tls = tls;
  for (const [flag, key] of given) {
    const s = settings[flag];
    if (s) set(tls, key, `security.tls.${key}`, s.value, s.label);
  }
}

/** What validate.ts's context offers: problems, reported at a path or as they are; where values came from. */
export interface Reporter {
  readonly problems: string[];
  report(path: string, message: string): void;
  /** The value came as text from a flag or the environment. */
  isText(path: string): boolean;
  /** Config path → the flag or variable that set it. */
  readonly origins: { readonly labels: ReadonlyMap<string, string> };
}

type RawMap = Record<string, unknown>;

/** The `security:` section, checked (TLS files read now). Undefined when it has problems (reported). */
export function readSecurity(
  ctx: Reporter,
  value: unknown,
  cwd: string,
  authConfigured: boolean,
): SecurityConfig | undefined {
  const m = readMap(ctx, "security", value, SECURITY_KEYS);
  if (!m) return undefined;
  const insecure = readBool(ctx, "security.insecure", m.insecure) ?? false;
  const config: SecurityConfig = { insecure, authConfigured };
  if (m.tls === undefined) return config;
  const t = readMap(ctx, "security.tls", m.tls, TLS_KEYS);
  if (!t) return undefined;
  const name = (key: string) => ctx.origins.labels.get(`security.tls.${key}`) ?? `security.tls.${key}`;
  const text = (key: (typeof TLS_KEYS)[number]): string | undefined => {
    const v = t[key];
    if (v === undefined || (typeof v === "string" && v.trim() !== "")) return v?.trim();
    ctx.report(
      `security.tls.${key}`,
      `must be ${key.endsWith("Auth") ? "none, request or require" : "a file name"}, got ${describeValue(v)}`,
    );
    return undefined;
  };
  const cert = text("cert");
  const key = text("key");
  if (cert === undefined || key === undefined) {
    if (Object.keys(t).length === 0) return config;
    for (const k of ["cert", "key"] as const) {
      if (t[k] === undefined)
        ctx.report(
          `security.tls.${k}`,
          `is required for TLS (--tls-${k}, SLUICE_TLS_${k.toUpperCase()}): cert and key, PEM files`,
        );
    }
    return undefined;
  }
  const files = {
    cert: { path: cert, name: name("cert") },
    key: { path: key, name: name("key") },
    clientCa: { value: text("clientCa"), name: name("clientCa") },
  };
  try {
    const listen = readListenTls(
      { ...files, clientAuth: { value: text("clientAuth"), name: name("clientAuth") } },
      cwd,
    );
    const metricsMode = text("metricsClientAuth");
    const metrics =
      metricsMode === undefined
        ? listen
        : readListenTls(
            {
              ...files,
              clientCa:
                metricsMode.toLowerCase() === "none"
                  ? { value: undefined, name: files.clientCa.name }
                  : files.clientCa,
              clientAuth: { value: metricsMode, name: name("metricsClientAuth") },
            },
            cwd,
          );
    return { ...config, tls: { listen, metrics } };
  } catch (err) {
    if (!(err instanceof TlsSettingsError)) throw err;
    // Each names its setting already.
    ctx.problems.push(...err.problems);
    return undefined;
  }
}

function readMap(ctx: Reporter, path: string, value: unknown, keys: readonly string[]): RawMap | undefined {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    ctx.report(path, `must be a map (${keys.join(", ")}), got ${describeValue(value)}`);
    return undefined;
  }
  const out: RawMap = {};
  let ok = true;
  for (const [key, v] of Object.entries(value)) {
    if (!keys.includes(key)) {
      const guess = closest(key, keys);
      ctx.report(
        `${path}.${key}`,
        guess !== undefined
          ? `unknown key (did you mean "${guess}"?)`
          : `unknown key; ${path} takes ${keys.join(", ")}`,
      );
      ok = false;
    } else if (v !== null && v !== undefined) {
      out[key] = v;
    }
  }
  return ok ? out : undefined;
}

function readBool(ctx: Reporter, path: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "boolean") return value;
  if (ctx.isText(path) && typeof value === "string" && /^(true|false)$/i.test(value.trim())) {
    return value.trim().toLowerCase() === "true";
  }
  ctx.report(path, `must be true or false, got ${describeValue(value)}`);
  return undefined;
}
