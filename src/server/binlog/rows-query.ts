// ROWS_QUERY_LOG_EVENT (MySQL, binlog_rows_query_log_events) and ANNOTATE_ROWS_EVENT
// (MariaDB, binlog_annotate_row_events): the statement that produced the following rows.
import type { BufferReader } from "./buffer-reader.js";

/** MySQL: a 1-byte length (truncated at 255, ignored) then the full text up to the end. */
export function parseRowsQuery(r: BufferReader): string {
  r.skip(1);
  return r.rest().toString("utf8");
}

/** MariaDB: the whole body is the statement. */
export function parseAnnotateRows(r: BufferReader): string {
  return r.rest().toString("utf8");
}
