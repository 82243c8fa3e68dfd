// What canal's parser does with its four filters (LogEventConvert): a row event is kept when
// the white filter matches its "schema.table" and the black filter does not; its columns are
// narrowed by the field filters; DDL naming a table goes through the same table filters.
import { TableCache } from "./cache.js";
import { type FieldFilter, parseFieldFilter } from "./field-filter.js";
import { DEFAULT_CACHE_SIZE, parseTableFilter, type TableFilter } from "./table-filter.js";

export interface EventFilterOptions {
  /** canal.instance.filter.regex, or a client's subscribe filter. Empty: every table. */
  filter?: string;
  /** canal.instance.filter.black.regex. Empty: no table is excluded. */
  blackFilter?: string;
  /** canal.instance.filter.field, e.g. "db.t:c1/c2,db2.t2:c3": keep only these columns. */
  fieldFilter?: string;
  /** canal.instance.filter.black.field: drop these columns. */
  fieldBlackFilter?: string;
  /** canal.instance.filter.query.ddl: deliver no DDL (or other statement) events at all. Default false. */
  filterQueryDdl?: boolean;
  /**
   * canal.instance.filter.table.error: skip, rather than stop on, row events whose table
   * definition cannot be read (the table is gone, access is denied, or the binlog has more
   * columns than the definition). Not a name filter: the decoder reads it. Default false.
   */
  filterTableError?: boolean;
  /** Per-table decisions to remember (default 10 000; 0 = none). */
  cacheSize?: number;
}

/** Which columns of a row to keep. */
export type ColumnPredicate = (column: string) => boolean;

export interface TableRef {
  schema: string;
  table: string;
}

export class EventFilter {
  readonly filter: TableFilter;
  readonly blackFilter: TableFilter;
  readonly fieldFilter: FieldFilter;
  readonly fieldBlackFilter: FieldFilter;
  readonly filterQueryDdl: boolean;
  readonly filterTableError: boolean;
  private readonly tables: TableCache<boolean>;
  private readonly columns: TableCache<ColumnPredicate | null>;

  /** Throws FilterError (naming the option and the bad part) when an option is invalid. */
  constructor(options: EventFilterOptions = {}) {
    this.filter = parseTableFilter(options.filter ?? "", { field: "filter", cacheSize: 0 });
    this.blackFilter = parseTableFilter(options.blackFilter ?? "", { field: "blackFilter", cacheSize: 0 });
    this.fieldFilter = parseFieldFilter(options.fieldFilter ?? "", "fieldFilter");
    this.fieldBlackFilter = parseFieldFilter(options.fieldBlackFilter ?? "", "fieldBlackFilter");
    this.filterQueryDdl = options.filterQueryDdl ?? false;
    this.filterTableError = options.filterTableError ?? false;
    const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
    this.tables = new TableCache(cacheSize);
    this.columns = new TableCache(cacheSize);
  }

  /** Row events of this table are delivered: the filter matches and the black filter does not. */
  acceptsTable(schema: string, table: string): boolean {
    let accepted = this.tables.get(schema, table);
    if (accepted === undefined) {
      accepted = this.acceptsName(`${schema}.${table}`);
      this.tables.set(schema, table, accepted);
    }
    return accepted;
  }

  /**
   * Which columns of this table's rows to keep; undefined keeps them all. A table listed in
   * the field filter keeps exactly its listed columns (its field black filter entry, if any,
   * is then ignored, as in canal); otherwise a table listed in the field black filter drops
   * its listed columns. Key columns are not exempt.
   */
  columnsFor(schema: string, table: string): ColumnPredicate | undefined {
    if (this.fieldFilter.isEmpty && this.fieldBlackFilter.isEmpty) return undefined;
    let predicate = this.columns.get(schema, table);
    if (predicate === undefined) {
      predicate = this.columnPredicate(`${schema}.${table}`);
      this.columns.set(schema, table, predicate);
    }
    return predicate ?? undefined;
  }

  /**
   * Whether a DDL event is delivered, as canal decides it:
   * - filterQueryDdl drops every DDL event;
   * - a statement that names no table (`table` undefined or "": CREATE/DROP DATABASE, GRANT,
   *   unparsed statements) is not subject to the table filters and is delivered;
   * - otherwise "schema.table" must pass the filter and not the black filter; for a rename,
   *   pass `renamedFrom`: it is delivered when either name passes the filter, and dropped by
   *   the black filter only when both names are black-listed.
   * A statement touching several tables (DROP TABLE a, b) is delivered whole when any of its
   * tables is accepted.
   */
  acceptsDdl(schema: string, table: string | undefined, renamedFrom?: TableRef): boolean {
    if (this.filterQueryDdl) return false;
    if (table === undefined || table === "") return true;
    const name = `${schema}.${table}`;
    const from = renamedFrom ? `${renamedFrom.schema}.${renamedFrom.table}` : undefined;
    if (!this.filter.matchesName(name) && (from === undefined || !this.filter.matchesName(from))) {
      return false;
    }
    if (
      !this.blackFilter.isEmpty &&
      this.blackFilter.matchesName(name) &&
      (from === undefined || this.blackFilter.matchesName(from))
    ) {
      return false;
    }
    return true;
  }

  /** One line for logs, e.g. `filter: db\..* | blackFilter: (none) | fieldFilter: db.t:c1/c2 | ...`. */
  describe(): string {
    const tables = (f: TableFilter, empty: string) => (f.isEmpty ? empty : f.patterns.join(", "));
    const fields = (f: FieldFilter) =>
      f.isEmpty ? "(none)" : f.entries.map((e) => `${e.table}:${e.columns.join("/")}`).join(", ");
    const parts = [
      `filter: ${tables(this.filter, "(all tables)")}`,
      `blackFilter: ${tables(this.blackFilter, "(none)")}`,
      `fieldFilter: ${fields(this.fieldFilter)}`,
      `fieldBlackFilter: ${fields(this.fieldBlackFilter)}`,
    ];
    if (this.filterQueryDdl) parts.push("filterQueryDdl");
    if (this.filterTableError) parts.push("filterTableError");
    return parts.join(" | ");
  }

  private acceptsName(name: string): boolean {
    return this.filter.matchesName(name) && (this.blackFilter.isEmpty || !this.blackFilter.matchesName(name));
  }

  private columnPredicate(name: string): ColumnPredicate | null {
    const keep = this.fieldFilter.columnsOf(name);
    if (keep !== undefined) return (column) => keep.has(column.toUpperCase());
    const drop = this.fieldBlackFilter.columnsOf(name);
    if (drop !== undefined) return (column) => !drop.has(column.toUpperCase());
    return null;
  }
}
