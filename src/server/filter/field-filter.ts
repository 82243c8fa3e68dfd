// canal.instance.filter.field / canal.instance.filter.black.field:
// "schema1.table1:col1/col2,schema2.table2:col3" (canal's AbstractEventParser.parseFieldFilterMap).
//
// Table names here are exact names, not regexes; names and columns compare case-insensitively
// (canal upper-cases both sides). Canal skips malformed entries silently; Sluice rejects them.
import { FilterError, type FilterField } from "./errors.js";

export interface FieldFilterEntry {
  /** "schema.table" as written (trimmed). */
  readonly table: string;
  /** Column names as written (trimmed), in order. */
  readonly columns: readonly string[];
}

export interface FieldFilter {
  /** Entries in the order written. */
  readonly entries: readonly FieldFilterEntry[];
  readonly isEmpty: boolean;
  /** Upper-cased column names listed for a "schema.table" name (any case), or undefined. */
  columnsOf(name: string): ReadonlySet<string> | undefined;
}

// A key with these is almost certainly a regex, which canal would compare literally and never match.
const REGEX_CHARS = /[\\*?[\](){}|^+]/;

export function parseFieldFilter(text: string, field: FilterField = "fieldFilter"): FieldFilter {
  const entries: FieldFilterEntry[] = [];
  const byName = new Map<string, ReadonlySet<string>>();
  for (const raw of (text ?? "").split(",")) {
    const entry = raw.trim();
    if (entry === "") continue; // canal skips blank entries ("a.b:c,,")
    const parts = entry.split(":");
    if (parts.length < 2) {
      throw new FilterError(field, entry, 'has no ":" (expected schema.table:column1/column2)');
    }
    if (parts.length > 2) {
      throw new FilterError(field, entry, 'has more than one ":" (expected schema.table:column1/column2)');
    }
    const table = (parts[0] as string).trim();
    if (table === "") throw new FilterError(field, entry, 'has no table name before ":"');
    const dot = table.indexOf(".");
    if (dot <= 0 || table.endsWith(".")) {
      throw new FilterError(field, entry, `names "${table}", which is not a schema.table name`);
    }
    if (REGEX_CHARS.test(table)) {
      throw new FilterError(
        field,
        entry,
        `names "${table}": field filters take exact schema.table names, not regexes`,
      );
    }
    const list = (parts[1] as string).trim();
    if (list === "") throw new FilterError(field, entry, 'has no column names after ":"');
    const columns = list.split("/").map((c) => c.trim());
    if (columns.some((c) => c === "")) {
      throw new FilterError(field, entry, 'has an empty column name (columns are separated by "/")');
    }
    const key = table.toUpperCase();
    if (byName.has(key)) throw new FilterError(field, entry, `lists table "${table}" a second time`);
    byName.set(key, new Set(columns.map((c) => c.toUpperCase())));
    entries.push({ table, columns });
  }
  return {
    entries,
    isEmpty: entries.length === 0,
    columnsOf: (name: string) => (byName.size === 0 ? undefined : byName.get(name.toUpperCase())),
  };
}
