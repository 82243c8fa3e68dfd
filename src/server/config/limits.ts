// The server's per-client limits (src/security/limits.ts) in its configuration: the config
// file's `security.limits` map, the --limit-* flags and SLUICE_LIMIT_* variables
// (docs/configuration.md). Only positive whole numbers: every limit is bounded.
import { DEFAULT_LIMITS, type Limits } from "../../security/limits.js";

/** security.limits keys, with the flag that sets each (args.ts: flags and variables). */
export const LIMIT_SETTINGS = [
  { key: "streams", flag: "limit-streams" },
  { key: "calls", flag: "limit-calls" },
  { key: "rate", flag: "limit-rate" },
  { key: "burst", flag: "limit-burst" },
] as const;

export const LIMITS_KEYS = LIMIT_SETTINGS.map((s) => s.key);

/** The readers of validate.ts, bound to its problem list. */
export interface LimitReaders {
  /** The keys of a map (unknown ones reported); undefined: not a map (reported). */
  map(path: string, value: unknown, keys: readonly string[]): Record<string, unknown> | undefined;
  /** A positive integer (text from flags and the environment parsed); undefined: absent or reported. */
  positive(path: string, value: unknown): number | undefined;
}

/**
 * The defaults: a client's (DEFAULT_LIMITS) on a standalone server, whose clients call it
 * directly; ten times that on an elected one, whose callers are mostly gateways, each of them
 * one client to the server until servers know their gateways (docs/security.md), so that the
 * clients behind one gateway are not held to one client's room.
 */
export function defaultLimits(elected: boolean): Limits {
  if (!elected) return DEFAULT_LIMITS;
  const d = DEFAULT_LIMITS;
  return { streams: 10 * d.streams, calls: 10 * d.calls, rate: 10 * d.rate, burst: 10 * d.burst };
}

/** security.limits: each limit as given, else its default; burst defaults to twice the rate. */
export function readLimits(value: unknown, read: LimitReaders, defaults: Limits): Limits {
  const map = read.map("security.limits", value, LIMITS_KEYS) ?? {};
  const given = (key: (typeof LIMITS_KEYS)[number]) => read.positive(`security.limits.${key}`, map[key]);
  const rate = given("rate");
  return {
    streams: given("streams") ?? defaults.streams,
    calls: given("calls") ?? defaults.calls,
    rate: rate ?? defaults.rate,
    burst: given("burst") ?? (rate === undefined ? defaults.burst : 2 * rate),
  };
}
