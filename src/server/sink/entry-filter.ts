// The sink stage's filter: applies a client's (or a destination's) canal filter to entries.
// Row changes of tables the filter rejects are dropped; field filters drop columns; DDL is
// kept when any table it names passes (canal's rule). Transaction begin/end entries always
// pass: dropping empty transactions is the store's decision, not the filter's. An entry is
// judged by its filter subject (entry/filter-subject.ts), which carries its statement's
// classification from the parse stage: no SQL is parsed here.
import type { Column, Entry } from "../../gen/sluice/v1/entry_pb.js";
import { decodeEntryField, EntryEncoder } from "../encode/entry-encoder.js";
import type { FilterSubject } from "../entry/filter-subject.js";
import { isRowChanges, type RowChanges } from "../entry/row-changes.js";
import type { EventFilter } from "../filter/index.js";

/** Keep the entry (true), drop it (false), or keep only the columns the function accepts. */
export type FilterVerdict = boolean | ((column: string) => boolean);

export function judge(subject: FilterSubject | undefined, filter: EventFilter): FilterVerdict {
  if (subject === undefined) return true;
  const { schema, table, statement } = subject;
  if (statement) {
    if (statement.tables.length === 0) return filter.acceptsDdl(schema, undefined);
    if (statement.kind === "RENAME") {
      for (let i = 0; i + 1 < statement.tables.length; i += 2) {
        const from = statement.tables[i] as { schema: string; table: string };
        const to = statement.tables[i + 1] as { schema: string; table: string };
        if (filter.acceptsDdl(to.schema, to.table, from)) return true;
      }
      return false;
    }
    return statement.tables.some((t) => filter.acceptsDdl(t.schema, t.table));
  }
  if (!filter.acceptsTable(schema, table)) return false;
  return filter.columnsFor(schema, table) ?? true;
}

/** `entry` as `filter` passes it: itself, a copy with fewer columns, or undefined (dropped). */
export function filterEntry<E extends Entry | RowChanges>(
  entry: E,
  subject: FilterSubject | undefined,
  filter: EventFilter,
): E | undefined {
  const verdict = judge(subject, filter);
  if (verdict === true) return entry;
  if (verdict === false) return undefined;
  if (isRowChanges(entry))
    return { ...entry, keep: entry.columns.map((c, i) => (entry.keep?.[i] ?? true) && verdict(c.name)) };
  return pruneColumns(entry as Entry, verdict) as E;
}

const encoder = new EntryEncoder();

/**
 * A filter on encoded entries (an `entries` field each, as the store holds them): the bytes
 * themselves, the same entry with fewer columns (decoded and encoded again: field filters
 * only), or undefined (dropped).
 */
export function encodedFilter(
  filter: EventFilter,
): (bytes: Buffer, subject: FilterSubject | undefined) => Buffer | undefined {
  return (bytes, subject) => {
    const verdict = judge(subject, filter);
    if (verdict === true) return bytes;
    if (verdict === false) return undefined;
    return encoder.encodeField(pruneColumns(decodeEntryField(bytes), verdict));
  };
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
