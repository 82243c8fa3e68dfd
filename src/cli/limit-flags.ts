// The gateway's --limit-* flags: its per-client limits (src/security/limits.ts), named as the
// server's flags are (docs/gateway.md).
import { DEFAULT_LIMITS, type Limits } from "../security/limits.js";
import { UsageError } from "./command.js";

export const LIMIT_FLAGS_HELP = `  --limit-streams N           per client (the authenticated principal, else the IP
                              address): streams open at once (default ${DEFAULT_LIMITS.streams})
  --limit-calls N             unary calls in flight at once (default ${DEFAULT_LIMITS.calls})
  --limit-rate N              calls started a second (default ${DEFAULT_LIMITS.rate})
  --limit-burst N             calls started at once after a quiet spell (default: twice
                              the rate)`;

const FLAGS: Record<string, keyof Limits> = {
  "--limit-streams": "streams",
  "--limit-calls": "calls",
  "--limit-rate": "rate",
  "--limit-burst": "burst",
};

/** True for a --limit-* flag. */
export function isLimitFlag(name: string): boolean {
  return Object.hasOwn(FLAGS, name);
}

/** The limits from the --limit-* flags given (flag name → text); the others at their defaults. */
export function limitsFromFlags(given: ReadonlyMap<string, string>): Limits {
  const out: Partial<Record<keyof Limits, number>> = {};
  for (const [flag, text] of given) {
    const key = FLAGS[flag];
    if (key === undefined) throw new UsageError(`unknown option "${flag}"`);
    if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
      throw new UsageError(`${flag}: must be a positive integer, got "${text}"`);
    }
    out[key] = Number(text);
  }
  const rate = out.rate ?? DEFAULT_LIMITS.rate;
  return {
    streams: out.streams ?? DEFAULT_LIMITS.streams,
    calls: out.calls ?? DEFAULT_LIMITS.calls,
    rate,
    burst: out.burst ?? (out.rate === undefined ? DEFAULT_LIMITS.burst : 2 * rate),
  };
}
