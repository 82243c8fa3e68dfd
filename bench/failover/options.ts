// The cluster bench's command line (see run.ts's header), parsed and checked: a bad value is an
// error naming the option.
import { parseArgs } from "node:util";
import { FAULT_NAMES } from "./faults.js";

export interface BenchOptions {
  rounds: number;
  faults: string[];
  sessionTimeoutMs: number;
  regrabDelayMs: number;
  gatewaySessionTimeoutMs: number;
  rowsPerSecond: number;
  txRows: number;
  checkIntervalMs: number;
  shutdownSessions: boolean;
  streamTransport: "grpc" | "connect";
  batchSize: number;
  getWaitMs: number;
  callTimeoutMs: number;
  logLevel: string;
  seed: number;
  timeLimitS: number;
  json?: string;
  keep: boolean;
}

export class OptionError extends Error {}

function integer(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min)
    throw new OptionError(
      `--${name}: must be a whole number of at least ${min}, got ${JSON.stringify(value)}`,
    );
  return n;
}

export function parseBenchOptions(argv: string[]): BenchOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
  const faults = (values.faults ?? FAULT_NAMES.join(",")).split(",").filter(Boolean);
  for (const f of faults) {
    if (!FAULT_NAMES.includes(f))
      throw new OptionError(`--faults: unknown fault "${f}"; the faults are ${FAULT_NAMES.join(", ")}`);
  }
  if (faults.length === 0) throw new OptionError("--faults: name at least one fault");
  const transport = values["stream-transport"];
  if (transport !== "grpc" && transport !== "connect")
    throw new OptionError(`--stream-transport: grpc or connect, got "${transport}"`);
  const logLevel = values["log-level"] as string;
  if (!["debug", "info", "warn", "error"].includes(logLevel))
    throw new OptionError(`--log-level: debug, info, warn or error, got "${logLevel}"`);
  const sessionTimeoutMs = integer("session-timeout", values["session-timeout"], 400);
  const rounds = integer("rounds", values.rounds, 1);
  return {
    rounds,
    faults,
    sessionTimeoutMs,
    regrabDelayMs: integer("regrab-delay", values["regrab-delay"], 0),
    gatewaySessionTimeoutMs:
      values["gateway-session-timeout"] === undefined
        ? sessionTimeoutMs
        : integer("gateway-session-timeout", values["gateway-session-timeout"], 400),
    rowsPerSecond: integer("rate", values.rate, 1),
    txRows: integer("tx-rows", values["tx-rows"], 1),
    checkIntervalMs: integer("check-interval", values["check-interval"], 100),
    shutdownSessions: !values["no-shutdown-sessions"],
    streamTransport: transport,
    batchSize: integer("batch-size", values["batch-size"], 1),
    getWaitMs: integer("get-wait", values["get-wait"], 0),
    callTimeoutMs: integer("call-timeout", values["call-timeout"], 100),
    logLevel,
    seed: integer("seed", values.seed, 0),
    // Start-up, then at most about 40 s a fault, doubled: a run that takes longer is stuck.
    timeLimitS:
      values["time-limit"] === undefined
        ? 120 + 2 * 40 * rounds * faults.length
        : integer("time-limit", values["time-limit"], 10),
    ...(values.json === undefined ? {} : { json: values.json }),
    keep: values.keep ?? false,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      rounds: { type: "string", default: "3" },
      faults: { type: "string" },
      "session-timeout": { type: "string", default: "3000" },
      "regrab-delay": { type: "string", default: "1000" },
      "gateway-session-timeout": { type: "string" },
      rate: { type: "string", default: "600" },
      "tx-rows": { type: "string", default: "30" },
      "check-interval": { type: "string", default: "500" },
      "no-shutdown-sessions": { type: "boolean", default: false },
      "stream-transport": { type: "string", default: "grpc" },
      "batch-size": { type: "string", default: "200" },
      "get-wait": { type: "string", default: "500" },
      "call-timeout": { type: "string", default: "2000" },
      "log-level": { type: "string", default: "info" },
      seed: { type: "string", default: "1" },
      "time-limit": { type: "string" },
      json: { type: "string" },
      keep: { type: "boolean", default: false },
    },
  });
}
