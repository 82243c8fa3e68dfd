// `sluice binlog FILE...`: decodes binlog files offline (as the server writes them, or as
// `mariadb-binlog --raw` / `mysqlbinlog --raw` saves them) and prints one JSON line per row
// change, in the flat form, or per entry.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { EntrySchema } from "../gen/sluice/v1/entry_pb.js";
import { FlatMessageSchema } from "../gen/sluice/v1/flat_message_pb.js";
import {
  BinlogDecodeError,
  BinlogDecoder,
  readBinlogEvents,
  type TableInfo,
} from "../server/binlog/index.js";
import { toFlatMessage } from "../server/encode/flat-message.js";
import { filterSubject } from "../server/entry/filter-subject.js";
import { EventFilter, FilterError } from "../server/filter/index.js";
import { classifyQuery } from "../server/parse/ddl.js";
import { EntryBuilder } from "../server/parse/entry-builder.js";
import { TransactionTracker } from "../server/parse/transaction-tracker.js";
import { parseSchemaFile } from "../server/schema/create-table.js";
import { DdlSchema } from "../server/schema/ddl-schema.js";
import { filterEntry } from "../server/sink/entry-filter.js";
import { type Command, UsageError } from "./command.js";
import { parseCommandArgs } from "./parse-args.js";

const HELP = `Usage: sluice binlog [options] FILE...

Decodes binlog files and prints one JSON line per row change (canal's flat form), or per
entry with --format entry. Files are read in the order given, each from its start.

Options:
  --format flat|entry     flat (default): one line per row change or DDL, like canal's
                          FlatMessage; entry: every entry (transaction begin/end too) as
                          the API's Entry message in JSON
  --time-zone ZONE        zone TIMESTAMP values are shown in: UTC (default), "+08:00", or
                          an IANA name such as Europe/Paris (use the source server's zone)
  --start-position N      start the first file at byte offset N (an event boundary)
  --filter REGEX,...      canal's table filter on "schema.table", e.g. 'shop\\..*' (see
                          docs/filters.md); --black-filter excludes tables the same way
  --field-filter SPEC     keep only these columns: 'shop.orders:id/status,db.t:c1';
                          --field-black-filter drops the listed columns instead
  --filter-table-error    pass over table map and row events that cannot be decoded (one
                          warning per event on stderr) instead of stopping; canal's
                          filter.table.error. Tables the filters exclude are never decoded.
  --schema FILE           CREATE TABLE statements (SHOW CREATE TABLE or mysqldump --no-data
                          output; USE db sets the schema of unqualified names) for tables
                          whose CREATE TABLE is not in the files; repeatable
  -h, --help              this help

Table definitions: the binlog does not say everything about a column. Names without
binlog_row_metadata=FULL, the D of FLOAT(M,D) and the fractional digits of MariaDB's old
temporal format (mysql56_temporal_format=OFF) come from the table's CREATE TABLE: the one in
the files given (followed through later DROP, RENAME and ALTER), else the one from --schema.
An event that cannot be decoded without it says so.

Every event must start where the one before it ended (its end_log_pos): events removed
from or repeated in a file stop the decoding there, never rows lost or printed twice.

Exit codes: 0 ok, 1 a file could not be read or decoded, or has events missing or repeated
(everything before the event is printed, then the error, which names file, offset and
table), 2 bad usage.`;

export const binlogCommand: Command = {
  name: "binlog",
  summary: "decode binlog files offline and print row changes as JSON lines",
  help: HELP,
  async run(args) {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(args);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (positionals.length === 0) throw new UsageError("name at least one binlog file");
    const format = values.format ?? "flat";
    if (format !== "flat" && format !== "entry")
      throw new UsageError(`--format must be flat or entry, got "${format}"`);
    const startPosition =
      values["start-position"] === undefined ? undefined : Number(values["start-position"]);
    if (startPosition !== undefined && !(Number.isInteger(startPosition) && startPosition >= 4)) {
      throw new UsageError(`--start-position must be an integer >= 4, got "${values["start-position"]}"`);
    }

    let filter: EventFilter;
    try {
      filter = new EventFilter({
        filter: values.filter,
        blackFilter: values["black-filter"],
        fieldFilter: values["field-filter"],
        fieldBlackFilter: values["field-black-filter"],
      });
    } catch (err) {
      if (err instanceof FilterError) throw new UsageError(err.message);
      throw err;
    }

    const schema = new DdlSchema();
    for (const file of values.schema ?? []) schema.give(readSchemaFile(file));
    const keepsAll = filter.filter.isEmpty && filter.blackFilter.isEmpty;
    const decoder = new BinlogDecoder({
      schemaProvider: schema,
      timeZone: values["time-zone"] ?? "UTC",
      ...(keepsAll ? {} : { includeTable: (schema, table) => filter.acceptsTable(schema, table) }),
      ...(values["filter-table-error"] ? { tableErrors: "skip" as const } : {}),
    });
    const out = new LineWriter();
    try {
      await decodeFiles(positionals, { decoder, schema, filter, format, startPosition, out });
    } catch (err) {
      if (err instanceof BinlogDecodeError && err.definitionNeeded) {
        err.explain(
          "decode from the file holding the table's CREATE TABLE too, or give it with --schema FILE " +
            "(SHOW CREATE TABLE or mysqldump --no-data output)",
        );
      }
      throw err;
    } finally {
      // What was decoded before a failure is printed before the error.
      await out.close();
    }
    return 0;
  },
};

async function decodeFiles(
  paths: string[],
  o: {
    decoder: BinlogDecoder;
    schema: DdlSchema;
    filter: EventFilter;
    format: "flat" | "entry";
    startPosition: number | undefined;
    out: LineWriter;
  },
): Promise<void> {
  const { decoder, schema, filter, format, startPosition, out } = o;
  let builder: EntryBuilder | undefined;
  let id = 0n;
  const unnamed = new Set<string>();
  for (const [i, path] of paths.entries()) {
    const tracker = new TransactionTracker({ file: basename(path) });
    const opts = i === 0 && startPosition !== undefined ? { startOffset: startPosition } : {};
    for await (const raw of readBinlogEvents(path, opts)) {
      const event = decoder.decode(raw.bytes, { file: tracker.file, offset: raw.offset });
      const nextOffset = raw.bytes.readUInt32LE(13);
      // A table's definition changed: its next TABLE_MAP is read with the new one.
      if (event.type === "query" && event.statement === "ddl" && schema.apply(event.sql, event.schema)) {
        decoder.invalidateSchema();
      }
      if (event.type === "skipped_table" && event.error) {
        process.stderr.write(`sluice binlog: passed over: ${event.error}\n`);
      }
      if (event.type === "table_map") hintNames(event.table, unnamed);
      const gtid = tracker.observe(event, raw.offset, nextOffset);
      if (event.type === "format_description") builder ??= new EntryBuilder({ flavor: event.flavor });
      const statement = event.type === "query" ? classifyQuery(event) : undefined;
      const built = builder?.build({
        event,
        file: basename(path),
        offset: raw.offset,
        nextOffset,
        gtid,
        serverId: event.header.serverId,
        statement,
      });
      const entry = built && filterEntry(built, filterSubject(built, statement), filter);
      if (!entry) continue;
      if (format === "entry") {
        await out.write(toJsonString(EntrySchema, entry));
      } else {
        const flat = toFlatMessage(entry, id + 1n);
        if (!flat) continue;
        id++;
        // Every field, also empty ones, as canal's FlatMessage JSON has them.
        await out.write(toJsonString(FlatMessageSchema, flat, { alwaysEmitImplicit: true }));
      }
    }
  }
}

/** Once per table: where names of the columns shown as col_N would come from. */
function hintNames(table: TableInfo, warned: Set<string>): void {
  const name = `${table.schema}.${table.name}`;
  if (warned.has(name) || table.columns.every((c) => c.name !== undefined)) return;
  warned.add(name);
  process.stderr.write(
    `sluice binlog: ${name}: the binlog has no column names (the source logs them with ` +
      "binlog_row_metadata=FULL); they show as col_0, col_1, ...: give the table's CREATE TABLE " +
      "with --schema FILE, or decode from the file that holds it\n",
  );
}

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: "string" },
      "time-zone": { type: "string" },
      "start-position": { type: "string" },
      filter: { type: "string" },
      "black-filter": { type: "string" },
      "field-filter": { type: "string" },
      "field-black-filter": { type: "string" },
      "filter-table-error": { type: "boolean" },
      schema: { type: "string", multiple: true },
    },
  });
}

/** The table definitions of a --schema file; a file that cannot be read is a usage error. */
function readSchemaFile(path: string) {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`--schema ${path}: ${(err as Error).message}`);
  }
  const defs = parseSchemaFile(text);
  if (defs.length === 0) throw new UsageError(`--schema ${path}: no CREATE TABLE statement in it`);
  return defs;
}

/** Buffered stdout that waits when the pipe is full, so `| head` and slow readers work. */
class LineWriter {
  #buf: string[] = [];
  #size = 0;
  async write(line: string): Promise<void> {
    this.#buf.push(line);
    this.#size += line.length + 1;
    if (this.#size > 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.#buf.length === 0) return;
    const text = `${this.#buf.join("\n")}\n`;
    this.#buf = [];
    this.#size = 0;
    if (!process.stdout.write(text)) await new Promise<void>((r) => process.stdout.once("drain", r));
  }
  async close(): Promise<void> {
    await this.flush();
  }
}
