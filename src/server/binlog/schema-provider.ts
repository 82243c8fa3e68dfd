// Table metadata from outside the binlog (normally information_schema), for what the
// TABLE_MAP event does not carry: names, charsets, key flags, ENUM/SET labels, signedness,
// FLOAT(M,D) decimals, MariaDB UUID/INET4/INET6 (logged as plain BINARY(16)/BINARY(4)).

/** One column, as information_schema.COLUMNS describes it. Every field is optional. */
export interface ProvidedColumn {
  /** COLUMN_NAME */
  name?: string;
  /** COLUMN_TYPE, e.g. "varchar(20)", "bigint(20) unsigned", "enum('a','b')", "float(7,2)", "uuid". */
  columnType?: string;
  /** DATA_TYPE, e.g. "varchar" (used when columnType is absent). */
  dataType?: string;
  /** CHARACTER_SET_NAME, e.g. "utf8mb4", "latin1". */
  charset?: string | null;
  /** COLLATION_NAME, e.g. "utf8mb4_0900_ai_ci" (charset is derived from it when charset is absent). */
  collation?: string | null;
  /** Overrides the "unsigned" word of columnType. */
  unsigned?: boolean;
  /** Member of the primary key (COLUMN_KEY = 'PRI'). */
  isKey?: boolean;
  /** ENUM labels in definition order (else parsed from columnType). */
  enumValues?: string[];
  /** SET labels in definition order (else parsed from columnType). */
  setValues?: string[];
  nullable?: boolean;
}

export interface ProvidedTable {
  /** Columns in ordinal order; ignored unless their count equals the binlog's column count. */
  columns: ProvidedColumn[];
}

/**
 * Synchronous by design (the decoder is on the hot path): implementations answer from a cache
 * they keep current (e.g. load information_schema up front and reload on DDL, which the
 * decoder reports as query events with statement "ddl").
 */
export interface SchemaProvider {
  getTable(schema: string, table: string, columnCount: number): ProvidedTable | undefined;
}

/** What a COLUMN_TYPE string says. */
export interface ParsedColumnType {
  /** Lower-case base name: "varchar", "int", "enum", "uuid", … */
  base: string;
  /** Numeric arguments in the parentheses, e.g. [7, 2] for float(7,2). */
  args: number[];
  /** String literals, for enum(...)/set(...). */
  labels?: string[];
  unsigned: boolean;
}

/** Parses an information_schema COLUMN_TYPE (runs once per table, never per row). */
export function parseColumnType(text: string): ParsedColumnType {
  const t = text.trim();
  const paren = t.indexOf("(");
  const space = t.indexOf(" ");
  const nameEnd = paren >= 0 && (space < 0 || paren < space) ? paren : space >= 0 ? space : t.length;
  const base = t.slice(0, nameEnd).toLowerCase();
  const out: ParsedColumnType = { base, args: [], unsigned: false };
  let rest = t.slice(nameEnd);
  if (rest.startsWith("(")) {
    // find the matching ')' honouring quoted strings ('' escapes a quote)
    let i = 1;
    let inStr = false;
    const labels: string[] = [];
    let cur = "";
    for (; i < rest.length; i++) {
      const c = rest[i] as string;
      if (inStr) {
        if (c === "'") {
          if (rest[i + 1] === "'") {
            cur += "'";
            i++;
          } else {
            inStr = false;
            labels.push(cur);
            cur = "";
          }
        } else cur += c;
      } else if (c === "'") inStr = true;
      else if (c === ")") break;
    }
    const inner = rest.slice(1, i);
    if (base === "enum" || base === "set") out.labels = labels;
    else
      out.args = inner
        .split(",")
        .map((s) => Number(s.trim()))
        .filter((n) => Number.isFinite(n));
    rest = rest.slice(i + 1);
  }
  out.unsigned = /\bunsigned\b/i.test(rest);
  return out;
}
