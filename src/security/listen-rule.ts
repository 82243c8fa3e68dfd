// Safe defaults: a server or gateway port (the API's or metrics') that listens beyond loopback
// must have TLS and authentication, or the process refuses to start unless told it is insecure
// on purpose. Anyone who can reach an open API port reads every row and moves every cursor; an
// open metrics port tells destinations, clients and lag. See docs/security.md, "TLS".
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/** One port of the process, as the rule sees it. */
export interface ListenerSecurity {
  /** "the API port", "the metrics port". */
  what: string;
  host: string;
  port: number;
  tls: boolean;
  /** Every caller must prove who it is (client certificates required, tokens, ...). */
  authenticated: boolean;
}

/** The settings to name in the refusal, in the process's own words (config keys, flags). */
export interface ListenRuleHints {
  /** What turns TLS on: "--tls-cert FILE and --tls-key FILE". */
  tls: string;
  /** What turns authentication on for that port: "--tls-client-ca FILE --tls-client-auth require". */
  authentication: (l: ListenerSecurity) => string;
  /** What keeps the port on loopback: "--host 127.0.0.1". */
  loopback: (l: ListenerSecurity) => string;
  /** What says it is on purpose: "--insecure". */
  insecure: string;
}

export class InsecureListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InsecureListenError";
  }
}

/**
 * Whether the API port's callers must prove who they are: client certificates required
 * (clientAuth "require"), or another authentication configured (tokens, JWTs, canal users:
 * `authConfigured`, which the authentication settings set).
 */
export function apiAuthenticated(clientAuth: string | undefined, authConfigured: boolean): boolean {
  return clientAuth === "require" || authConfigured;
}

/**
 * Throws InsecureListenError when a listener goes beyond loopback without TLS or without
 * authentication and `insecure` is false; with `insecure` true, returns a warning for each such
 * listener (to log), else nothing.
 */
export async function checkListenRule(
  listeners: readonly ListenerSecurity[],
  insecure: boolean,
  hints: ListenRuleHints,
): Promise<string[]> {
  const exposed: ListenerSecurity[] = [];
  for (const l of listeners) {
    if ((!l.tls || !l.authenticated) && !(await isLoopback(l.host))) exposed.push(l);
  }
  if (exposed.length === 0) return [];
  if (insecure) {
    return exposed.map(
      (l) =>
        `${l.what} listens on ${hostPort(l.host, l.port)} without ${missing(l)} (${hints.insecure}): ` +
        "anyone who can reach it is served",
    );
  }
  const l = exposed[0] as ListenerSecurity;
  const fixes = [
    ...(l.tls ? [] : [`TLS (${hints.tls})`]),
    ...(l.authenticated ? [] : [`authentication (${hints.authentication(l)})`]),
  ];
  throw new InsecureListenError(
    `refusing to start: ${l.what} would listen on ${hostPort(l.host, l.port)}, beyond loopback, without ` +
      `${missing(l)}, so anyone who can reach it ${l.what.includes("metrics") ? "reads the metrics" : "reads every row and moves every cursor"}. ` +
      `Set ${fixes.join(" and ")}; or listen on loopback only (${hints.loopback(l)}); ` +
      `or, on a network you trust, say it is on purpose with ${hints.insecure}` +
      (exposed.length > 1
        ? ` (so would ${exposed
            .slice(1)
            .map((e) => e.what)
            .join(", ")})`
        : ""),
  );
}

function missing(l: ListenerSecurity): string {
  if (!l.tls && !l.authenticated) return "TLS and without authentication";
  return l.tls ? "authentication" : "TLS";
}

/**
 * True when every address `host` stands for is a loopback address (127.0.0.0/8, ::1), as the
 * listener would resolve it. Wildcards (0.0.0.0, ::) are not: they listen on every interface.
 */
export async function isLoopback(host: string): Promise<boolean> {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare) !== 0) return isLoopbackAddress(bare);
  try {
    const addresses = await lookup(bare, { all: true });
    return addresses.length > 0 && addresses.every((a) => isLoopbackAddress(a.address));
  } catch {
    // Not resolvable: the listener fails to start anyway, with its own error.
    return true;
  }
}

export function isLoopbackAddress(ip: string): boolean {
  if (isIP(ip) === 4) return ip.startsWith("127.");
  const v6 = ip.toLowerCase();
  if (v6 === "::1" || v6 === "0:0:0:0:0:0:0:1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6);
  return mapped !== null && (mapped[1] as string).startsWith("127.");
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}
