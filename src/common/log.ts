// Logging: one line per record on stderr, human-readable by default and JSON with
// SLUICE_LOG_FORMAT=json. Level from SLUICE_LOG_LEVEL (debug, info, warn, error; default info).
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(name: string): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function configuredLevel(): number {
  const env = (process.env.SLUICE_LOG_LEVEL ?? "info").toLowerCase() as LogLevel;
  return ORDER[env] ?? ORDER.info;
}

export function createLogger(
  name: string,
  sink: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const min = configuredLevel();
  const json = process.env.SLUICE_LOG_FORMAT === "json";
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const time = new Date().toISOString();
    if (json) {
      sink(`${JSON.stringify({ time, level, logger: name, msg, ...fields }, jsonSafe)}\n`);
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${name}: ${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue;
        const text =
          typeof v === "string" ? v : typeof v === "bigint" ? v.toString() : JSON.stringify(v, jsonSafe);
        line += ` ${k}=${/[\s"]/.test(text) ? JSON.stringify(text) : text}`;
      }
    }
    sink(`${line}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (sub) => createLogger(`${name}.${sub}`, sink),
  };
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
