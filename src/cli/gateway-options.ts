// Where `sluice gateway`'s settings come from, as for `sluice server`: a config file, then the
// environment, then flags (later wins). The file is a YAML (or JSON) map whose keys are the
// flags' names (`zk`, `tls-cert`, `auth-jwt-issuer: [a, b]`); each flag's variable is SLUICE_
// and its name in capitals (`SLUICE_TLS_CERT`). The result is one list of flags, read by
// gateway-command.ts as if they had all been given on the command line.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { closest } from "../common/closest.js";
import { type FlagSpec, type GivenFlag, readFlags } from "../common/flags.js";
import { UsageError } from "./command.js";

interface GatewayFlagSpec extends FlagSpec {
  /** The variable, or none (credentials read their own: zk-credentials.ts). */
  env?: string | undefined;
}

const flag = (name: string, arg: string, more: Partial<GatewayFlagSpec> = {}): GatewayFlagSpec => ({
  name,
  arg,
  env: `SLUICE_${name.toUpperCase().replace(/-/g, "_")}`,
  ...more,
});

/** Every flag of `sluice gateway`; --help (gateway-command.ts) describes each. */
export const GATEWAY_FLAGS: readonly GatewayFlagSpec[] = [
  flag("config", "FILE", { env: "SLUICE_GATEWAY_CONFIG" }),
  flag("zk", "HOST:PORT[,...]"),
  flag("zk-root", "PATH"),
  flag("zk-session-timeout", "DUR"),
  flag("zk-user", "NAME", { env: undefined }),
  flag("zk-password-file", "FILE", { env: undefined }),
  flag("host", "ADDR"),
  flag("port", "N"),
  flag("lease-idle", "DUR"),
  flag("hold", "DUR"),
  flag("max-request", "SIZE"),
  flag("max-message", "SIZE"),
  flag("shutdown-timeout", "DUR"),
  flag("metrics-port", "N|off"),
  flag("metrics-host", "ADDR"),
  flag("limit-streams", "N"),
  flag("limit-calls", "N"),
  flag("limit-rate", "N"),
  flag("limit-burst", "N"),
  flag("tls-cert", "FILE"),
  flag("tls-key", "FILE"),
  flag("tls-client-ca", "FILE"),
  flag("tls-client-auth", "MODE"),
  flag("tls-metrics-client-auth", "MODE"),
  flag("tls-upstream-ca", "FILE"),
  flag("tls-upstream-name", "NAME"),
  flag("tls-upstream-cert", "FILE"),
  flag("tls-upstream-key", "FILE"),
  flag("insecure", ""),
  flag("auth-tokens", "FILE"),
  flag("auth-jwt-key", "FILE"),
  flag("auth-jwks", "FILE"),
  flag("auth-jwt-issuer", "ISS", { repeatable: true }),
  flag("auth-jwt-audience", "AUD", { repeatable: true }),
  flag("auth-jwt-clock-skew", "DUR"),
  flag("auth-canal-user", "NAME"),
  // Its password comes from a file or SLUICE_AUTH_CANAL_PASSWD (gateway-auth-flags.ts).
  flag("auth-canal-passwd-file", "FILE", { env: undefined }),
  flag("auth-certificates", ""),
  flag("auth-health", "open|authenticated"),
  flag("policy", "FILE"),
  flag("gateway-secret-file", "FILE"),
];

/** Where a refused password goes instead, in a config file. */
const PASSWORD_INSTEAD = new Map([
  ["zk-password", "give zk-password-file (a file holding it) or SLUICE_ZK_PASSWORD"],
  ["auth-canal-passwd", "give auth-canal-passwd-file (a file holding it) or SLUICE_AUTH_CANAL_PASSWD"],
]);

/** Passwords are never flags: every local user reads a process's arguments. */
const REFUSED = new Map([
  [
    "zk-password",
    "--zk-password: is not a flag, so that the password stays out of the process's arguments " +
      "(which every local user can read): set SLUICE_ZK_PASSWORD, or give --zk-password-file FILE",
  ],
  [
    "auth-canal-passwd",
    "--auth-canal-passwd: not a flag (arguments are visible to every local user); give " +
      "--auth-canal-passwd-file FILE or SLUICE_AUTH_CANAL_PASSWD",
  ],
]);

/**
 * The gateway's flags from the config file, the environment and `argv`, flags winning over the
 * environment, which wins over the file (a repeatable flag's values come from one source, the
 * highest). Throws UsageError listing every problem.
 */
export function gatewayFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): GivenFlag[] {
  const given = readFlags(argv, GATEWAY_FLAGS, REFUSED);
  const problems = [...given.problems];
  for (const p of given.positionals) {
    problems.push(
      `${JSON.stringify(p)}: unexpected argument; sluice gateway takes only --flags (see --help)`,
    );
  }
  const fromEnv = envFlags(env, problems);
  const configName = given.flags.find((f) => f.name === "config") ?? fromEnv.find((f) => f.name === "config");
  const fromFile = configName ? fileFlags(resolve(cwd, configName.value), configName.label, problems) : [];
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  const out: GivenFlag[] = [];
  for (const spec of GATEWAY_FLAGS) {
    for (const source of [given.flags, fromEnv, fromFile]) {
      const values = source.filter((f) => f.name === spec.name);
      if (values.length === 0) continue;
      out.push(...values);
      break;
    }
  }
  return out;
}

/** Flags from SLUICE_* variables; empty ones count as unset. */
function envFlags(env: NodeJS.ProcessEnv, problems: string[]): GivenFlag[] {
  const out: GivenFlag[] = [];
  for (const spec of GATEWAY_FLAGS) {
    if (spec.env === undefined) continue;
    const raw = env[spec.env]?.trim();
    if (raw === undefined || raw === "") continue;
    if (spec.arg === "" && !/^(true|false)$/i.test(raw)) {
      problems.push(`${spec.env}: must be true or false, got "${raw}"`);
      continue;
    }
    // A repeatable flag's variable lists its values separated by commas.
    const values = spec.repeatable ? raw.split(",").map((v) => v.trim()) : [raw];
    for (const value of values) {
      out.push({ name: spec.name, value: spec.arg === "" ? value.toLowerCase() : value, label: spec.env });
    }
  }
  return out;
}

/** Flags from a config file: a map of flag names to values (a list for a repeatable flag). */
function fileFlags(path: string, label: string, problems: string[]): GivenFlag[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    problems.push(
      `${label}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
    return [];
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number | undefined) => {
    const p = lines.linePos(offset ?? 0);
    return `${path}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) problems.push(`${at(e.pos[0])}: ${e.message}`);
    return [];
  }
  if (doc.contents === null) return [];
  if (!isMap(doc.contents)) {
    problems.push(`${at(doc.contents.range?.[0])}: a gateway config file is a map of flag names to values`);
    return [];
  }
  const out: GivenFlag[] = [];
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    const where = at(isScalar(pair.key) ? pair.key.range?.[0] : undefined);
    const spec = GATEWAY_FLAGS.find((s) => s.name === key);
    if (key === "config" || !spec) {
      const instead = PASSWORD_INSTEAD.get(key);
      const guess = closest(
        key,
        GATEWAY_FLAGS.map((s) => s.name),
      );
      problems.push(
        instead !== undefined
          ? `${where}: ${key}: a config file holds no password: ${instead}`
          : `${where}: ${key}: unknown key${guess && guess !== "config" ? ` (did you mean ${guess}?)` : ""}; the keys are sluice gateway's flag names`,
      );
      continue;
    }
    const items = isSeq(pair.value) ? pair.value.items : [pair.value];
    if (isSeq(pair.value) && !spec.repeatable) {
      problems.push(`${where}: ${key}: takes one value, not a list`);
      continue;
    }
    for (const item of items) {
      const value = isScalar(item) ? item.value : undefined;
      if (value === undefined || value === null || typeof value === "object") {
        problems.push(
          `${where}: ${key}: must be ${spec.arg === "" ? "true or false" : `a value (${spec.arg})`}`,
        );
        continue;
      }
      if (spec.arg === "" && typeof value !== "boolean") {
        problems.push(`${where}: ${key}: must be true or false, got ${JSON.stringify(value)}`);
        continue;
      }
      out.push({ name: key, value: String(value), label: `${key} (${where})` });
    }
  }
  return out;
}
