// What the statement of a QUERY event is: canal's DDL kinds and the tables it touches. The
// parse stage classifies each statement once (parse/ddl.ts) as it reads the event; the
// classification then travels with the entry (filter-subject.ts), so that the entry's event
// type, the destination's and every client's filter, and the schema cache all read it
// instead of parsing the SQL again.

export type DdlKind = "CREATE" | "ALTER" | "ERASE" | "TRUNCATE" | "RENAME" | "CINDEX" | "DINDEX" | "QUERY";

export interface TableName {
  /** Schema named in the statement, else the QUERY event's default schema ("" if none). */
  schema: string;
  table: string;
}

export interface DdlInfo {
  kind: DdlKind;
  /** Tables the statement changes, in statement order (RENAME: each target after its source). */
  tables: TableName[];
  /** True for statements that change tables, false for QUERY (GRANT, CREATE USER, SET ...). */
  isDdl: boolean;
  /** Statements about a whole schema (CREATE/DROP/ALTER DATABASE): the schema name. */
  schemaOnly?: string;
}
