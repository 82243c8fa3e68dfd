// `npm run bench`'s command line, parsed and checked: a bad value is an error naming the option.
import { parseArgs } from "node:util";

export const PART_NAMES = ["decode", "delivery", "catchup", "failover", "scale"] as const;
export type PartName = (typeof PART_NAMES)[number];

export interface AllOptions {
  parts: PartName[];
  /** Small sizes: a check that every part runs (minutes), not figures to quote. */
  quick: boolean;
  /** The Markdown file written (BENCHMARKS.md at the repository's root unless given). */
  out: string;
  /** Where each part's JSON and output go; a new temp dir unless given. */
  work?: string;
  /** Reuse (or create and keep) the generated binlog dataset here. */
  datadir?: string;
  timeLimitS: number;
}

export class OptionError extends Error {}

export const USAGE = `usage: npm run bench -- [--quick] [--parts ${PART_NAMES.join(",")}]
       [--out FILE] [--work DIR] [--datadir DIR] [--time-limit SECONDS]`;

export function parseAllOptions(argv: string[], defaultOut: string): AllOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
  const parts = (values.parts ?? PART_NAMES.join(",")).split(",").filter(Boolean);
  for (const p of parts) {
    if (!(PART_NAMES as readonly string[]).includes(p))
      throw new OptionError(`--parts: unknown part "${p}"; the parts are ${PART_NAMES.join(", ")}`);
  }
  if (parts.length === 0) throw new OptionError("--parts: name at least one part");
  const quick = values.quick === true;
  const limit = values["time-limit"] ?? String(quick ? 1800 : 7200);
  const timeLimitS = Number(limit);
  if (!Number.isInteger(timeLimitS) || timeLimitS < 60)
    throw new OptionError(`--time-limit: whole seconds, at least 60; got ${JSON.stringify(limit)}`);
  return {
    parts: PART_NAMES.filter((p) => parts.includes(p)),
    quick,
    out: values.out ?? defaultOut,
    ...(values.work ? { work: values.work } : {}),
    ...(values.datadir ? { datadir: values.datadir } : {}),
    timeLimitS,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: "boolean" },
      parts: { type: "string" },
      out: { type: "string" },
      work: { type: "string" },
      datadir: { type: "string" },
      "time-limit": { type: "string" },
    },
  });
}
