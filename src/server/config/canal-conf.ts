// `--canal-conf DIR`: canal's conf directory (canal.properties and {destination}/instance.properties)
// read into the config tree that a Sluice config file would give, so that the same
// destinations run (docs/canal.md). Keys Sluice does not support are listed in warnings,
// never dropped silently; canal's file-mode cursors (meta.dat) are found for import.
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import { type CanalMapping, labelOf, mapInstance, readBoolean, readKey } from "./canal-instance.js";
import {
  INSTANCE_KEYS,
  isInert,
  isMqKey,
  isSecretKey,
  SERVER_KEYS,
  templateDestination,
} from "./canal-keys.js";
import { type CanalFile, CanalScope, instanceFileName, readCanalFile } from "./canal-properties.js";
import type { ServerConfig } from "./types.js";

export interface CanalConf {
  /** The directory, absolute. */
  dir: string;
  /** Settings in the shape of a config file's: host, advertise, zk, metrics, destinations. */
  tree: Record<string, unknown>;
  /** Config path → "canal.key (file:line)" for every value in the tree. */
  labels: Map<string, string>;
  /** What differs from canal: unsupported keys, values Sluice reads differently. */
  warnings: string[];
  /** What was read, for the startup log. */
  notes: string[];
  /** Passwords met in the files, to keep out of messages. */
  secrets: string[];
  /** canal's file-mode cursor file (meta.dat) of each destination that has one to import. */
  metaFiles: Map<string, string>;
}

export type CanalConfResult =
  | { ok: true; conf: CanalConf }
  | { ok: false; problems: string[]; secrets: string[] };

/**
 * Reads canal's conf directory `dirName` (named by `label`: "--canal-conf" or
 * "SLUICE_CANAL_CONF"), relative to `cwd`. `env` may override keys, as it does for canal.
 */
export function readCanalConf(
  dirName: string,
  label: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): CanalConfResult {
  const dir = resolve(cwd, dirName);
  const notDir = directoryProblem(dir, dirName, label);
  if (notDir) return { ok: false, problems: [notDir], secrets: [] };
  const serverRead = readCanalFile(join(dir, "canal.properties"), join(dirName, "canal.properties"));
  if (!serverRead.ok) {
    return { ok: false, problems: serverRead.problems.map((p) => `${label}: ${p}`), secrets: [] };
  }
  const server = serverRead.file;
  const builtins = new Map([["canal.conf.dir", dir]]);
  const serverScope = new CanalScope(server, undefined, env, builtins);
  const m: CanalMapping = { problems: [], warnings: [], labels: new Map(), secrets: new Set() };
  for (const [key, p] of server.values) if (isSecretKey(key) && p.value) m.secrets.add(p.value);

  const tree: Record<string, unknown> = {};
  mapServer(serverScope, tree, m);
  refuseManagedConfig(serverScope, m);

  const destinations = listDestinations(serverScope, dir, dirName, m);
  const list: Record<string, unknown>[] = [];
  const instanceFiles: CanalFile[] = [];
  const metaFiles = new Map<string, string>();
  for (const d of destinations) {
    if (!d.found) continue; // reported
    const read = readCanalFile(join(dir, d.name, "instance.properties"), instanceFileName(dirName, d.name));
    if (!read.ok) {
      m.problems.push(...read.problems);
      continue;
    }
    instanceFiles.push(read.file);
    for (const [key, p] of read.file.values) if (isSecretKey(key) && p.value) m.secrets.add(p.value);
    const scope = new CanalScope(
      server,
      read.file,
      env,
      new Map([...builtins, ["canal.instance.destination", d.name]]),
    );
    const path = `destinations[${list.length}]`;
    m.labels.set(`${path}.name`, d.label);
    list.push(mapInstance(scope, d.name, path, m));
    const meta = metaFile(scope, serverScope, d.name, dir, m);
    if (meta) metaFiles.set(d.name, meta);
  }
  if (list.length > 0) tree.destinations = list;

  const counts = listUnsupported(server, instanceFiles, serverScope, destinations, m);
  const secrets = [...m.secrets].filter((s) => s !== "");
  if (m.problems.length > 0) return { ok: false, problems: m.problems, secrets };
  const notes = [
    `canal config ${dir}: destinations ${destinations.map((d) => d.name).join(", ") || "(none)"}; ` +
      `${counts.applied} settings applied, ${counts.inert} leave canal doing what Sluice does anyway` +
      (counts.mq > 0
        ? `, ${counts.mq} MQ settings unused (canal.serverMode is tcp, so canal does not use them either)`
        : "") +
      (counts.unsupported > 0 ? `, ${counts.unsupported} not supported (listed in a warning)` : ""),
  ];
  return {
    ok: true,
    conf: { dir, tree, labels: m.labels, warnings: m.warnings, notes, secrets, metaFiles },
  };
}

function directoryProblem(dir: string, dirName: string, label: string): string | undefined {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    return `${label}: cannot read "${dirName}": no such directory (give canal's conf directory, the one holding canal.properties)`;
  }
  if (isDir) {
    if (existsSync(join(dir, "canal.properties"))) return undefined;
    return `${label}: "${dirName}" holds no canal.properties; give canal's conf directory, the one holding canal.properties and a directory per destination`;
  }
  return `${label}: "${dirName}" is a file; give the directory that holds canal.properties${basename(dir) === "canal.properties" ? ` ("${join(dirName, "..")}")` : ""}`;
}

/** canal's server settings: ZooKeeper, listen and registered address, metrics port. */
function mapServer(scope: CanalScope, tree: Record<string, unknown>, m: CanalMapping): void {
  const set = (path: string[], value: unknown, label: string) => {
    let t = tree;
    for (const p of path.slice(0, -1)) {
      t[p] ??= {};
      t = t[p] as Record<string, unknown>;
    }
    t[path.at(-1) as string] = value;
    m.labels.set(path.join("."), label);
  };
  const zk = readKey(scope, "canal.zkServers", m);
  if (zk) set(["zk", "connect"], zk.value.replace(/\s+/g, ""), labelOf("canal.zkServers", zk));
  const ip = readKey(scope, "canal.ip", m);
  if (ip) set(["host"], ip.value, labelOf("canal.ip", ip));
  const registerIp = readKey(scope, "canal.register.ip", m);
  if (registerIp) set(["advertise"], registerIp.value, labelOf("canal.register.ip", registerIp));
  const metricsPort = readKey(scope, "canal.metrics.pull.port", m);
  if (metricsPort)
    set(["metrics", "port"], metricsPort.value, labelOf("canal.metrics.pull.port", metricsPort));

  const port = readKey(scope, "canal.port", m);
  if (port) {
    m.warnings.push(
      `${labelOf("canal.port", port)}: not used: that port speaks canal's own TCP protocol, which Sluice does not serve yet (11111 stays reserved for it); Sluice serves Connect (gRPC, gRPC-Web, HTTP/JSON) on port 11113, or --port N`,
    );
  }
  const mode = readKey(scope, "canal.serverMode", m);
  if (mode && mode.value.toLowerCase() !== "tcp") {
    m.warnings.push(
      `${labelOf("canal.serverMode", mode)}: Sluice sends nothing to ${mode.value}; it serves its destinations to clients over Connect, as canal's tcp mode does (the MQ settings are listed as not supported)`,
    );
  }
  if (readBoolean(scope, "canal.withoutNetty", m)) {
    m.warnings.push(
      `${labelOf("canal.withoutNetty", scope.raw("canal.withoutNetty") as { origin: string })}: Sluice serves its destinations over Connect all the same`,
    );
  }
  // canal's user logs in with HTTP Basic over Sluice's API (docs/security.md, "canal's user").
  const user = readKey(scope, "canal.user", m);
  if (user) set(["security", "canal", "user"], user.value, labelOf("canal.user", user));
  const passwd = readKey(scope, "canal.passwd", m);
  if (user && passwd) set(["security", "canal", "passwd"], passwd.value, labelOf("canal.passwd", passwd));
  const lazy = readBoolean(scope, "canal.instance.global.lazy", m);
  if (lazy) {
    m.warnings.push(
      `${labelOf("canal.instance.global.lazy", scope.raw("canal.instance.global.lazy") as { origin: string })}: Sluice starts every destination at once, not at its first client`,
    );
  }
}

/** canal-admin (canal.admin.manager) keeps the instances' settings itself: there are no files to read. */
function refuseManagedConfig(scope: CanalScope, m: CanalMapping): void {
  const manager = readKey(scope, "canal.admin.manager", m);
  const mode = readKey(scope, "canal.instance.global.mode", m);
  if (manager) {
    m.problems.push(
      `${labelOf("canal.admin.manager", manager)}: canal takes its instances' settings from canal-admin then, and Sluice reads only files: export each instance's settings from canal-admin to {destination}/instance.properties and leave canal.admin.manager out`,
    );
  } else if (mode && mode.value.toLowerCase() !== "spring") {
    m.problems.push(
      `${labelOf("canal.instance.global.mode", mode)}: only "spring" (settings in files) can be read; "${mode.value}" keeps them in canal-admin`,
    );
  }
}

interface DestinationSource {
  name: string;
  /** Its instance.properties exists. */
  found: boolean;
  /** Where the destination was named, for messages. */
  label: string;
}

/**
 * canal.destinations (a comma list), or canal.destinations.expr ("prefix{1-3}"); with
 * canal.auto.scan, also every directory with an instance.properties (but "spring"), as
 * canal's scan starts them. Sluice reads the directory once, at startup.
 */
function listDestinations(
  scope: CanalScope,
  dir: string,
  dirName: string,
  m: CanalMapping,
): DestinationSource[] {
  const out: DestinationSource[] = [];
  const add = (name: string, label: string) => {
    if (!out.some((d) => d.name === name))
      out.push({ name, label, found: existsSync(join(dir, name, "instance.properties")) });
  };
  const expr = readKey(scope, "canal.destinations.expr", m);
  const listed = readKey(scope, "canal.destinations", m);
  if (expr) {
    const e = /^([^{]*)\{\s*(\d+)\s*-\s*(\d+)\s*\}$/.exec(expr.value);
    if (!e || Number(e[3]) < Number(e[2]) || Number(e[3]) - Number(e[2]) > 1000) {
      m.problems.push(
        `${labelOf("canal.destinations.expr", expr)}: must be like example{1-3}, got "${expr.value}"`,
      );
    } else {
      for (let i = Number(e[2]); i <= Number(e[3]); i++)
        add(`${e[1]}${i}`, labelOf("canal.destinations.expr", expr));
    }
  } else if (listed) {
    for (const name of listed.value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      add(name, labelOf("canal.destinations", listed));
    }
  }
  for (const d of out) {
    if (!d.found) {
      m.problems.push(
        `${d.label}: names destination "${d.name}", but ${instanceFileName(dirName, d.name)} does not exist`,
      );
    }
  }
  const scan = readBoolean(scope, "canal.auto.scan", m);
  if (scan) {
    const found = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name.toLowerCase() !== "spring")
      .filter((e) => readdirSync(join(dir, e.name)).some((f) => f.toLowerCase() === "instance.properties"))
      .map((e) => e.name)
      .sort();
    const scanLabel = labelOf("canal.auto.scan", scope.raw("canal.auto.scan") as { origin: string });
    const extra = found.filter((n) => !out.some((d) => d.name === n));
    for (const name of extra) add(name, `${scanLabel}, directory ${join(dirName, name)}`);
    m.warnings.push(
      `${scanLabel}: Sluice reads ${dirName} once, at startup: destinations added, changed or removed later take a restart` +
        (extra.length > 0 ? ` (found by the scan, not in canal.destinations: ${extra.join(", ")})` : ""),
    );
  }
  return out;
}

/**
 * canal's meta.dat for `destination` when canal kept its cursors in files
 * (classpath:spring/file-instance.xml): {canal.file.data.dir}/{destination}/meta.dat.
 */
function metaFile(
  scope: CanalScope,
  serverScope: CanalScope,
  destination: string,
  dir: string,
  m: CanalMapping,
): string | undefined {
  const xmlKey = `canal.instance.${destination}.spring.xml`;
  const xml = readKey(scope, xmlKey, m) ?? readKey(scope, "canal.instance.global.spring.xml", m);
  const kind = xml ? basename(xml.value) : "file-instance.xml";
  const dataDir = readKey(scope, "canal.file.data.dir", m)?.value ?? "../conf";
  const file = join(canalPath(dataDir, serverScope, dir), destination, "meta.dat");
  const exists = existsSync(file);
  if (kind === "group-instance.xml") {
    m.problems.push(
      `${labelOf(xml === undefined ? "canal.instance.global.spring.xml" : xmlKey, xml ?? { origin: "" })}: group-instance.xml (several sources merged into one destination) is not supported; run one destination per source`,
    );
    return undefined;
  }
  if (kind === "file-instance.xml") return exists ? file : undefined;
  if (kind !== "default-instance.xml" && kind !== "memory-instance.xml") {
    m.warnings.push(
      `${labelOf(xmlKey, xml ?? { origin: "" })}: ${xml?.value} is not one of canal's own instance files; destination ${destination} runs as with default-instance.xml`,
    );
  }
  if (exists) {
    m.warnings.push(
      `destination ${destination}: ${file} is not imported: canal ran this destination with ${kind}, which keeps cursors ${kind === "default-instance.xml" ? "in ZooKeeper" : "nowhere"}, so that file is older than them`,
    );
  }
  return undefined;
}

/**
 * A path as canal resolves it: relative to its bin directory (startup.sh runs canal there),
 * where canal.conf.dir ("../conf") is the directory given to --canal-conf.
 */
function canalPath(text: string, serverScope: CanalScope, dir: string): string {
  if (isAbsolute(text)) return text;
  const confDir = serverScope.raw("canal.conf.dir")?.value ?? "../conf";
  const norm = (p: string) => p.replace(/\/+$/, "");
  if (norm(text) === norm(confDir)) return dir;
  if (text.startsWith(`${norm(confDir)}/`)) return join(dir, text.slice(norm(confDir).length + 1));
  return resolve(dir, "..", "bin", text);
}

interface Counts {
  applied: number;
  inert: number;
  mq: number;
  unsupported: number;
}

/**
 * Every set key of every file that the import neither applies nor finds inert: one warning
 * naming each with its file and line (values are never shown: some are secrets).
 */
function listUnsupported(
  server: CanalFile,
  instances: CanalFile[],
  serverScope: CanalScope,
  destinations: DestinationSource[],
  m: CanalMapping,
): Counts {
  const counts: Counts = { applied: 0, inert: 0, mq: 0, unsupported: 0 };
  const mode = serverScope.raw("canal.serverMode")?.value.toLowerCase() ?? "tcp";
  const names = new Set(destinations.map((d) => d.name));
  const unsupported: string[] = [];
  const visit = (file: CanalFile, applies: (key: string) => boolean) => {
    const get = (key: string) => (file.values.get(key) ?? server.values.get(key))?.value;
    for (const [key, p] of file.values) {
      if (p.value === "") continue;
      if (applies(key)) counts.applied++;
      else if (isInert(key, p.value, get)) counts.inert++;
      else if (isMqKey(key) && mode === "tcp") counts.mq++;
      else unsupported.push(`${key} (${file.name}:${p.line})`);
    }
  };
  visit(server, (key) => {
    const d = templateDestination(key);
    const perDestinationXml = d !== undefined && names.has(d) && key.endsWith(".spring.xml");
    return SERVER_KEYS.has(key) || INSTANCE_KEYS.has(key) || perDestinationXml;
  });
  for (const file of instances) visit(file, (key) => INSTANCE_KEYS.has(key) || key === "canal.file.data.dir");
  counts.unsupported = unsupported.length;
  if (unsupported.length > 0) {
    m.warnings.push(
      `canal config: ${unsupported.length} settings are not supported and have no effect (docs/canal.md#not-supported): ${unsupported.join(", ")}`,
    );
  }
  return counts;
}

/** The validated config with what only the canal directory knows: meta.dat files, notes. */
export function withCanalConf(config: ServerConfig, canal: CanalConf): ServerConfig {
  return {
    ...config,
    canalConf: canal.dir,
    notes: [...(config.notes ?? []), ...canal.notes],
    destinations: config.destinations.map((d) => {
      const meta = canal.metaFiles.get(d.name);
      return meta ? { ...d, canalMetaFile: meta } : d;
    }),
  };
}

/**
 * Messages with canal's passwords replaced by "***" inside quoted values, where messages show
 * what was given. (Not everywhere: canal's stock password "canal" is part of every key name.)
 */
export function scrubQuoted(messages: readonly string[], secrets: readonly string[]): string[] {
  if (secrets.length === 0) return [...messages];
  return messages.map((message) =>
    message.replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => {
      let q = quoted;
      for (const secret of secrets) q = q.split(secret).join("***");
      return q;
    }),
  );
}
