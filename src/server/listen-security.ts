// The server's side of the listen rule (src/security/listen-rule.ts): its ports as configured,
// and the settings to name when it refuses to start.
import type { Logger } from "../common/log.js";
import { apiAuthenticated, checkListenRule, type ListenerSecurity } from "../security/listen-rule.js";
import type { ServerConfig } from "./config/types.js";

const HINTS = {
  tls: "security.tls.cert and security.tls.key; --tls-cert FILE --tls-key FILE",
  authentication: (l: ListenerSecurity) =>
    l.what.includes("metrics")
      ? "client certificates: security.tls.clientCa with security.tls.metricsClientAuth: require; --tls-client-ca FILE --tls-metrics-client-auth require"
      : "tokens, JWTs or canal's user (security.tokens, security.jwt, security.canal; --auth-tokens FILE), gateways' proof (security.gateways; --gateway-secret-file FILE), or client certificates (security.tls.clientCa with security.tls.clientAuth: require; --tls-client-ca FILE --tls-client-auth require)",
  loopback: (l: ListenerSecurity) =>
    l.what.includes("metrics")
      ? "metrics.host: 127.0.0.1, or metrics off (--metrics-port off)"
      : "host: 127.0.0.1; --host 127.0.0.1",
  insecure: "security.insecure: true (--insecure, SLUICE_INSECURE=true)",
};

/** The server's ports as the rule sees them. */
export function serverListeners(config: ServerConfig): ListenerSecurity[] {
  const security = config.security;
  const tls = security?.tls;
  const out: ListenerSecurity[] = [
    {
      what: "the API port",
      host: config.host,
      port: config.port,
      tls: tls !== undefined,
      authenticated: apiAuthenticated(tls?.listen.clientAuth, security?.authConfigured ?? false),
    },
  ];
  if (config.metrics.enabled) {
    out.push({
      what: "the metrics port",
      host: config.metrics.host,
      port: config.metrics.port,
      tls: tls !== undefined,
      authenticated: tls?.metrics.clientAuth === "require",
    });
  }
  return out;
}

/** Throws (InsecureListenError) when a port would be open beyond loopback; logs what --insecure lets through. */
export async function checkServerListeners(config: ServerConfig, logger: Logger): Promise<void> {
  const warnings = await checkListenRule(serverListeners(config), config.security?.insecure ?? false, HINTS);
  for (const w of warnings) logger.warn(w);
}
