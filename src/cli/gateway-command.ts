// `sluice gateway`: runs the stateless gateway until SIGTERM/SIGINT, then stops gracefully.

import type { GivenFlag } from "../common/flags.js";
import { createLogger } from "../common/log.js";
import type { ZkCredentials } from "../common/zk/acl.js";
import { DEFAULT_ROOT } from "../common/zk/paths.js";
import { startGateway } from "../gateway/gateway.js";
import type { GatewaySecurity } from "../gateway/listen-security.js";
import { DEFAULT_LIMITS, type Limits } from "../security/limits.js";
import { type AuthSettings, authenticationConfigured } from "../security/settings.js";
import { parseDuration, parseSize, UnitError } from "../server/config/units.js";
import { type Command, refusedAsUsage, UsageError } from "./command.js";
import {
  type AuthFlags,
  emptyAuthFlags,
  GATEWAY_AUTH_HELP,
  gatewayAuthSettings,
  readAuthFlag,
} from "./gateway-auth-flags.js";
import { gatewayFlags } from "./gateway-options.js";
import { GATEWAY_TLS_HELP, GatewayTlsFlags } from "./gateway-tls-flags.js";
import { isLimitFlag, LIMIT_FLAGS_HELP, limitsFromFlags } from "./limit-flags.js";
import { setHeapGrowth } from "./runtime-flags.js";
import { ZK_CREDENTIALS_HELP, zkCredentials } from "./zk-credentials.js";

const HELP = `Usage: sluice gateway --zk HOST:PORT[,...] [options]

Stateless gateway in front of sluice servers: routes every call to the running server of
its destination (found in ZooKeeper), holds each clientId for one consumer at a time across
all gateways, and serves Connect, gRPC and gRPC-Web on one port, with gRPC health checking
and reflection, /healthz, /readyz and a status page at /status. Run as many as you like
behind a load balancer.

Settings come from a config file, environment variables and flags; flags win over the
environment, which wins over the file. The file (YAML or JSON) maps flag names to values
(zk: "zk1:2181", tls-cert: /etc/sluice/gw.crt, auth-jwt-issuer: [a, b]); each flag's variable
is SLUICE_ and its name in capitals (SLUICE_ZK, SLUICE_TLS_CERT; a repeatable flag's values
separated by commas). See docs/gateway.md.

Options:
  --config FILE               config file, YAML or JSON (env SLUICE_GATEWAY_CONFIG)
  --zk HOST:PORT[,...]        ZooKeeper ensemble (required; env SLUICE_ZK)
  --zk-root PATH              ZooKeeper root of canal's layout (default ${DEFAULT_ROOT})
  --zk-session-timeout DUR    ZooKeeper session timeout; a gateway that dies loses its
                              holds after this long (default 10s)
${ZK_CREDENTIALS_HELP}
  --host ADDR                 address to listen on (default 127.0.0.1; beyond loopback
                              needs TLS and authentication, or --insecure)
  --port N                    port to listen on (default 8080; 0 picks a free one)
  --lease-idle DUR            a unary consumer's hold ends after this long without a call
                              (default 30s)
  --hold DUR                  how long a call waits for a runner while a destination has
                              none (election in progress) before unavailable (default 5s)
  --max-request SIZE          largest request message a client may send, as a server's
                              --max-request (default 4MiB)
  --max-message SIZE          largest answer message relayed from a server (default 64MiB)
  --shutdown-timeout DUR      on SIGTERM, how long calls may finish (default 10s)
  --metrics-port N|off        Prometheus metrics at http://HOST:N/metrics (default 9465,
                              one above the server's 9464 so both fit on one host;
                              0 picks a free one; off serves none)
  --metrics-host ADDR         address metrics listen on (default: --host)
${LIMIT_FLAGS_HELP}
${GATEWAY_TLS_HELP}
  -h, --help                  this help

${GATEWAY_AUTH_HELP}

Durations: 500ms, 5s, 1m. Sizes: 4MiB, 512KiB.
Environment: SLUICE_LOG_LEVEL (debug, info, warn, error), SLUICE_LOG_FORMAT=json;
metrics and traces to a collector: OTEL_EXPORTER_OTLP_ENDPOINT (see docs/observability.md).`;

export const GATEWAY_METRICS_PORT = 9465;

interface Flags {
  zk: string;
  zkRoot: string;
  zkSessionTimeoutMs: number;
  /** Digest credentials from --zk-user and its password; undefined: none. */
  zkCredentials: ZkCredentials | undefined;
  host: string;
  port: number;
  leaseIdleMs: number;
  holdMs: number;
  maxRequestBytes: number;
  maxMessageBytes: number;
  shutdownTimeoutMs: number;
  /** Prometheus port; undefined: metrics off. */
  metricsPort: number | undefined;
  /** Undefined: the same as host. */
  metricsHost: string | undefined;
  /** TLS, the insecure switch (gateway-tls-flags.ts). */
  security: GatewaySecurity;
  /** Authentication and authorization; undefined: none (every caller may do everything). */
  auth: AuthSettings | undefined;
  /** Per-client limits (--limit-*). */
  limits: Limits;
}

export function parseGatewayArgs(args: string[], env: NodeJS.ProcessEnv): Flags {
  const flags: Flags = {
    zk: "",
    zkRoot: DEFAULT_ROOT,
    zkSessionTimeoutMs: 10_000,
    zkCredentials: undefined,
    host: "127.0.0.1",
    port: 8080,
    leaseIdleMs: 30_000,
    holdMs: 5_000,
    maxRequestBytes: 4 << 20,
    maxMessageBytes: 64 << 20,
    shutdownTimeoutMs: 10_000,
    metricsPort: GATEWAY_METRICS_PORT,
    metricsHost: undefined,
    security: { insecure: false, authConfigured: false },
    auth: undefined,
    limits: DEFAULT_LIMITS,
  };
  const tlsFlags = new GatewayTlsFlags();
  const authFlags = emptyAuthFlags();
  const credentialFlags: { user?: string; passwordFile?: string } = {};
  const limitFlags = new Map<string, string>();
  for (const given of gatewayFlags(args, env))
    applyFlag(given, flags, { tlsFlags, authFlags, credentialFlags, limitFlags });
  flags.limits = limitsFromFlags(limitFlags);
  if (!flags.zk) throw new UsageError("--zk is required (or SLUICE_ZK, or zk: in the config file)");
  flags.zkCredentials = zkCredentials(credentialFlags, env);
  flags.auth = gatewayAuthSettings(authFlags, env);
  flags.security = {
    ...tlsFlags.security(),
    authConfigured: authenticationConfigured(flags.auth, "gateway"),
  };
  if (flags.metricsPort !== undefined && flags.metricsPort !== 0 && flags.metricsPort === flags.port)
    throw new UsageError(`--metrics-port: must differ from --port (${flags.port})`);
  return flags;
}

interface FlagSinks {
  tlsFlags: GatewayTlsFlags;
  authFlags: AuthFlags;
  credentialFlags: { user?: string; passwordFile?: string };
  /** --limit-* flag → its text, read together (limit-flags.ts: burst follows rate). */
  limitFlags: Map<string, string>;
}

/** Reads one flag into the settings; a bad value is a usage error naming where it came from. */
function applyFlag(given: GivenFlag, flags: Flags, sinks: FlagSinks): void {
  const { label } = given;
  const value = () => given.value;
  /** The value read with a unit parser. */
  const parsed = (parse: (text: string) => number): number => {
    try {
      return parse(given.value);
    } catch (err) {
      if (err instanceof UnitError) throw new UsageError(`${label}: ${err.message}`);
      throw err;
    }
  };
  const port = (what: string, off: boolean): number | undefined => {
    const v = given.value;
    if (off && v === "off") return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`${label}: must be ${what}, got "${v}"`);
    return n;
  };
  switch (given.name) {
    case "config":
      return;
    case "zk":
      flags.zk = value();
      return;
    case "zk-root":
      flags.zkRoot = value();
      if (!flags.zkRoot.startsWith("/") || flags.zkRoot.endsWith("/"))
        throw new UsageError(`${label}: must start with "/" and not end with it, got "${flags.zkRoot}"`);
      return;
    case "zk-session-timeout":
      flags.zkSessionTimeoutMs = parsed(parseDuration);
      return;
    case "zk-user":
      sinks.credentialFlags.user = value();
      return;
    case "zk-password-file":
      sinks.credentialFlags.passwordFile = value();
      return;
    case "host":
      flags.host = value();
      return;
    case "port":
      flags.port = port("0..65535", false) as number;
      return;
    case "lease-idle":
      flags.leaseIdleMs = parsed(parseDuration);
      if (flags.leaseIdleMs < 100) throw new UsageError(`${label}: must be at least 100ms`);
      return;
    case "hold":
      flags.holdMs = parsed(parseDuration);
      return;
    case "max-request":
      flags.maxRequestBytes = parsed(parseSize);
      return;
    case "max-message":
      flags.maxMessageBytes = parsed(parseSize);
      return;
    case "shutdown-timeout":
      flags.shutdownTimeoutMs = parsed(parseDuration);
      return;
    case "metrics-port":
      flags.metricsPort = port('0..65535 or "off"', true);
      return;
    case "metrics-host":
      flags.metricsHost = value();
      return;
    default:
      if (sinks.tlsFlags.take(`--${given.name}`, value, label)) return;
      if (readAuthFlag(`--${given.name}`, value, sinks.authFlags, label)) return;
      if (isLimitFlag(`--${given.name}`)) {
        sinks.limitFlags.set(`--${given.name}`, value());
        return;
      }
      throw new UsageError(`${label}: not a flag of sluice gateway`);
  }
}

export const gatewayCommand: Command = {
  name: "gateway",
  summary: "stateless gateway: routes to the running server, one holder per clientId",
  help: HELP,
  async run(args) {
    const flags = parseGatewayArgs(args, process.env);
    setHeapGrowth();
    const log = createLogger("gateway");
    const { metricsPort, metricsHost, ...rest } = flags;
    const gateway = await startGateway({
      ...rest,
      metrics: metricsPort === undefined ? undefined : { host: metricsHost ?? flags.host, port: metricsPort },
      logger: log,
    }).catch(refusedAsUsage);
    // Scripts and tests wait for this line to know the port.
    process.stdout.write(`sluice gateway listening on ${gateway.url}\n`);
    const signal = await new Promise<string>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    });
    log.info("stopping", { signal });
    await gateway.close();
    return 0;
  },
};
