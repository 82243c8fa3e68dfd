// `sluice server` configuration: canal's conf directory (--canal-conf), the config file, then
// the environment, then flags (later wins), validated at once. See docs/configuration.md.
import { urlPassword } from "../../common/secrets.js";
import { parseFlags, readEnv, type Setting, type Settings } from "./args.js";
import { overlayAuthSettings } from "./auth.js";
import { type CanalConf, readCanalConf, scrubQuoted, withCanalConf } from "./canal-conf.js";
import { ConfigError } from "./errors.js";
import { readConfigFile } from "./file.js";
import { overlayConfigFile } from "./layers.js";
import { LIMIT_SETTINGS } from "./limits.js";
import { overlaySecurity } from "./security.js";
import type { ServerConfig } from "./types.js";
import { DEFAULTS, type Origins, validate } from "./validate.js";

export interface LoadOptions {
  /** The arguments after `sluice server`. Default none. */
  argv?: readonly string[];
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Config file to read unless SLUICE_CONFIG or --config names another. */
  file?: string;
  /** Directory relative paths are resolved against. Default process.cwd(). */
  cwd?: string;
  /** Advertised address when listening on a wildcard address; default this host's first IPv4. */
  localAddress?: string;
}

/**
 * The server configuration from a config file (YAML or JSON), the environment and flags, in
 * that order of precedence (flags win). Throws ConfigError listing every problem found.
 */
export function loadServerConfig(options: LoadOptions = {}): ServerConfig {
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const flags = parseFlags(options.argv ?? [], problems);
  const settings: Settings = { ...readEnv(options.env ?? process.env), ...flags };

  const origins: Origins = { labels: new Map(), positions: new Map() };
  let raw: unknown = {};
  let configFile: string | undefined;
  const fileSetting =
    settings.config ??
    (options.file !== undefined ? { value: options.file, label: "config file" } : undefined);
  // canal's conf directory (--canal-conf) is the bottom layer: the config file goes over it.
  let canal: CanalConf | undefined;
  const canalSetting = settings["canal-conf"];
  if (canalSetting) {
    const read = readCanalConf(canalSetting.value, canalSetting.label, cwd, options.env ?? process.env);
    if (!read.ok)
      throw new ConfigError(scrubQuoted(scrub([...problems, ...read.problems], []), read.secrets));
    canal = read.conf;
    raw = canal.tree;
    for (const [path, label] of canal.labels) origins.labels.set(path, label);
  }
  if (fileSetting) {
    const read = readConfigFile(fileSetting.value, fileSetting.label, cwd);
    if (!read.ok) throw new ConfigError(scrub([...problems, ...read.problems], []));
    raw = canal
      ? overlayConfigFile(canal.tree, read.content.value, read.content.positions, origins)
      : (read.content.value ?? {});
    configFile = read.content.path;
    if (!canal) origins.positions = read.content.positions;
    origins.fileName = fileSetting.value;
  }

  const flagProblems = problems.length;
  const merged = overlay(raw, settings, origins, problems);
  const secrets = findSecrets(merged, settings);
  const result = validate(merged, origins, {
    cwd,
    allowNoDestinations: problems.length > flagProblems,
    ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
  });
  if (Array.isArray(result) || problems.length > 0) {
    const all = scrub([...problems, ...(Array.isArray(result) ? result : [])], secrets);
    throw new ConfigError(scrubQuoted(all, canal?.secrets ?? []));
  }
  const warnings = [...argvWarnings(settings), ...(canal?.warnings ?? [])];
  const config: ServerConfig = {
    ...result,
    ...(configFile !== undefined ? { configFile } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  return canal ? withCanalConf(config, canal) : config;
}

/** A password that came in argv: every local user can read it there (`ps`). */
function argvWarnings(settings: Settings): string[] {
  const source = settings.source;
  if (!source?.label.startsWith("--") || urlPassword(source.value) === "") return [];
  return [
    `${source.label}: the URL holds a password, which every local user can read in the process's ` +
      "arguments (ps, /proc); give the URL without it and the password in SLUICE_SOURCE_PASSWORD or " +
      "--source-password-file FILE (docs/security.md)",
  ];
}

const SCALARS = [
  ["host", "host"],
  ["port", "port"],
  ["advertise", "advertise"],
  ["data-dir", "dataDir"],
  ["max-request", "maxRequest"],
] as const;

/**
 * The file's tree with the environment's and the flags' settings written over it; each
 * setting's path is labelled with its flag or variable name.
 */
function overlay(raw: unknown, settings: Settings, origins: Origins, problems: string[]): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw; // reported by validate
  const root: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  const set = (target: Record<string, unknown>, key: string, path: string, value: unknown, label: string) => {
    target[key] = value;
    origins.labels.set(path, label);
  };
  /** A copy of a section to write into, or undefined when the file's value is not a map. */
  const section = (key: string): Record<string, unknown> | undefined => {
    const v = root[key];
    if (v !== undefined && v !== null && (typeof v !== "object" || Array.isArray(v))) return undefined;
    const copy: Record<string, unknown> = { ...(v as Record<string, unknown> | null | undefined) };
    root[key] = copy;
    return copy;
  };

  for (const [option, key] of SCALARS) {
    const s = settings[option];
    if (s) set(root, key, key, s.value, s.label);
  }
  const zkPassword = passwordSetting(settings, "zk-password", "zk-password-file", problems);
  if (settings.zk || settings["zk-root"] || settings["zk-user"] || zkPassword) {
    const zk = section("zk");
    if (zk && settings.zk) set(zk, "connect", "zk.connect", settings.zk.value.trim(), settings.zk.label);
    if (zk && settings["zk-root"])
      set(zk, "root", "zk.root", settings["zk-root"].value, settings["zk-root"].label);
    if (zk && settings["zk-user"])
      set(zk, "user", "zk.user", settings["zk-user"].value.trim(), settings["zk-user"].label);
    if (zk && zkPassword) setPassword(zk, "zk", zkPassword, set);
  }
  overlayAuthSettings(settings, section, set);
  const metricsPort = settings["metrics-port"];
  if (metricsPort) {
    const metrics = section("metrics");
    if (metrics && /^(off|none|false|disabled?)$/i.test(metricsPort.value.trim())) {
      set(metrics, "enabled", "metrics.enabled", false, metricsPort.label);
    } else if (metrics) {
      set(metrics, "port", "metrics.port", metricsPort.value, metricsPort.label);
      set(metrics, "enabled", "metrics.enabled", true, metricsPort.label);
    }
  }

  const limitFlags = LIMIT_SETTINGS.filter((l) => settings[l.flag]);
  const security = limitFlags.length > 0 ? section("security") : undefined;
  const limits = security?.limits;
  if (
    security &&
    (limits === undefined || limits === null || (typeof limits === "object" && !Array.isArray(limits)))
  ) {
    const copy: Record<string, unknown> = { ...(limits as Record<string, unknown> | null | undefined) };
    security.limits = copy;
    for (const l of limitFlags) {
      const s = settings[l.flag] as Setting;
      set(copy, l.key, `security.limits.${l.key}`, s.value, s.label);
    }
  }
  overlaySecurity(settings, section, set);

  const { destination, source, filter } = settings;
  const password = passwordSetting(settings, "source-password", "source-password-file", problems);
  if (destination || source || filter || password) {
    let list = root.destinations;
    if (list === undefined || list === null) list = [];
    if (!Array.isArray(list)) return root; // validate reports it
    list = root.destinations = [...list];
    const entries = list as unknown[];
    let index: number;
    if (destination) {
      const name = destination.value.trim();
      index = entries.findIndex(
        (d) => typeof d === "object" && d !== null && (d as { name?: unknown }).name === name,
      );
      if (index < 0) {
        if (!source) {
          const where =
            entries.length === 0
              ? "no destinations are configured"
              : `the config file has no destination ${JSON.stringify(name)}`;
          problems.push(`${destination.label}: ${where}; give its source too (--source or SLUICE_SOURCE)`);
          return root;
        }
        entries.push({});
        index = entries.length - 1;
      } else {
        entries[index] = { ...(entries[index] as object) };
      }
      set(
        entries[index] as Record<string, unknown>,
        "name",
        `destinations[${index}].name`,
        name,
        destination.label,
      );
    } else if (entries.length === 0 && !source) {
      const what = (filter ?? password?.setting) as Setting;
      problems.push(
        `${what.label}: no destination is configured; give its source too (--source or SLUICE_SOURCE)`,
      );
      return root;
    } else if (entries.length <= 1) {
      index = 0;
      entries[0] = entries.length === 0 ? { name: DEFAULTS.destination.name } : { ...(entries[0] as object) };
    } else {
      const names = entries
        .map((d) => (d as { name?: unknown } | null)?.name)
        .filter((n) => typeof n === "string");
      const what = (source ?? filter ?? password?.setting) as Setting;
      problems.push(
        `${what.label}: the config file defines ${entries.length} destinations (${names.join(", ")}); ` +
          `say which one ${what.label} is for with --destination NAME (or SLUICE_DESTINATION)`,
      );
      return root;
    }
    const entry = entries[index];
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return root; // validate reports it
    const target = entry as Record<string, unknown>;
    if (source) set(target, "source", `destinations[${index}].source`, source.value, source.label);
    if (filter) set(target, "filter", `destinations[${index}].filter`, filter.value, filter.label);
    if (password) setPassword(target, `destinations[${index}]`, password, set);
  }
  return root;
}

/** A password given by the environment (the value) or by a file's name (flag or environment). */
interface PasswordSetting {
  key: "password" | "passwordFile";
  setting: Setting;
}

/**
 * The password setting that wins: a flag (a file name) over the environment; the environment
 * may give the password or a file, not both.
 */
function passwordSetting(
  settings: Settings,
  secret: "zk-password" | "source-password",
  file: "zk-password-file" | "source-password-file",
  problems: string[],
): PasswordSetting | undefined {
  const inEnv = settings[secret];
  const named = settings[file];
  if (named?.label.startsWith("--")) return { key: "passwordFile", setting: named };
  if (inEnv && named) {
    problems.push(`${inEnv.label} and ${named.label}: give the password one way, not both`);
    return undefined;
  }
  if (inEnv) return { key: "password", setting: inEnv };
  if (named) return { key: "passwordFile", setting: named };
  return undefined;
}

/** Writes the password setting over the section's, dropping the other way the file gave. */
function setPassword(
  target: Record<string, unknown>,
  path: string,
  p: PasswordSetting,
  set: (target: Record<string, unknown>, key: string, path: string, value: unknown, label: string) => void,
): void {
  delete target.password;
  delete target.passwordFile;
  set(target, p.key, `${path}.${p.key}`, p.setting.value, p.setting.label);
}

/**
 * Passwords in the source URLs of a settings tree (raw and decoded) and in the environment,
 * to keep out of messages.
 */
function findSecrets(tree: unknown, settings: Settings): string[] {
  const secrets = new Set<string>();
  for (const s of [settings["source-password"], settings["zk-password"]]) if (s) secrets.add(s.value);
  const destinations = (tree as { destinations?: unknown } | null)?.destinations;
  if (!Array.isArray(destinations)) return [...secrets];
  for (const d of destinations) {
    const source = (d as { source?: unknown } | null)?.source;
    if (typeof source !== "string") continue;
    const userinfo = /\/\/[^/?#]*@/.exec(source)?.[0];
    const raw = userinfo ? /^\/\/[^:]*:(.*)@$/s.exec(userinfo)?.[1] : undefined;
    for (const candidate of [raw, ...(raw ? [safeDecode(raw)] : [])]) {
      if (candidate) secrets.add(candidate);
    }
    try {
      const password = new URL(source).password;
      if (password) secrets.add(password).add(safeDecode(password));
    } catch {
      // not a URL: validate reports it
    }
  }
  return [...secrets];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Messages with every password replaced by "***". */
export function scrub(messages: readonly string[], secrets: readonly string[]): string[] {
  return messages.map((message) => {
    // Any "//user:secret@" (but the "user:password" of our own examples).
    let m = message.replace(/(\/\/[^\s:/@"]*:)([^\s"]*)@/g, (all, head: string, secret: string) =>
      secret === "password" || secret === "***" ? all : `${head}***@`,
    );
    for (const secret of secrets) {
      m = m.split(`:${secret}@`).join(":***@");
      if (secret.length >= 4) m = m.split(secret).join("***");
    }
    return m;
  });
}
