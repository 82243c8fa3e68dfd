// The sink stage's filter: applies a client's (or a destination's) canal filter to entries.
// Row changes of tables the filter rejects are dropped; field filters drop columns; DDL is
// kept when any table it names passes (canal's rule). Transaction begin/end entries always
// pass: dropping empty transactions is the store's decision, not the filter's.
import { type Column, type Entry, EntryType, EventType } from "../../gen/sluice/v1/entry_pb.js";
import type { EventFilter } from "../filter/index.js";
import { classifyStatement } from "../parse/ddl.js";

export function filterEntry(entry: Entry, filter: EventFilter): Entry | undefined {
  if (entry.entryType !== EntryType.ROWDATA || entry.payload.case !== "rowChange") return entry;
  const change = entry.payload.value;
  const schema = entry.header?.schemaName ?? "";
  const table = entry.header?.tableName ?? "";
  if (change.isDdl || change.eventType === EventType.QUERY) {
    const info = classifyStatement(change.sql, change.ddlSchemaName);
    if (info.tables.length === 0) return filter.acceptsDdl(schema, undefined) ? entry : undefined;
    if (info.kind === "RENAME") {
      for (let i = 0; i + 1 < info.tables.length; i += 2) {
        const from = info.tables[i] as { schema: string; table: string };
        const to = info.tables[i + 1] as { schema: string; table: string };
        if (filter.acceptsDdl(to.schema, to.table, from)) return entry;
      }
      return undefined;
    }
    return info.tables.some((t) => filter.acceptsDdl(t.schema, t.table)) ? entry : undefined;
  }
  if (!filter.acceptsTable(schema, table)) return undefined;
  const keep = filter.columnsFor(schema, table);
  if (!keep) return entry;
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
