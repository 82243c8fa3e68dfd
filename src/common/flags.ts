// The flags of `sluice server` and `sluice gateway`, read with node:util.parseArgs as every
// other subcommand's are: one syntax (`--name value`, `--name=value`, a switch alone), one
// error style (each problem names its flag). Problems are collected, not thrown, so that one
// run reports every mistake at once.
import { parseArgs } from "node:util";
import { closest } from "./closest.js";

export interface FlagSpec {
  /** Without the dashes: "port". */
  name: string;
  /** The value's placeholder in help and errors ("N", "FILE"); "" for a switch (no value). */
  arg: string;
  /** May be given several times (each value kept, in order). */
  repeatable?: boolean;
}

/** One flag as given. */
export interface GivenFlag {
  name: string;
  /** A switch's is "true" (or "false" when given as --name=false). */
  value: string;
  /** "--port". */
  label: string;
}

export interface ReadFlags {
  flags: GivenFlag[];
  /** Arguments that are not flags (after "--" too). */
  positionals: string[];
  problems: string[];
}

/**
 * Reads `argv` against `specs`. `refused` maps flag names that must never be given (passwords)
 * to the problem to report instead; their values are skipped, never echoed.
 */
export function readFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  refused: ReadonlyMap<string, string> = new Map(),
): ReadFlags {
  const problems: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  // parseArgs would take a following "--flag" as the value of a flag that needs one; a
  // missing value is reported here instead, and refused flags never reach it.
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      kept.push(...argv.slice(i));
      break;
    }
    const name = flagName(arg);
    if (name === undefined) {
      kept.push(arg);
      continue;
    }
    const next = argv[i + 1];
    const nextIsValue = !arg.includes("=") && next !== undefined && !next.startsWith("-");
    const refusal = refused.get(name);
    if (refusal !== undefined) {
      problems.push(refusal);
      if (nextIsValue) i++;
      continue;
    }
    const spec = byName.get(name);
    if (spec && spec.arg !== "" && !arg.includes("=") && !nextIsValue) {
      problems.push(`--${name}: needs a value (--${name} ${spec.arg})`);
      continue;
    }
    kept.push(arg);
  }
  const options = Object.fromEntries(
    specs.map((s) => [
      s.name,
      { type: s.arg === "" ? ("boolean" as const) : ("string" as const), multiple: true },
    ]),
  );
  const { tokens } = parseArgs({ args: kept, options, strict: false, allowPositionals: true, tokens: true });
  const flags: GivenFlag[] = [];
  const positionals: string[] = [];
  let skipIndex = -1;
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      if (token.index !== skipIndex) positionals.push(token.value);
      continue;
    }
    const label = `--${token.name}`;
    const spec = byName.get(token.name);
    if (!spec || !token.rawName.startsWith("--")) {
      const guess = closest(
        token.name,
        specs.map((s) => s.name),
      );
      problems.push(
        `${token.rawName}: unknown flag${guess ? ` (did you mean --${guess}?)` : ""}; see --help`,
      );
      // "--nope value": the value belongs to the unknown flag, not to the positionals.
      if (token.value === undefined) skipIndex = token.index + 1;
      continue;
    }
    const value = switchValue(spec, token.value, label, problems);
    if (value === undefined) continue;
    if (!spec.repeatable && flags.some((f) => f.name === spec.name)) {
      problems.push(`${label}: given more than once`);
      continue;
    }
    flags.push({ name: spec.name, value, label });
  }
  return { flags, positionals, problems };
}

/** "--name" or "--name=..." → "name"; anything else undefined. */
function flagName(arg: string): string | undefined {
  if (!arg.startsWith("--") || arg.length === 2) return undefined;
  const eq = arg.indexOf("=");
  return eq < 0 ? arg.slice(2) : arg.slice(2, eq);
}

function switchValue(
  spec: FlagSpec,
  value: string | undefined,
  label: string,
  problems: string[],
): string | undefined {
  if (spec.arg !== "") {
    if (value === undefined || value === "") {
      problems.push(`${label}: needs a value (${label} ${spec.arg})`);
      return undefined;
    }
    return value;
  }
  if (value === undefined) return "true";
  if (/^(true|false)$/i.test(value)) return value.toLowerCase();
  problems.push(`${label}: must be true or false, got "${value}"`);
  return undefined;
}
