// Deadlines: clients send them as `connect-timeout-ms` (Connect) or `grpc-timeout` (gRPC and
// gRPC-Web). connect-es rejects a timeout above its `maxTimeoutMs` option with invalid_argument;
// Sluice caps it instead: before connect-es reads the headers, a longer timeout is rewritten to
// the cap. Calls without a timeout stay without one (streams are meant to run for long).
import type { IncomingHttpHeaders } from "node:http";

/**
 * The longest timer Node.js can set (2^31-1 ms, about 24.8 days). A longer setTimeout fires
 * after 1 ms, so connect-es would end a call with a huge timeout at once: every timeout is
 * capped to this at least.
 */
export const MAX_TIMER_MS = 2_147_483_647;

const GRPC_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** Parses a `grpc-timeout` value ("1500m", "30S", "2H"...) into milliseconds; undefined if malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * (GRPC_UNIT_MS[m[2] as string] as number);
}

/** Formats milliseconds as a `grpc-timeout` value (at most 8 digits, as gRPC requires). */
export function formatGrpcTimeout(ms: number): string {
  const whole = Math.max(0, Math.floor(ms));
  if (whole <= 99_999_999) return `${whole}m`;
  if (whole / 1_000 <= 99_999_999) return `${Math.floor(whole / 1_000)}S`;
  return `${Math.min(99_999_999, Math.floor(whole / 60_000))}M`;
}

/**
 * Lowers `connect-timeout-ms` and `grpc-timeout` in place to `maxMs` (itself capped to
 * MAX_TIMER_MS) when they ask for more. Malformed values are left alone: connect-es answers
 * them with invalid_argument. Returns true when a header was changed.
 */
export function capTimeoutHeaders(headers: IncomingHttpHeaders, maxMs: number = MAX_TIMER_MS): boolean {
  const cap = Math.max(0, Math.min(Math.floor(maxMs), MAX_TIMER_MS));
  let changed = false;
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect) && Number(connect) > cap) {
    headers["connect-timeout-ms"] = String(cap);
    changed = true;
  }
  const grpc = headers["grpc-timeout"];
  if (typeof grpc === "string") {
    const ms = parseGrpcTimeout(grpc);
    if (ms !== undefined && ms > cap) {
      headers["grpc-timeout"] = formatGrpcTimeout(cap);
      changed = true;
    }
  }
  return changed;
}
