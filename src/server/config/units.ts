// Sizes ("256MB", "1GiB") and durations ("5s", "500ms", "1m30s") as config values.

/** A value that is not a size or duration; the message says what is expected, for a "path: " prefix. */
export class UnitError extends Error {
  override readonly name = "UnitError";
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const SIZE_HELP = 'a whole number of bytes or a size like "256MB" or "1GiB"';

/**
 * Bytes from a number (whole bytes) or a string: a number with an optional unit B, KB, MB, GB,
 * TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), case-insensitive, e.g. "64MiB",
 * "1.5GB". Bare K, M, G are refused as ambiguous. Fractions round to whole bytes.
 */
export function parseSize(value: unknown): number {
  let bytes: number;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new UnitError(`must be ${SIZE_HELP}, got ${value}`);
    bytes = value;
  } else if (typeof value === "string") {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
    const unit = m?.[2]?.toLowerCase() ?? "";
    const factor = unit === "" ? 1 : SIZE_UNITS[unit];
    if (!m || factor === undefined) {
      const hint = /^[kmgt]$/.test(unit)
        ? ` ("${m?.[2]}" is ambiguous: use ${unit.toUpperCase()}B or ${unit.toUpperCase()}iB)`
        : "";
      throw new UnitError(`must be ${SIZE_HELP}, got ${JSON.stringify(value)}${hint}`);
    }
    bytes = Math.round(Number(m[1]) * factor);
  } else {
    throw new UnitError(`must be ${SIZE_HELP}, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(bytes)) throw new UnitError(`is too large: ${JSON.stringify(value)}`);
  return bytes;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const DURATION_HELP = 'a number of milliseconds or a duration like "5s", "500ms" or "1m30s"';

/**
 * Milliseconds from a number (whole milliseconds) or a string: one or more number-unit pairs
 * with units ms, s, m, h (e.g. "500ms", "1.5s", "1m30s"), or a bare number of milliseconds.
 */
export function parseDuration(value: unknown): number {
  let ms: number;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new UnitError(`must be ${DURATION_HELP}, got ${value}`);
    ms = value;
  } else if (typeof value === "string") {
    const text = value.trim();
    if (/^\d+$/.test(text)) {
      ms = Number(text);
    } else if (/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/i.test(text)) {
      ms = 0;
      for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/gi)) {
        ms += Number(n) * (DURATION_UNITS[(unit as string).toLowerCase()] as number);
      }
      ms = Math.round(ms);
    } else {
      throw new UnitError(`must be ${DURATION_HELP}, got ${JSON.stringify(value)}`);
    }
  } else {
    throw new UnitError(`must be ${DURATION_HELP}, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(ms)) throw new UnitError(`is too large: ${JSON.stringify(value)}`);
  return ms;
}

/** A value as shown in an error: strings quoted (and shortened), lists and maps named. */
export function describeValue(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return String(value);
}

/** "65536" → "64 KiB", for summaries. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ["TiB", 2 ** 40],
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  return `${bytes} B`;
}

/** 1500 → "1.5s", 60000 → "1m", 250 → "250ms", for summaries. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}
