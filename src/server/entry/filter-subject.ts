// What a filter looks at in an entry: its table, or its statement's classification. Made once,
// as the entry leaves the parse stage, and kept beside the entry's bytes in the store, so that
// the destination's filter and every client's filter judge an entry without decoding its bytes
// or parsing its SQL again.
import { type Entry, EntryType, EventType } from "../../gen/sluice/v1/entry_pb.js";
import { isRowChanges, type RowChanges } from "./row-changes.js";
import type { DdlInfo } from "./statement.js";

export interface FilterSubject {
  schema: string;
  table: string;
  /** A statement entry's classification (DDL, QUERY); undefined for row changes. */
  statement: DdlInfo | undefined;
}

/**
 * The subject of `entry`, undefined for entries every filter passes (transaction begin/end).
 * `statement`: the classification of the QUERY event a statement entry was built from.
 */
export function filterSubject(
  entry: Entry | RowChanges,
  statement: DdlInfo | undefined,
): FilterSubject | undefined {
  if (isRowChanges(entry))
    return { schema: entry.header.schemaName, table: entry.header.tableName, statement: undefined };
  if (entry.entryType !== EntryType.ROWDATA || entry.payload.case !== "rowChange") return undefined;
  const change = entry.payload.value;
  const isStatement = change.isDdl || change.eventType === EventType.QUERY;
  if (isStatement && !statement) {
    // A programming error, not bad input: judged without its tables, the entry would pass
    // filters as if it were a row change of its header's table.
    throw new Error(
      `statement entry at ${entry.header?.logfileName}:${entry.header?.logfileOffset} has no classification`,
    );
  }
  return {
    schema: entry.header?.schemaName ?? "",
    table: entry.header?.tableName ?? "",
    statement: isStatement ? statement : undefined,
  };
}
