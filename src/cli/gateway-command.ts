// `sluice gateway`: runs the stateless gateway until SIGTERM/SIGINT, then stops gracefully.
import { createLogger } from "../common/log.js";
import type { ZkCredentials } from "../common/zk/acl.js";
import { DEFAULT_ROOT } from "../common/zk/paths.js";
import { startGateway } from "../gateway/gateway.js";
import type { GatewaySecurity } from "../gateway/listen-security.js";
import { type AuthSettings, authenticationConfigured } from "../security/settings.js";
import { parseDuration, parseSize, UnitError } from "../server/config/units.js";
import { type Command, refusedAsUsage, UsageError } from "./command.js";
import {
  emptyAuthFlags,
  GATEWAY_AUTH_HELP,
  gatewayAuthSettings,
  readAuthFlag,
} from "./gateway-auth-flags.js";
import { GATEWAY_TLS_HELP, GatewayTlsFlags } from "./gateway-tls-flags.js";
import { ZK_CREDENTIALS_HELP, zkCredentials, zkPasswordFlagError } from "./zk-credentials.js";

const HELP = `Usage: sluice gateway --zk HOST:PORT[,...] [options]

Stateless gateway in front of sluice servers: routes every call to the running server of
its destination (found in ZooKeeper), holds each clientId for one consumer at a time across
all gateways, and serves Connect, gRPC and gRPC-Web on one port, with gRPC health checking
and reflection, /healthz and /readyz. Run as many as you like behind a load balancer.

Options:
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
${GATEWAY_TLS_HELP}
  -h, --help                  this help

${GATEWAY_AUTH_HELP}

Durations: 500ms, 5s, 1m. Sizes: 4MiB, 512KiB.
Environment: SLUICE_LOG_LEVEL (debug, info, warn, error), SLUICE_LOG_FORMAT=json;
traces: OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT (see docs/observability.md).`;

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
}

export function parseGatewayArgs(args: string[], env: NodeJS.ProcessEnv): Flags {
  const flags: Flags = {
    zk: env.SLUICE_ZK ?? "",
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
  };
  const tlsFlags = new GatewayTlsFlags();
  const authFlags = emptyAuthFlags(env);
  const credentialFlags: { user?: string; passwordFile?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    /** The value read with a unit parser; a bad one is a usage error naming the flag. */
    const parsed = (parse: (text: string) => number): number => {
      const v = value();
      try {
        return parse(v);
      } catch (err) {
        if (err instanceof UnitError) throw new UsageError(`${name}: ${err.message}`);
        throw err;
      }
    };
    const size = () => parsed(parseSize);
    const duration = () => parsed(parseDuration);
    switch (name) {
      case "--zk":
        flags.zk = value();
        break;
      case "--zk-root":
        flags.zkRoot = value();
        if (!flags.zkRoot.startsWith("/") || flags.zkRoot.endsWith("/"))
          throw new UsageError(`--zk-root: must start with "/" and not end with it, got "${flags.zkRoot}"`);
        break;
      case "--zk-session-timeout":
        flags.zkSessionTimeoutMs = duration();
        break;
      case "--zk-user":
        credentialFlags.user = value();
        break;
      case "--zk-password-file":
        credentialFlags.passwordFile = value();
        break;
      case "--zk-password":
        throw zkPasswordFlagError();
      case "--host":
        flags.host = value();
        break;
      case "--port": {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`--port: must be 0..65535, got "${v}"`);
        flags.port = n;
        break;
      }
      case "--lease-idle":
        flags.leaseIdleMs = duration();
        if (flags.leaseIdleMs < 100) throw new UsageError("--lease-idle: must be at least 100ms");
        break;
      case "--hold":
        flags.holdMs = duration();
        break;
      case "--max-request":
        flags.maxRequestBytes = size();
        break;
      case "--max-message":
        flags.maxMessageBytes = size();
        break;
      case "--shutdown-timeout":
        flags.shutdownTimeoutMs = duration();
        break;
      case "--metrics-port": {
        const v = value();
        if (v === "off") {
          flags.metricsPort = undefined;
          break;
        }
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535)
          throw new UsageError(`--metrics-port: must be 0..65535 or "off", got "${v}"`);
        flags.metricsPort = n;
        break;
      }
      case "--metrics-host":
        flags.metricsHost = value();
        break;
      default:
        if (tlsFlags.take(name, value)) break;
        if (readAuthFlag(name, value, authFlags)) break;
        throw new UsageError(`unknown option "${arg}"`);
    }
  }
  if (!flags.zk) throw new UsageError("--zk is required (or set SLUICE_ZK)");
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

export const gatewayCommand: Command = {
  name: "gateway",
  summary: "stateless gateway: routes to the running server, one holder per clientId",
  help: HELP,
  async run(args) {
    const flags = parseGatewayArgs(args, process.env);
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
