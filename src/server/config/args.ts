// The flags and environment variables of `sluice server`, and its --help text.

import { readFlags } from "../../common/flags.js";
import { DEFAULT_LIMITS as L } from "../../security/limits.js";
import { BOOLEAN_FLAGS, SECURITY_OPTIONS } from "./security.js";

/** One setting that flags and the environment can give. */
export interface OptionSpec {
  /** Flag name without dashes. */
  flag: string;
  env: string;
  /** Placeholder shown in help. */
  arg: string;
}

export const OPTIONS = [
  { flag: "config", env: "SLUICE_CONFIG", arg: "FILE" },
  { flag: "canal-conf", env: "SLUICE_CANAL_CONF", arg: "DIR" },
  { flag: "source", env: "SLUICE_SOURCE", arg: "URL" },
  { flag: "source-password-file", env: "SLUICE_SOURCE_PASSWORD_FILE", arg: "FILE" },
  { flag: "destination", env: "SLUICE_DESTINATION", arg: "NAME" },
  { flag: "filter", env: "SLUICE_FILTER", arg: "REGEX,..." },
  { flag: "host", env: "SLUICE_HOST", arg: "ADDR" },
  { flag: "port", env: "SLUICE_PORT", arg: "N" },
  { flag: "advertise", env: "SLUICE_ADVERTISE", arg: "IP[:PORT]" },
  { flag: "zk", env: "SLUICE_ZK", arg: "HOST:PORT,..." },
  { flag: "zk-root", env: "SLUICE_ZK_ROOT", arg: "PATH" },
  { flag: "zk-user", env: "SLUICE_ZK_USER", arg: "NAME" },
  { flag: "zk-password-file", env: "SLUICE_ZK_PASSWORD_FILE", arg: "FILE" },
  { flag: "data-dir", env: "SLUICE_DATA_DIR", arg: "DIR" },
  { flag: "metrics-port", env: "SLUICE_METRICS_PORT", arg: "N|off" },
  { flag: "max-request", env: "SLUICE_MAX_REQUEST", arg: "SIZE" },
  { flag: "limit-streams", env: "SLUICE_LIMIT_STREAMS", arg: "N" },
  { flag: "limit-calls", env: "SLUICE_LIMIT_CALLS", arg: "N" },
  { flag: "limit-rate", env: "SLUICE_LIMIT_RATE", arg: "N" },
  { flag: "limit-burst", env: "SLUICE_LIMIT_BURST", arg: "N" },
  ...SECURITY_OPTIONS,
  { flag: "auth-tokens", env: "SLUICE_AUTH_TOKENS", arg: "FILE" },
  { flag: "policy", env: "SLUICE_POLICY", arg: "FILE" },
  { flag: "gateway-secret-file", env: "SLUICE_GATEWAY_SECRET_FILE", arg: "FILE" },
] as const satisfies readonly OptionSpec[];

/**
 * Passwords taken from the environment only: a flag would put them in argv, which every local
 * user reads (`ps`). A flag of the same name is refused with a pointer to these.
 */
export const SECRET_ENV = [
  { name: "source-password", env: "SLUICE_SOURCE_PASSWORD", file: "source-password-file" },
  { name: "zk-password", env: "SLUICE_ZK_PASSWORD", file: "zk-password-file" },
] as const;

export type OptionName = (typeof OPTIONS)[number]["flag"] | (typeof SECRET_ENV)[number]["name"];

/** A value given by a flag or an environment variable, with the name it was given under. */
export interface Setting {
  value: string;
  /** "--port" or "SLUICE_PORT". */
  label: string;
}

export type Settings = Partial<Record<OptionName, Setting>>;

export const SERVER_HELP = `Usage: sluice server [options]

Runs the canal server: one process serving one or more destinations, each the row changes
of one MySQL or MariaDB source, read as a replica. Without --zk it runs standalone (cursors
in --data-dir, no election, canal's file mode); with --zk the servers elect a runner for
each destination through ZooKeeper. Its port also serves /healthz, /readyz and a status page
at /status.

Settings come from a config file (YAML or JSON), environment variables and flags; flags win
over the environment, which wins over the file. See docs/configuration.md for the file.

Options:
  --config FILE            config file, YAML or JSON                      SLUICE_CONFIG
  --canal-conf DIR         canal's conf directory (canal.properties and   SLUICE_CANAL_CONF
                           {destination}/instance.properties): runs its
                           destinations; --config, the environment and
                           flags win over it (docs/canal.md)
  --source URL             the destination's source:                      SLUICE_SOURCE
                           mysql://user@host:port[?ssl=required|verify-ca|
                           verify-identity&ca=FILE] (or mariadb://)
  --source-password-file FILE
                           the source's password, read from FILE (env
                           SLUICE_SOURCE_PASSWORD_FILE); or the password
                           itself in SLUICE_SOURCE_PASSWORD
  --destination NAME       the destination --source and --filter define   SLUICE_DESTINATION
                           or override (default: the file's only
                           destination, or "example" when there is none)
  --filter REGEX,...       that destination's table filter, canal's       SLUICE_FILTER
                           syntax, e.g. 'shop\\..*' (docs/filters.md)
  --host ADDR              listen address (default 127.0.0.1; beyond      SLUICE_HOST
                           loopback needs TLS and authentication, or
                           --insecure)
  --port N                 Connect port (default 11113; 0: any free)      SLUICE_PORT
  --advertise IP[:PORT]    address other servers and gateways reach this  SLUICE_ADVERTISE
                           one at, registered in ZooKeeper (default: the
                           listen address, or this host's first IPv4)
  --zk HOST:PORT,...       ZooKeeper ensemble: elected mode               SLUICE_ZK
  --zk-root PATH           ZooKeeper root (default /otter/canal)          SLUICE_ZK_ROOT
  --zk-user NAME           ZooKeeper digest user: the nodes this server   SLUICE_ZK_USER
                           creates get ACLs (docs/security.md)
  --zk-password-file FILE  that user's password, read from FILE; or the   SLUICE_ZK_PASSWORD_FILE
                           password itself in SLUICE_ZK_PASSWORD
  --data-dir DIR           standalone cursor store (default ./.sluice)    SLUICE_DATA_DIR
  --metrics-port N|off     Prometheus metrics port (default 9464)         SLUICE_METRICS_PORT
  --max-request SIZE       largest request message (default 4MiB)         SLUICE_MAX_REQUEST
  --limit-streams N        per client (principal, else IP address):       SLUICE_LIMIT_STREAMS
                           streams open at once
  --limit-calls N          unary calls in flight at once                  SLUICE_LIMIT_CALLS
  --limit-rate N           calls started a second                         SLUICE_LIMIT_RATE
  --limit-burst N          calls started at once after a quiet spell      SLUICE_LIMIT_BURST
                           (defaults: ${L.streams}, ${L.calls}, ${L.rate} and twice the rate;
                           ten times that with --zk, where gateways call)
  --tls-cert FILE          TLS on the API and metrics ports: certificate  SLUICE_TLS_CERT
                           chain (PEM)
  --tls-key FILE           its private key (PEM)                          SLUICE_TLS_KEY
  --tls-client-ca FILE     CA that client certificates must chain to      SLUICE_TLS_CLIENT_CA
  --tls-client-auth MODE   client certificates: none, request or require  SLUICE_TLS_CLIENT_AUTH
                           (default: require with --tls-client-ca)
  --tls-metrics-client-auth MODE
                           the metrics port's (default: --tls-client-auth)
                           env SLUICE_TLS_METRICS_CLIENT_AUTH
  --insecure               listen beyond loopback without TLS or          SLUICE_INSECURE=true
                           authentication anyway (docs/security.md)
  --auth-tokens FILE       bearer tokens clients authenticate with        SLUICE_AUTH_TOKENS
                           (scrypt-hashed; sluice token create NAME)
  --policy FILE            who may read or administer which destinations  SLUICE_POLICY
                           and clientIds
  --gateway-secret-file FILE
                           the secret sluice gateways show: their calls   SLUICE_GATEWAY_SECRET_FILE
                           are trusted (consumer fencing, their clients'
                           identity); with no client credentials set,
                           only gateways are served (docs/security.md)
  -h, --help               this help

Passwords never go in flags (every local user sees a process's arguments): give them in
the environment or in files. A password in a --source URL works but is warned about.
Empty environment variables count as unset.
Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.`;

/** True when argv asks for --help (the CLI prints SERVER_HELP instead of loading the config). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "-h" || arg === "--help") return true;
  }
  return false;
}

/** Settings from flags: `--name value` or `--name=value`. Problems are collected, not thrown. */
export function parseFlags(argv: readonly string[], problems: string[]): Settings {
  const specs = OPTIONS.map((o) => ({ name: o.flag, arg: BOOLEAN_FLAGS.includes(o.flag) ? "" : o.arg }));
  const refused = new Map<string, string>(
    SECRET_ENV.map((s) => [
      s.name,
      `--${s.name}: is not a flag, so that the password stays out of the process's arguments ` +
        `(which every local user can read): set ${s.env}, or give --${s.file} FILE`,
    ]),
  );
  const read = readFlags(
    argv.filter((a) => a !== "-h" && a !== "--help"),
    specs,
    refused,
  );
  problems.push(...read.problems);
  for (const p of read.positionals) {
    problems.push(`${JSON.stringify(p)}: unexpected argument; sluice server takes only --flags (see --help)`);
  }
  const settings: Settings = {};
  for (const f of read.flags) settings[f.name as OptionName] = { value: f.value, label: f.label };
  return settings;
}

/** Settings from the environment; empty variables count as unset. */
export function readEnv(env: NodeJS.ProcessEnv): Settings {
  const settings: Settings = {};
  for (const spec of OPTIONS) {
    const value = env[spec.env];
    if (value !== undefined && value.trim() !== "") settings[spec.flag] = { value, label: spec.env };
  }
  for (const spec of SECRET_ENV) {
    const value = env[spec.env];
    if (value !== undefined && value !== "") settings[spec.name] = { value, label: spec.env };
  }
  return settings;
}
