// node:util.parseArgs for the subcommands that take their flags directly (tail, status,
// cursor, skip-event, binlog), with its refusals in the style of every sluice command: the
// flag first, a guess for a mistyped one (src/common/flags.ts reads server's and gateway's).
import { type ParseArgsConfig, parseArgs } from "node:util";
import { closest } from "../common/closest.js";
import { UsageError } from "./command.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs (strict, its default); a refusal is a UsageError naming the flag. */
export const parseCommandArgs: typeof parseArgs = (config) => {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError(
      refusal(config?.args ?? [], config?.options ?? {}, config?.allowPositionals ?? false) ??
        (err as Error).message,
    );
  }
};

/** Why parseArgs refused `args`, found in them; undefined when nothing here explains it. */
function refusal(args: readonly string[], options: Options, positionals: boolean): string | undefined {
  const byShort = new Map(Object.entries(options).map(([name, o]) => [o.short, name]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") return undefined;
    if (!arg.startsWith("-") || arg === "-") {
      if (!positionals) return `${JSON.stringify(arg)}: unexpected argument; see --help`;
      continue;
    }
    const long = arg.startsWith("--");
    const eq = arg.indexOf("=");
    const raw = long ? arg.slice(2, eq < 0 ? undefined : eq) : arg.slice(1, 2);
    const name = long ? raw : byShort.get(raw);
    const option = name === undefined ? undefined : options[name];
    if (name === undefined || option === undefined) {
      const guess = closest(raw, Object.keys(options));
      return `${long ? "--" : "-"}${raw}: unknown flag${guess ? ` (did you mean --${guess}?)` : ""}; see --help`;
    }
    if (option.type === "boolean") {
      if (long && eq >= 0) return `--${name}: takes no value`;
      continue;
    }
    const inline = long ? eq >= 0 : arg.length > 2;
    if (inline) continue;
    const next = args[i + 1];
    if (next === undefined || next.startsWith("-")) return `--${name}: needs a value`;
    i++;
  }
  return undefined;
}
