// The gateway's TLS and the listen rule (src/security/listen-rule.ts) on its ports: the
// settings as `sluice gateway` gives them, and the flags to name when it refuses to start.
import type { Logger } from "../common/log.js";
import type { TlsConnectOptions, TlsListenOptions } from "../protocol/tls.js";
import { apiAuthenticated, checkListenRule, type ListenerSecurity } from "../security/listen-rule.js";

export interface GatewaySecurity {
  /** TLS on the API port; absent: cleartext. */
  tls?: TlsListenOptions | undefined;
  /** TLS on the metrics port (the same certificate, its own client-certificate mode). */
  metricsTls?: TlsListenOptions | undefined;
  /** TLS to servers (their CA, the gateway's client certificate); absent: h2c. */
  upstreamTls?: TlsConnectOptions | undefined;
  /** Listen beyond loopback without TLS or authentication anyway (--insecure). */
  insecure: boolean;
  /**
   * Some authentication of callers is configured (--auth-*: tokens, JWTs, canal users,
   * certificates as principals); required client certificates (--tls-client-auth require)
   * count on their own.
   */
  authConfigured: boolean;
}

const HINTS = {
  tls: "--tls-cert FILE --tls-key FILE",
  authentication: (l: ListenerSecurity) =>
    l.what.includes("metrics")
      ? "client certificates: --tls-client-ca FILE --tls-metrics-client-auth require"
      : "tokens, JWTs or canal's user (--auth-tokens FILE, --auth-jwt-key FILE, --auth-canal-user NAME), or client certificates (--tls-client-ca FILE --tls-client-auth require)",
  loopback: (l: ListenerSecurity) =>
    l.what.includes("metrics") ? "--metrics-host 127.0.0.1, or --metrics-port off" : "--host 127.0.0.1",
  insecure: "--insecure",
};

/** Throws (InsecureListenError) when a port would be open beyond loopback; logs what --insecure lets through. */
export async function checkGatewayListeners(
  api: { host: string; port: number },
  metrics: { host: string; port: number } | undefined,
  security: GatewaySecurity | undefined,
  log: Logger,
): Promise<void> {
  const listeners: ListenerSecurity[] = [
    {
      what: "the API port",
      ...api,
      tls: security?.tls !== undefined,
      authenticated: apiAuthenticated(security?.tls?.clientAuth, security?.authConfigured ?? false),
    },
  ];
  if (metrics) {
    listeners.push({
      what: "the metrics port",
      ...metrics,
      tls: security?.metricsTls !== undefined,
      authenticated: security?.metricsTls?.clientAuth === "require",
    });
  }
  for (const w of await checkListenRule(listeners, security?.insecure ?? false, HINTS)) log.warn(w);
}
