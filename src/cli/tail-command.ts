// `sluice tail`: streams a destination and prints its row changes, as JSON lines or a readable
// one-line-per-row view with the lag, acking as it goes (or read-only: never acks, gives
// everything back on exit).
import {
  Code,
  ConnectError,
  createSluiceClient,
  type FlatRow,
  type SluiceClient,
  type SluiceTlsOptions,
} from "../clients/typescript/index.js";
import { CLIENT_TLS_HELP, CLIENT_TLS_OPTIONS, clientTls } from "./client-tls.js";
import { CLIENT_TOKEN_HELP, clientToken } from "./client-token.js";
import { type Command, EXIT_OK, UsageError } from "./command.js";
import { CLIENT_EXIT_CODES, reportClientError } from "./connect-exit.js";
import { parseCommandArgs } from "./parse-args.js";

const HELP = `Usage: sluice tail [options]

Streams a destination's changes and prints one line per changed row (and per DDL statement).
By default it acks each batch once printed, moving the clientId's cursor: a later tail with the
same --client-id goes on from there. --read-only never acks.

Options:
  --server URL            server or gateway (default $SLUICE_URL or http://127.0.0.1:11113;
                          https://... for TLS)
${CLIENT_TLS_HELP}
  -d, --destination NAME  destination (default example)
  -c, --client-id ID      consumer group to read as (default sluice-tail)
  --filter REGEX,...      canal's table filter on "schema.table", e.g. 'shop\\..*'
  --format text|json      text: readable, one line per row with the lag (default on a
                          terminal); json: one JSON object per row (default otherwise)
  --read-only             never ack: reads ahead of the cursor and rolls everything back on
                          exit, so the next consumer sees the same rows (bounded by what the
                          server holds unacked)
  --wait                  when another consumer holds the clientId, stand by and take over
                          when it goes (through a gateway), instead of exiting with 4
  --max-rows N            stop after the batch holding the Nth row
  --max-seconds S         stop after S seconds
  --batch-size N          entries per batch, 1..10000 (default 100)
  --transport connect|grpc|grpc-web   protocol (default connect over HTTP/1.1)
  --progress S            every S seconds, print rows so far and the lag to stderr (default:
                          every 5 s with --format json when stderr is a terminal)
  -h, --help              this help

JSON lines: {"schema","table","type","before","after","keys","sql","executeTime","lagMs",
"gtid","position"}; before/after map column names to value text (null for SQL NULL).

${CLIENT_TOKEN_HELP}

${CLIENT_EXIT_CODES}`;

interface TailOptions {
  server: string;
  destination: string;
  clientId: string;
  filter?: string;
  format: "text" | "json";
  readOnly: boolean;
  wait: boolean;
  maxRows: number;
  maxSeconds: number;
  batchSize: number;
  transport: "connect" | "grpc" | "grpc-web";
  /** Seconds between progress lines on stderr; 0: none. */
  progressSeconds: number;
  /** TLS for an https:// server (--ca, --cert, --key). */
  tls: SluiceTlsOptions | undefined;
}

export const tailCommand: Command = {
  name: "tail",
  summary: "stream a destination and print its changes (JSON lines or a readable view), with lag",
  help: HELP,
  async run(args) {
    const opts = parseTailArgs(args);
    const client = createSluiceClient({
      ...clientToken(),
      baseUrl: opts.server,
      ...(opts.tls ? { tls: opts.tls } : {}),
      transport: opts.transport,
      httpVersion: opts.transport === "grpc" ? "2" : "1.1",
    });
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const timer =
      opts.maxSeconds < Number.POSITIVE_INFINITY ? setTimeout(onSignal, opts.maxSeconds * 1000) : undefined;
    const out = new Printer(opts.format, opts.progressSeconds);
    try {
      if (opts.readOnly) await tailReadOnly(client, opts, out, stop.signal);
      else await tailAcking(client, opts, out, stop.signal);
      return EXIT_OK;
    } catch (err) {
      if (stop.signal.aborted && !(err instanceof ConnectError)) return EXIT_OK; // cut by --max-seconds
      if (err instanceof ConnectError && err.code === Code.AlreadyExists && !opts.wait) {
        // The answer speaks to API callers (its request field "wait"); a CLI user has --wait.
        process.stderr.write(
          `sluice tail: clientId ${opts.clientId} is held by another consumer; --wait stands by and takes over when it goes\n`,
        );
      }
      return reportClientError("tail", err);
    } finally {
      clearTimeout(timer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await out.close();
    }
  },
};

async function tailAcking(client: SluiceClient, opts: TailOptions, out: Printer, signal: AbortSignal) {
  let subscribed = false;
  let lastError: ConnectError | undefined;
  for await (const batch of client.stream({
    destination: opts.destination,
    clientId: opts.clientId,
    filter: opts.filter,
    batchSize: opts.batchSize,
    wait: opts.wait,
    signal,
    onSubscribed: () => {
      subscribed = true;
    },
    onRetry: ({ error, delayMs }) => {
      lastError = error;
      process.stderr.write(
        `sluice tail: ${error.rawMessage}; subscribing again in ${Math.round(delayMs)} ms\n`,
      );
    },
  })) {
    const rows = batch.rows();
    // Print what is acked: rows of a batch whose subscription ended come again, once.
    if (!(await batch.ack())) continue;
    for (const row of rows) await out.row(row);
    if (out.count >= opts.maxRows) return;
  }
  // Stopped by time (or a signal) without ever reaching the destination: that is a failure.
  if (!subscribed && lastError) throw lastError;
}

async function tailReadOnly(client: SluiceClient, opts: TailOptions, out: Printer, signal: AbortSignal) {
  const connector = client.connector({
    destination: opts.destination,
    clientId: opts.clientId,
    wait: opts.wait,
  });
  await connector.connect();
  await connector.subscribe(opts.filter);
  try {
    while (!signal.aborted && out.count < opts.maxRows) {
      const message = await connector.getWithoutAck(opts.batchSize, { timeoutMs: 500 });
      for (const row of message.rows()) await out.row(row);
    }
  } finally {
    // Read-only: give back everything read, the cursor stays where it was.
    await connector.disconnect();
  }
}

function parseTailArgs(args: string[]): TailOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseCommandArgs({
      args,
      options: {
        server: { type: "string" },
        ...CLIENT_TLS_OPTIONS,
        destination: { type: "string", short: "d" },
        "client-id": { type: "string", short: "c" },
        filter: { type: "string" },
        format: { type: "string" },
        "read-only": { type: "boolean" },
        wait: { type: "boolean" },
        "max-rows": { type: "string" },
        "max-seconds": { type: "string" },
        "batch-size": { type: "string" },
        progress: { type: "string" },
        transport: { type: "string" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const format = (values.format as string | undefined) ?? (process.stdout.isTTY ? "text" : "json");
  if (format !== "text" && format !== "json")
    throw new UsageError(`--format must be text or json, got "${format}"`);
  const transport = (values.transport as string | undefined) ?? "connect";
  if (transport !== "connect" && transport !== "grpc" && transport !== "grpc-web") {
    throw new UsageError(`--transport must be connect, grpc or grpc-web, got "${transport}"`);
  }
  return {
    server: serverUrl(values.server as string | undefined),
    tls: clientTls(
      serverUrl(values.server as string | undefined),
      values as { ca?: string; cert?: string; key?: string },
    ),
    destination: (values.destination as string | undefined) ?? "example",
    clientId: (values["client-id"] as string | undefined) ?? "sluice-tail",
    filter: values.filter as string | undefined,
    format,
    readOnly: values["read-only"] === true,
    wait: values.wait === true,
    maxRows: positive("--max-rows", values["max-rows"] as string | undefined, true),
    maxSeconds: positive("--max-seconds", values["max-seconds"] as string | undefined, false),
    batchSize: positive("--batch-size", (values["batch-size"] as string | undefined) ?? "100", true),
    transport,
    progressSeconds:
      values.progress !== undefined
        ? positive("--progress", values.progress as string, false)
        : format === "json" && process.stderr.isTTY
          ? 5
          : 0,
  };
}

/** The --server URL (or $SLUICE_URL, or the default), checked. */
export function serverUrl(given: string | undefined): string {
  const url = given ?? process.env.SLUICE_URL ?? "http://127.0.0.1:11113";
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--server must be an http(s) URL, got "${url}"`);
  return url.replace(/\/+$/, "");
}

function positive(flag: string, text: string | undefined, integer: boolean): number {
  if (text === undefined) return Number.POSITIVE_INFINITY;
  const n = Number(text);
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be a positive ${integer ? "integer" : "number"}, got "${text}"`);
  }
  return n;
}

/** Writes rows to stdout, waiting when the pipe is full. */
class Printer {
  readonly #format: "text" | "json";
  readonly #progress?: NodeJS.Timeout;
  count = 0;
  #lagMs = -1;
  constructor(format: "text" | "json", progressEverySeconds: number) {
    this.#format = format;
    if (progressEverySeconds > 0) {
      this.#progress = setInterval(() => {
        const lag = this.#lagMs < 0 ? "-" : `${(this.#lagMs / 1000).toFixed(1)}s`;
        process.stderr.write(`sluice tail: ${this.count} rows, lag ${lag}\n`);
      }, progressEverySeconds * 1000);
      this.#progress.unref();
    }
  }
  async row(row: FlatRow): Promise<void> {
    this.count++;
    const lagMs = row.executeTime > 0 ? Math.max(0, Date.now() - row.executeTime) : -1;
    this.#lagMs = lagMs;
    const line = this.#format === "json" ? jsonLine(row, lagMs) : textLine(row, lagMs);
    if (!process.stdout.write(`${line}\n`)) await new Promise((r) => process.stdout.once("drain", r));
  }
  async close(): Promise<void> {
    clearInterval(this.#progress);
    await new Promise<void>((r) => process.stdout.write("", () => r()));
  }
}

function jsonLine(row: FlatRow, lagMs: number): string {
  return JSON.stringify({
    schema: row.schema,
    table: row.table,
    type: row.type,
    before: row.before ?? null,
    after: row.after ?? null,
    keys: row.keys,
    sql: row.sql,
    executeTime: row.executeTime,
    lagMs,
    gtid: row.gtid,
    position: `${row.logfileName}:${row.logfileOffset}`,
  });
}

/** "04:12:01 UPDATE shop.orders id=1 item: 'a' -> 'b'  lag 0.4s" */
function textLine(row: FlatRow, lagMs: number): string {
  const time = new Date(row.executeTime).toISOString().slice(11, 19);
  const table = row.table ? `${row.schema}.${row.table}` : row.schema;
  const lag = lagMs < 0 ? "" : `  lag ${(lagMs / 1000).toFixed(1)}s`;
  let body: string;
  if (row.sql && !row.after && !row.before) {
    body = row.sql.replace(/\s+/g, " "); // whitespace, newlines included, folded: one line
  } else if (row.type === "UPDATE" && row.before && row.after) {
    const before = row.before;
    const keys = row.keys.map((k) => `${k}=${show(row.after?.[k])}`);
    const changed = Object.entries(row.after)
      .filter(([k, v]) => before[k] !== v)
      .map(([k, v]) => `${k}: ${show(before[k])} -> ${show(v)}`);
    body = [...keys, ...changed].join(" ");
  } else {
    const image = row.after ?? row.before ?? {};
    body = Object.entries(image)
      .map(([k, v]) => `${k}=${show(v)}`)
      .join(" ");
  }
  return `${time} ${row.type.padEnd(6)} ${table} ${body}${lag}`;
}

function show(v: string | null | undefined): string {
  if (v === null) return "NULL";
  if (v === undefined) return "?";
  if (/^-?\d+(\.\d+)?$/.test(v)) return v;
  // One change per line: control characters (embedded newlines, tabs) shown escaped.
  const text = v.length > 60 ? `${v.slice(0, 57)}...` : v;
  let out = "";
  for (const c of text) out += c < " " || c === "\u007f" || c === "\\" || c === "'" ? escapeChar(c) : c;
  return `'${out}'`;
}

function escapeChar(c: string): string {
  if (c === "\n") return "\\n";
  if (c === "\r") return "\\r";
  if (c === "\t") return "\\t";
  if (c === "\\" || c === "'") return `\\${c}`;
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}
