// From the merged settings tree (file, then environment and flags written over it) to a
// ServerConfig. Every problem is collected, each naming the path of its key, or the flag or
// variable the value came from.
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { resolve } from "node:path";
import { closest } from "../../common/closest.js";
import { readSecretFile, SecretFileError } from "../../common/secrets.js";
import { credentialsProblem, type ZkCredentials } from "../../common/zk/acl.js";
import { destinationProblem } from "../../contracts/names.js";
import { authenticationConfigured } from "../../security/settings.js";
import { EventFilter, FilterError, type FilterField } from "../filter/index.js";
import { parseStartGtid } from "../replication/gtid-set.js";
import { parseSourceUrl, type SourceConfig, SourceUrlError } from "../replication/source.js";
import { readAuthSettings } from "./auth.js";
import { defaultLimits, readLimits } from "./limits.js";
import { readSecurity } from "./security.js";
import type { ConfiguredStart, DestinationConfig, ServerConfig, ZooKeeperConfig } from "./types.js";
import { describeValue, parseDuration, parseSize, UnitError } from "./units.js";

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 11113,
  dataDir: "./.sluice",
  zk: { root: "/otter/canal", sessionTimeoutMs: 10_000, regrabDelayMs: 1000, balance: true },
  maxRequest: 4 * 2 ** 20,
  metrics: { enabled: true, port: 9464 },
  store: { maxEntries: 16384, maxBytes: 64 * 2 ** 20, catchUpReaders: 4 },
  stream: { window: 4, maxBatchSize: 10_000 },
  destination: { name: "example", heartbeatMs: 5000, schemaLookup: "auto" },
} as const;

export const ROOT_KEYS = [
  "host",
  "port",
  "advertise",
  "dataDir",
  "maxRequest",
  "zk",
  "metrics",
  "store",
  "stream",
  "destinations",
  "security",
] as const;
export const ZK_KEYS = [
  "connect",
  "root",
  "sessionTimeout",
  "regrabDelay",
  "balance",
  "user",
  "passwordFile",
] as const;
export const METRICS_KEYS = ["enabled", "host", "port"] as const;
export const STORE_KEYS = ["maxEntries", "maxBytes", "catchUpReaders"] as const;
export const STREAM_KEYS = ["window", "maxBatchSize"] as const;
export const DESTINATION_KEYS = [
  "name",
  "source",
  "passwordFile",
  "start",
  "filter",
  "blackFilter",
  "fieldFilter",
  "fieldBlackFilter",
  "filterQueryDdl",
  "filterTableError",
  "serverId",
  "heartbeat",
  "timeZone",
  "schemaLookup",
] as const;
export const START_KEYS = ["file", "position", "gtid", "timestamp"] as const;

/** Where values came from, for messages. */
export interface Origins {
  /** Config path → the flag or variable that set it ("--port", "SLUICE_SOURCE"). */
  labels: Map<string, string>;
  /** Config path → "file:line:col" of its key in the config file. */
  positions: Map<string, string>;
  /** The config file as named, for problems with the whole file. */
  fileName?: string;
}

export interface ValidateOptions {
  /** Relative paths (dataDir) are resolved against this directory. */
  cwd: string;
  /** Address advertised when the listen address is a wildcard; default: the first non-loopback IPv4. */
  localAddress?: string;
  /** Don't report an empty destination list (a flag's problem already explains it). */
  allowNoDestinations?: boolean;
}

class Context {
  readonly problems: string[] = [];
  constructor(readonly origins: Origins) {}

  /** The value came as text from a flag or the environment: numbers and booleans are parsed. */
  isText(path: string): boolean {
    return this.origins.labels.has(path);
  }

  report(path: string, message: string): void {
    const label = this.origins.labels.get(path);
    if (label !== undefined) {
      this.problems.push(`${label}: ${message}`);
      return;
    }
    this.problems.push(
      `${path === "" ? (this.origins.fileName ?? "config") : path}: ${message}${this.where(path)}`,
    );
  }

  private where(path: string): string {
    for (let p = path; ; p = parentPath(p)) {
      const position = this.origins.positions.get(p);
      if (position !== undefined) return ` (at ${position})`;
      if (p === "") return "";
    }
  }
}

function parentPath(path: string): string {
  const m = /^(.*?)(?:\.[^.[\]]*|\[\d+\])$/.exec(path);
  return m ? (m[1] as string) : "";
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

type RawMap = Record<string, unknown>;

function isMapValue(v: unknown): v is RawMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The keys of a map, null values dropped; unknown keys reported. undefined: not a map (reported). */
function readMap(
  ctx: Context,
  path: string,
  value: unknown,
  keys: readonly string[],
  what: string,
): RawMap | undefined {
  if (value === undefined || value === null) return {};
  if (!isMapValue(value)) {
    ctx.report(path, `must be a map (${what}), got ${describeValue(value)}`);
    return undefined;
  }
  const out: RawMap = {};
  for (const [key, v] of Object.entries(value)) {
    if (!keys.includes(key)) {
      ctx.report(join(path, key), unknownKey(key, keys, path));
      continue;
    }
    if (v !== null && v !== undefined) out[key] = v;
  }
  return out;
}

function unknownKey(key: string, keys: readonly string[], path: string): string {
  if (key === "password" && keys.includes("passwordFile")) {
    const env = path === "zk" ? "SLUICE_ZK_PASSWORD" : "SLUICE_SOURCE_PASSWORD";
    return `a config file holds no password: give passwordFile (a file holding it) or ${env}`;
  }
  if (path === "" && (DESTINATION_KEYS as readonly string[]).includes(key)) {
    return `unknown key at the top level; ${key} is a setting of each destination: put it in a "destinations:" item, next to its name`;
  }
  const guess = closest(key, keys);
  if (guess !== undefined) return `unknown key (did you mean "${guess}"?)`;
  return `unknown key; ${path === "" ? "the top level" : path} takes ${keys.join(", ")}`;
}

function readInt(
  ctx: Context,
  path: string,
  value: unknown,
  min: number,
  max: number,
  expected: string,
): number | undefined {
  if (value === undefined) return undefined;
  let n = value;
  if (typeof value === "string" && ctx.isText(path) && /^\s*[+-]?\d+\s*$/.test(value)) n = Number(value);
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    ctx.report(path, `must be ${expected}, got ${describeValue(value)}`);
    return undefined;
  }
  return n;
}

function readPort(ctx: Context, path: string, value: unknown): number | undefined {
  return readInt(ctx, path, value, 0, 65535, "a port number from 0 to 65535 (0: any free port)");
}

function readPositive(ctx: Context, path: string, value: unknown): number | undefined {
  return readInt(ctx, path, value, 1, Number.MAX_SAFE_INTEGER, "a positive integer");
}

function readBool(ctx: Context, path: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "boolean") return value;
  if (ctx.isText(path) && typeof value === "string" && /^(true|false)$/i.test(value.trim())) {
    return value.trim().toLowerCase() === "true";
  }
  ctx.report(path, `must be true or false, got ${describeValue(value)}`);
  return undefined;
}

function readString(ctx: Context, path: string, value: unknown, expected = "a string"): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    ctx.report(path, `must be ${expected}, got ${describeValue(value)}`);
    return undefined;
  }
  if (value.trim() === "") {
    ctx.report(path, `must be ${expected}, got an empty string`);
    return undefined;
  }
  return value.trim();
}

function readSize(ctx: Context, path: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  try {
    const bytes = parseSize(value);
    if (bytes >= 1) return bytes;
    ctx.report(path, `must be at least 1 byte, got ${describeValue(value)}`);
  } catch (err) {
    if (!(err instanceof UnitError)) throw err;
    ctx.report(path, err.message);
  }
  return undefined;
}

function readDuration(
  ctx: Context,
  path: string,
  value: unknown,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  try {
    const ms = parseDuration(value);
    if (ms >= min && ms <= max) return ms;
    ctx.report(
      path,
      ms < min
        ? `must be at least ${min}ms, got ${describeValue(value)}`
        : `must be at most ${max}ms, got ${describeValue(value)}`,
    );
  } catch (err) {
    if (!(err instanceof UnitError)) throw err;
    ctx.report(path, err.message);
  }
  return undefined;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

function isHost(text: string): boolean {
  return isIP(text) !== 0 || HOSTNAME.test(text);
}

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"]);

/** "host:port" or "[v6]:port" with the port optional; undefined when malformed. */
function splitHostPort(text: string): { host: string; port?: number } | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(text) ?? /^([^\s:[\]/,]+)(?::(\d+))?$/.exec(text);
  if (!m) return undefined;
  const host = m[1] as string;
  if (!isHost(host)) return undefined;
  if (m[2] === undefined) return { host };
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** A ZooKeeper path: "/a/b", no empty, "." or ".." segment, no trailing slash. */
function isZnodePath(text: string): boolean {
  return /^(\/[^/\s]+)+$/.test(text) && !text.split("/").some((s) => s === "." || s === "..");
}

/** This machine's first non-internal IPv4 address (canal's AddressUtils.getHostIp), else loopback. */
export function defaultAdvertiseHost(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === "IPv4" && !a.internal) return a.address;
    }
  }
  return "127.0.0.1";
}

export function validate(raw: unknown, origins: Origins, options: ValidateOptions): ServerConfig | string[] {
  const ctx = new Context(origins);
  const rootMap = readMap(ctx, "", raw, ROOT_KEYS, "settings such as port, zk, destinations");
  const root = rootMap ?? {};

  const host = readString(ctx, "host", root.host, "a listen address such as 0.0.0.0 or 127.0.0.1");
  if (host !== undefined && !isHost(host.replace(/^\[(.*)\]$/, "$1")))
    ctx.report("host", `must be an IP address or host name, got ${describeValue(host)}`);
  const listenHost = (host ?? DEFAULTS.host).replace(/^\[(.*)\]$/, "$1");
  const port = readPort(ctx, "port", root.port) ?? DEFAULTS.port;

  // advertise
  let advertise: string;
  const advertiseText = readString(ctx, "advertise", root.advertise, 'an address such as "10.0.0.5:11113"');
  if (advertiseText !== undefined) {
    const hp = splitHostPort(advertiseText);
    if (!hp) {
      ctx.report(
        "advertise",
        `must be ip:port or ip (the port then is port), got ${describeValue(advertiseText)}`,
      );
    } else if (WILDCARDS.has(hp.host)) {
      ctx.report("advertise", `must be an address other servers can reach, not the wildcard ${hp.host}`);
    }
    advertise = hp ? hostPort(hp.host, hp.port ?? port) : advertiseText;
  } else {
    const h = WILDCARDS.has(listenHost) ? (options.localAddress ?? defaultAdvertiseHost()) : listenHost;
    advertise = hostPort(h, port);
  }

  const dataDir = readString(ctx, "dataDir", root.dataDir, "a directory") ?? DEFAULTS.dataDir;
  const maxRequest = readSize(ctx, "maxRequest", root.maxRequest) ?? DEFAULTS.maxRequest;

  // zk
  let zk: ZooKeeperConfig | undefined;
  const zkMap = readMap(
    ctx,
    "zk",
    envPassword(ctx, "zk", root.zk),
    ZK_KEYS,
    "connect, root, sessionTimeout, regrabDelay, balance, user, passwordFile",
  );
  if (zkMap && Object.keys(zkMap).length > 0) {
    const connect = readString(
      ctx,
      "zk.connect",
      zkMap.connect,
      'a ZooKeeper connect string "host:port,..."',
    );
    if (connect !== undefined) {
      const problem = zkConnectProblem(connect);
      if (problem) ctx.report("zk.connect", problem);
    } else if (zkMap.connect === undefined) {
      ctx.report("zk.connect", 'is required when zk is configured: "host:port,host:port" (or give --zk)');
    }
    const rootPath = readString(ctx, "zk.root", zkMap.root, "a ZooKeeper path such as /otter/canal");
    if (rootPath !== undefined && !isZnodePath(rootPath))
      ctx.report("zk.root", `must be a ZooKeeper path such as /otter/canal, got ${describeValue(rootPath)}`);
    zk = {
      connect: connect ?? "",
      root: rootPath ?? DEFAULTS.zk.root,
      sessionTimeoutMs:
        readDuration(ctx, "zk.sessionTimeout", zkMap.sessionTimeout, 1, 2 ** 31 - 1) ??
        DEFAULTS.zk.sessionTimeoutMs,
      regrabDelayMs:
        readDuration(ctx, "zk.regrabDelay", zkMap.regrabDelay, 0, 2 ** 31 - 1) ?? DEFAULTS.zk.regrabDelayMs,
      balance: readBool(ctx, "zk.balance", zkMap.balance) ?? DEFAULTS.zk.balance,
    };
    const credentials = readZkCredentials(ctx, zkMap, options.cwd, (root.zk as RawMap).password);
    if (credentials) zk.credentials = credentials;
  }

  // metrics
  const metricsMap = readMap(ctx, "metrics", root.metrics, METRICS_KEYS, "enabled, host, port") ?? {};
  const metricsHost = readString(ctx, "metrics.host", metricsMap.host, "a listen address");
  if (metricsHost !== undefined && !isHost(metricsHost.replace(/^\[(.*)\]$/, "$1")))
    ctx.report("metrics.host", `must be an IP address or host name, got ${describeValue(metricsHost)}`);
  const metrics = {
    enabled: readBool(ctx, "metrics.enabled", metricsMap.enabled) ?? DEFAULTS.metrics.enabled,
    host: (metricsHost ?? listenHost).replace(/^\[(.*)\]$/, "$1"),
    port: readPort(ctx, "metrics.port", metricsMap.port) ?? DEFAULTS.metrics.port,
  };
  if (
    metrics.enabled &&
    metrics.port !== 0 &&
    metrics.port === port &&
    (metrics.host === listenHost || WILDCARDS.has(metrics.host) || WILDCARDS.has(listenHost))
  ) {
    ctx.report("metrics.port", `${port} is also the server's port; give metrics a port of its own`);
  }

  // store and stream
  const storeMap =
    readMap(ctx, "store", root.store, STORE_KEYS, "maxEntries, maxBytes, catchUpReaders") ?? {};
  const store = {
    maxEntries: readPositive(ctx, "store.maxEntries", storeMap.maxEntries) ?? DEFAULTS.store.maxEntries,
    maxBytes: readSize(ctx, "store.maxBytes", storeMap.maxBytes) ?? DEFAULTS.store.maxBytes,
    catchUpReaders:
      readPositive(ctx, "store.catchUpReaders", storeMap.catchUpReaders) ?? DEFAULTS.store.catchUpReaders,
  };
  const streamMap = readMap(ctx, "stream", root.stream, STREAM_KEYS, "window, maxBatchSize") ?? {};
  const stream = {
    window: readPositive(ctx, "stream.window", streamMap.window) ?? DEFAULTS.stream.window,
    maxBatchSize:
      readPositive(ctx, "stream.maxBatchSize", streamMap.maxBatchSize) ?? DEFAULTS.stream.maxBatchSize,
  };

  // security: authentication and authorization (auth.ts), TLS and the insecure switch
  // (security.ts), per-client limits (limits.ts)
  const auth = readAuthSettings(ctx, root.security, options.cwd);
  const security = readSecurity(ctx, root.security, options.cwd, authenticationConfigured(auth, "server"));
  const securityMap = isMapValue(root.security) ? root.security : {};
  const limits = readLimits(
    securityMap.limits,
    {
      map: (path, value, keys) => readMap(ctx, path, value, keys, keys.join(", ")),
      positive: (path, value) => readPositive(ctx, path, value),
    },
    defaultLimits(zk !== undefined),
  );

  // destinations
  const destinations: DestinationConfig[] = [];
  const rawDestinations = root.destinations;
  if (rawDestinations !== undefined && !Array.isArray(rawDestinations)) {
    ctx.report(
      "destinations",
      `must be a list of destinations ("- name: example" items), got ${describeValue(rawDestinations)}`,
    );
  } else if (rawDestinations === undefined || rawDestinations.length === 0) {
    if (rootMap && !options.allowNoDestinations)
      ctx.report(
        "destinations",
        "no destination to serve: give --source (and --destination NAME), or list destinations in a config file",
      );
  } else {
    const seen: Seen = { names: new Map(), serverIds: new Map() };
    rawDestinations.forEach((value, i) => {
      const d = readDestination(ctx, `destinations[${i}]`, value, seen, options.cwd);
      if (d) destinations.push(d);
    });
  }

  if (ctx.problems.length > 0) return ctx.problems;
  return {
    host: listenHost,
    port,
    advertise,
    advertiseConfigured: advertiseText !== undefined,
    dataDir: resolve(options.cwd, dataDir),
    maxRequest,
    ...(zk ? { zk } : {}),
    metrics,
    store,
    stream,
    limits,
    destinations,
    // Absent when the section sets nothing: no TLS, not insecure.
    ...(security && (security.tls || security.insecure || security.authConfigured) ? { security } : {}),
    ...(auth ? { auth } : {}),
  };
}

/**
 * The section without the "password" the environment put there (SLUICE_ZK_PASSWORD,
 * SLUICE_SOURCE_PASSWORD): read on its own, so that a config file cannot hold one.
 */
function envPassword(ctx: Context, path: string, value: unknown): unknown {
  if (!isMapValue(value) || !ctx.isText(`${path}.password`)) return value;
  const { password: _, ...rest } = value;
  return rest;
}

/** A password from the environment (as given) or from a file (read now); undefined: none. */
function readPassword(
  ctx: Context,
  path: string,
  fromEnv: unknown,
  file: unknown,
  cwd: string,
): string | undefined {
  if (typeof fromEnv === "string" && ctx.isText(`${path}.password`)) return fromEnv;
  const name = readString(ctx, `${path}.passwordFile`, file, "the name of a file holding the password");
  if (name === undefined) return undefined;
  try {
    return readSecretFile(name, cwd);
  } catch (err) {
    if (!(err instanceof SecretFileError)) throw err;
    ctx.report(`${path}.passwordFile`, err.message);
    return undefined;
  }
}

function readZkCredentials(
  ctx: Context,
  zk: RawMap,
  cwd: string,
  fromEnv: unknown,
): ZkCredentials | undefined {
  const user = readString(ctx, "zk.user", zk.user, "a ZooKeeper digest user name");
  const password = readPassword(ctx, "zk", fromEnv, zk.passwordFile, cwd);
  const givenPassword = password !== undefined || zk.passwordFile !== undefined;
  if (user === undefined && zk.user === undefined && givenPassword) {
    const at = ctx.isText("zk.password") ? "zk.password" : "zk.passwordFile";
    ctx.report(at, "a ZooKeeper password needs its user: give zk.user (--zk-user, SLUICE_ZK_USER)");
    return undefined;
  }
  if (user !== undefined && !givenPassword) {
    ctx.report(
      "zk.user",
      "needs a password: zk.passwordFile (--zk-password-file, SLUICE_ZK_PASSWORD_FILE) or SLUICE_ZK_PASSWORD",
    );
    return undefined;
  }
  if (user === undefined || password === undefined) return undefined;
  const problem = credentialsProblem({ user, password });
  if (problem) {
    ctx.report("zk.user", problem);
    return undefined;
  }
  return { user, password };
}

function zkConnectProblem(connect: string): string | undefined {
  const slash = connect.indexOf("/");
  const servers = slash < 0 ? connect : connect.slice(0, slash);
  const expected = 'must be "host:port,host:port" with an optional "/chroot"';
  if (slash >= 0 && !isZnodePath(connect.slice(slash))) {
    return `${expected}; the chroot ${JSON.stringify(connect.slice(slash))} is not a ZooKeeper path`;
  }
  for (const server of servers.split(",")) {
    if (!splitHostPort(server.trim())) return `${expected}; ${JSON.stringify(server)} is not host:port`;
  }
  return undefined;
}

/** Names and server ids taken so far, each with the path of the destination that took it. */
interface Seen {
  names: Map<string, string>;
  serverIds: Map<string, string>;
}

function readDestination(
  ctx: Context,
  path: string,
  value: unknown,
  seen: Seen,
  cwd: string,
): DestinationConfig | undefined {
  if (typeof value === "string") {
    ctx.report(
      path,
      `must be a map with at least name and source, got ${describeValue(value)}` +
        (destinationProblem(value) === undefined
          ? ` (write "- name: ${value}" and "source: mysql://...")`
          : ""),
    );
    return undefined;
  }
  const m = readMap(
    ctx,
    path,
    envPassword(ctx, path, value),
    DESTINATION_KEYS,
    "name, source, start, filter, ...",
  );
  if (!m) return undefined;
  const password = readPassword(ctx, path, (value as RawMap).password, m.passwordFile, cwd);

  const name = readString(ctx, `${path}.name`, m.name, 'a destination name such as "example"');
  if (name === undefined) {
    if (m.name === undefined) ctx.report(`${path}.name`, "is required");
  } else if (destinationProblem(name) !== undefined) {
    ctx.report(`${path}.name`, destinationProblem(name) as string);
  } else {
    const previous = seen.names.get(name);
    if (previous !== undefined) {
      ctx.report(
        `${path}.name`,
        `${JSON.stringify(name)} is also the name of ${previous}; names must be unique`,
      );
    } else {
      seen.names.set(name, path);
    }
  }

  let source: SourceConfig | undefined;
  let redactedSourceUrl = "";
  if (m.source === undefined) {
    ctx.report(`${path}.source`, "is required: mysql://user:password@host:port");
  } else if (typeof m.source !== "string") {
    ctx.report(
      `${path}.source`,
      `must be a URL string mysql://user:password@host:port, got ${describeValue(m.source)}`,
    );
  } else {
    try {
      source = parseSourceUrl(m.source.trim());
      if (password !== undefined) source.password = password;
      redactedSourceUrl = redactedUrl(m.source.trim(), source);
    } catch (err) {
      if (!(err instanceof SourceUrlError)) throw err;
      ctx.report(`${path}.source`, err.message.replace(/^source: /, ""));
    }
  }

  const start = m.start === undefined ? undefined : readStart(ctx, `${path}.start`, m.start);

  const filters = {} as Record<FilterField, string>;
  for (const field of ["filter", "blackFilter", "fieldFilter", "fieldBlackFilter"] as const) {
    const fieldPath = `${path}.${field}`;
    let text = "";
    const v = m[field];
    if (Array.isArray(v) && v.every((p) => typeof p === "string")) {
      text = v.join(",");
    } else if (typeof v === "string") {
      text = v;
    } else if (v !== undefined) {
      ctx.report(
        fieldPath,
        `must be a string (patterns separated by ",") or a list of strings, got ${describeValue(v)}`,
      );
      continue;
    }
    try {
      new EventFilter({ [field]: text, cacheSize: 0 });
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      ctx.report(fieldPath, `${JSON.stringify(err.part)} ${err.reason}`);
    }
    filters[field] = text;
  }

  const filterQueryDdl = readBool(ctx, `${path}.filterQueryDdl`, m.filterQueryDdl);
  const filterTableError = readBool(ctx, `${path}.filterTableError`, m.filterTableError);
  const serverId = readInt(
    ctx,
    `${path}.serverId`,
    m.serverId,
    1,
    2 ** 32 - 1,
    "an integer from 1 to 4294967295",
  );
  if (serverId !== undefined && source) {
    const key = `${source.host}:${source.port}#${serverId}`;
    const other = seen.serverIds.get(key);
    if (other !== undefined) {
      ctx.report(
        `${path}.serverId`,
        `${serverId} is also the serverId of ${other}, which reads the same source; two replicas with one server id disconnect each other`,
      );
    } else {
      seen.serverIds.set(key, path);
    }
  }
  // MySQL and MariaDB take heartbeat periods up to 4294967 seconds.
  const heartbeatMs = readDuration(ctx, `${path}.heartbeat`, m.heartbeat, 0, 4_294_967_000);
  const timeZone = readString(
    ctx,
    `${path}.timeZone`,
    m.timeZone,
    'a time zone: "UTC", "+08:00" or an IANA name',
  );
  if (timeZone !== undefined && !isTimeZone(timeZone)) {
    ctx.report(
      `${path}.timeZone`,
      `must be "UTC", an offset such as "+08:00" or an IANA name such as "Asia/Shanghai", got ${describeValue(timeZone)}`,
    );
  }
  let schemaLookup: "auto" | "never" = DEFAULTS.destination.schemaLookup;
  if (m.schemaLookup !== undefined) {
    if (m.schemaLookup === "auto" || m.schemaLookup === "never") schemaLookup = m.schemaLookup;
    else
      ctx.report(`${path}.schemaLookup`, `must be "auto" or "never", got ${describeValue(m.schemaLookup)}`);
  }

  // With any problem the caller returns the problems, not this.
  if (!source || name === undefined) return undefined;
  return {
    name,
    source,
    redactedSourceUrl,
    ...(start ? { start } : {}),
    ...filters,
    filterQueryDdl: filterQueryDdl ?? false,
    filterTableError: filterTableError ?? false,
    ...(serverId !== undefined ? { serverId } : {}),
    heartbeatMs: heartbeatMs ?? DEFAULTS.destination.heartbeatMs,
    ...(timeZone !== undefined ? { timeZone } : {}),
    schemaLookup,
  };
}

/** The URL rebuilt from its parts, the password as "***": nothing of the password can leak. */
function redactedUrl(text: string, s: SourceConfig): string {
  const scheme = text.slice(0, text.indexOf(":")).toLowerCase();
  const user = encodeURIComponent(s.user);
  const params = new URLSearchParams();
  if (s.ssl !== "off") params.set("ssl", s.ssl);
  if (s.caFile !== undefined) params.set("ca", s.caFile);
  const query = params.size > 0 ? `?${params.toString().replace(/%2F/gi, "/")}` : "";
  return `${scheme}://${user}${s.password !== "" ? ":***" : ""}@${hostPort(s.host, s.port)}${query}`;
}

function isTimeZone(text: string): boolean {
  const offset = /^[+-](\d{2}):(\d{2})$/.exec(text);
  if (offset) return Number(offset[1]) <= 14 && Number(offset[2]) < 60;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: text });
    return true;
  } catch {
    return false;
  }
}

const START_HELP =
  "{ file: mysql-bin.000003, position: 4 }, { gtid: ... } or { timestamp: 2024-06-01T00:00:00Z }";

function readStart(ctx: Context, path: string, value: unknown): ConfiguredStart | undefined {
  const m = readMap(ctx, path, value, START_KEYS, START_HELP);
  if (!m) return undefined;
  const given = (["file", "gtid", "timestamp"] as const).filter((k) => m[k] !== undefined);
  if (given.length === 0) {
    ctx.report(
      m.position !== undefined ? `${path}.position` : path,
      m.position !== undefined
        ? "needs a file: { file: mysql-bin.000003, position: 4 }"
        : `must be ${START_HELP}`,
    );
    return undefined;
  }
  if (given.length > 1) {
    ctx.report(path, `give one of file, gtid or timestamp, not ${given.join(" and ")}`);
    return undefined;
  }
  if (given[0] !== "file" && m.position !== undefined) {
    ctx.report(`${path}.position`, `goes with file, not with ${given[0]}`);
    return undefined;
  }
  if (given[0] === "file") {
    const file = readString(ctx, `${path}.file`, m.file, "a binlog file name such as mysql-bin.000003");
    const position = readInt(
      ctx,
      `${path}.position`,
      m.position,
      4,
      Number.MAX_SAFE_INTEGER,
      "a byte offset of at least 4 (the first event)",
    );
    if (file === undefined || (m.position !== undefined && position === undefined)) return undefined;
    if (!/^[^\s/\\]+\.\d+$/.test(file)) {
      ctx.report(
        `${path}.file`,
        `must be a binlog file name such as mysql-bin.000003, got ${describeValue(file)}`,
      );
      return undefined;
    }
    return { kind: "file", file, position: position ?? 4 };
  }
  if (given[0] === "gtid") {
    const text = readString(ctx, `${path}.gtid`, m.gtid, "a GTID set (MySQL) or GTID state (MariaDB)");
    if (text === undefined) return undefined;
    try {
      return parseStartGtid(text);
    } catch (err) {
      ctx.report(`${path}.gtid`, (err as Error).message);
      return undefined;
    }
  }
  // timestamp
  const t = m.timestamp;
  if (typeof t === "number") {
    if (!Number.isInteger(t) || t < 0) {
      ctx.report(`${path}.timestamp`, `must be epoch milliseconds or an ISO 8601 time, got ${t}`);
      return undefined;
    }
    if (t < 1e11) {
      ctx.report(
        `${path}.timestamp`,
        `${t} looks like seconds; give epoch milliseconds (${t * 1000}) or an ISO 8601 time such as "2024-06-01T00:00:00Z"`,
      );
      return undefined;
    }
    return { kind: "timestamp", ms: t };
  }
  const iso = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
  const ms =
    typeof t === "string" && iso.test(t.trim()) ? Date.parse(t.trim().replace(" ", "T")) : Number.NaN;
  if (Number.isNaN(ms)) {
    ctx.report(
      `${path}.timestamp`,
      `must be an ISO 8601 time with a zone such as "2024-06-01T00:00:00Z" or "2024-06-01T08:00:00+08:00", or epoch milliseconds, got ${describeValue(t)}`,
    );
    return undefined;
  }
  return { kind: "timestamp", ms };
}
