// Table schemas from information_schema, for sources that log with binlog_row_metadata=MINIMAL
// (MySQL's default, and MariaDB before 10.5): their TABLE_MAP events carry column types but no
// names, keys, charsets or enum labels.
//
// Limits of this fallback (also in docs/values.md): information_schema describes the table as
// it is NOW, not as it was when the event was written. While the reader lags behind a DDL on
// the table, names and labels may be those of the newer definition. We detect the cases we
// can (column count or type mismatch with the TABLE_MAP) and then name columns by position
// instead of guessing; a rename of a column with an unchanged type cannot be detected.

export interface ColumnSchema {
  name: string;
  /** information_schema DATA_TYPE, e.g. "varchar", "int", "enum". */
  dataType: string;
  /** information_schema COLUMN_TYPE, e.g. "varchar(20)", "int(10) unsigned", "enum('a','b')". */
  columnType: string;
  unsigned: boolean;
  /** Character set of text columns (e.g. "utf8mb4", "latin1"); undefined for others. */
  charset: string | undefined;
  collation: string | undefined;
  isKey: boolean;
  /** ENUM and SET labels in definition order. */
  labels: string[] | undefined;
  /** Generated columns that the binlog does not carry (MySQL VIRTUAL columns are logged; see docs). */
  generated: string;
}

export interface TableSchema {
  schema: string;
  table: string;
  columns: ColumnSchema[];
}

export type Query = <T>(sql: string, params: unknown[]) => Promise<T>;

interface Row {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  CHARACTER_SET_NAME: string | null;
  COLLATION_NAME: string | null;
  COLUMN_KEY: string;
  EXTRA: string;
}

/** The table's columns in ordinal order, or undefined when the table does not exist (any more). */
export async function fetchTableSchema(
  query: Query,
  schema: string,
  table: string,
): Promise<TableSchema | undefined> {
  const rows = await query<Row[]>(
    "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_KEY, EXTRA " +
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    [schema, table],
  );
  if (rows.length === 0) return undefined;
  return {
    schema,
    table,
    columns: rows.map((r) => {
      const dataType = r.DATA_TYPE.toLowerCase();
      return {
        name: r.COLUMN_NAME,
        dataType,
        columnType: r.COLUMN_TYPE,
        unsigned: /\bunsigned\b/i.test(r.COLUMN_TYPE),
        charset: r.CHARACTER_SET_NAME ?? undefined,
        collation: r.COLLATION_NAME ?? undefined,
        isKey: r.COLUMN_KEY === "PRI",
        labels: dataType === "enum" || dataType === "set" ? parseLabels(r.COLUMN_TYPE) : undefined,
        generated: /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/i.test(r.EXTRA) ? r.EXTRA : "",
      };
    }),
  };
}

/** Labels of "enum('a','b''c','d\\e')" → ["a", "b'c", "d\e"], as the server quotes them. */
export function parseLabels(columnType: string): string[] {
  const open = columnType.indexOf("(");
  const close = columnType.lastIndexOf(")");
  if (open < 0 || close < open) return [];
  const body = columnType.slice(open + 1, close);
  const labels: string[] = [];
  let i = 0;
  while (i < body.length) {
    if (body[i] !== "'") {
      i++;
      continue;
    }
    i++;
    let label = "";
    while (i < body.length) {
      const ch = body[i] as string;
      if (ch === "'" && body[i + 1] === "'") {
        label += "'";
        i += 2;
      } else if (ch === "\\" && i + 1 < body.length) {
        label += body[i + 1];
        i += 2;
      } else if (ch === "'") {
        i++;
        break;
      } else {
        label += ch;
        i++;
      }
    }
    labels.push(label);
  }
  return labels;
}
