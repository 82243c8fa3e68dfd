// The sink stage's filter: applies a client's (or a destination's) canal filter to entries.
// Row changes of tables the filter rejects are dropped; field filters drop columns; DDL is
// kept when any table it names passes (canal's rule). Transaction begin/end entries always
// pass: dropping empty transactions is the store's decision, not the filter's.
import { type Column, type Entry, EntryType, EventType } from "../../gen/sluice/v1/entry_pb.js";
import type { EventFilter } from "../filter/index.js";
import { classifyStatement } from "../parse/ddl.js";

/**
 * What a filter looks at in an entry, kept beside the entry's bytes in the store so that a
 * client's filter runs without decoding them. Undefined for entries that always pass.
 */
export interface FilterSubject {
  schema: string;
  table: string;
  /** A statement's SQL and default schema (DDL, QUERY events); undefined for row changes. */
  statement: { sql: string; defaultSchema: string } | undefined;
}

/** Keep the entry (true), drop it (false), or keep only the columns the function accepts. */
export type FilterVerdict = boolean | ((column: string) => boolean);

export function filterSubject(entry: Entry): FilterSubject | undefined {
  if (entry.entryType !== EntryType.ROWDATA || entry.payload.case !== "rowChange") return undefined;
  const change = entry.payload.value;
  const statement =
    change.isDdl || change.eventType === EventType.QUERY
      ? { sql: change.sql, defaultSchema: change.ddlSchemaName }
      : undefined;
  return { schema: entry.header?.schemaName ?? "", table: entry.header?.tableName ?? "", statement };
}

export function judge(subject: FilterSubject | undefined, filter: EventFilter): FilterVerdict {
  if (subject === undefined) return true;
  const { schema, table, statement } = subject;
  if (statement) {
    const info = classifyStatement(statement.sql, statement.defaultSchema);
    if (info.tables.length === 0) return filter.acceptsDdl(schema, undefined);
    if (info.kind === "RENAME") {
      for (let i = 0; i + 1 < info.tables.length; i += 2) {
        const from = info.tables[i] as { schema: string; table: string };
        const to = info.tables[i + 1] as { schema: string; table: string };
        if (filter.acceptsDdl(to.schema, to.table, from)) return true;
      }
      return false;
    }
    return info.tables.some((t) => filter.acceptsDdl(t.schema, t.table));
  }
  if (!filter.acceptsTable(schema, table)) return false;
  return filter.columnsFor(schema, table) ?? true;
}

export function filterEntry(entry: Entry, filter: EventFilter): Entry | undefined {
  const verdict = judge(filterSubject(entry), filter);
  if (verdict === true) return entry;
  if (verdict === false) return undefined;
  return pruneColumns(entry, verdict);
}

/** The row change `entry` with only the columns `keep` accepts, in both images. */
export function pruneColumns(entry: Entry, keep: (column: string) => boolean): Entry {
  if (entry.payload.case !== "rowChange") return entry;
  const change = entry.payload.value;
  const prune = (cols: Column[]) => cols.filter((c) => keep(c.name));
  return {
    ...entry,
    payload: {
      case: "rowChange",
      value: {
        ...change,
        rowDatas: change.rowDatas.map((r) => ({
          ...r,
          beforeColumns: prune(r.beforeColumns),
          afterColumns: prune(r.afterColumns),
        })),
      },
    },
  };
}
