// Table definitions from CREATE TABLE statements, for decoding without a server to ask: the
// statements `sluice binlog` finds in the binlog files it reads, and those a user gives it in
// a file (`SHOW CREATE TABLE` or `mysqldump --no-data` output). They tell what the binlog
// does not: column names (without FULL row metadata), the fractional digits of MariaDB's
// old-format temporal columns, the D of FLOAT(M,D), charsets, keys, ENUM/SET labels, MariaDB's
// UUID/INET types.
//
// A tokenizer and a small recursive reader rather than a SQL grammar: only column
// definitions, the primary key and the table's default charset matter; everything else
// (indexes, constraints, defaults, comments, generated expressions, options, partitions) is
// stepped over by its parentheses. A statement it cannot read gives no definition, never a
// guessed one.
import { charsetOfCollationName, normalizeCharset } from "../binlog/charsets.js";
import type { ProvidedColumn } from "../binlog/index.js";

export interface TableDefinition {
  /** The statement's schema, else the default schema given ("" when none). */
  schema: string;
  table: string;
  columns: ProvidedColumn[];
}

/** CREATE TABLE a LIKE b: a has b's definition. */
export interface TableLike {
  schema: string;
  table: string;
  like: { schema: string; table: string };
}

type Token = { kind: "word" | "name" | "string" | "number" | "punct"; text: string };

/** Splits SQL text into tokens; comments vanish, executable comments' contents stay. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i] as string;
    if (/\s/.test(c)) i++;
    else if (c === "/" && sql[i + 1] === "*") {
      // /*!50100 ... */ and MariaDB's /*M!100301 ... */ hold SQL: read their content.
      const exec = /^\/\*M?!\d*/.exec(sql.slice(i, i + 12));
      if (exec) i += exec[0].length;
      else {
        const end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
      }
    } else if (c === "*" && sql[i + 1] === "/") i += 2;
    else if (c === "#" || (c === "-" && sql[i + 1] === "-" && /\s/.test(sql[i + 2] ?? " "))) {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === "`" || c === '"' || c === "'") {
      const [text, next] = quoted(sql, i);
      out.push({ kind: c === "`" ? "name" : "string", text });
      i = next;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[0-9.eE]/.test(sql[j] as string)) j++;
      out.push({ kind: "number", text: sql.slice(i, j) });
      i = j;
    } else if (/[A-Za-z_$\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] as string)) j++;
      out.push({ kind: "word", text: sql.slice(i, j) });
      i = j;
    } else {
      out.push({ kind: "punct", text: c });
      i++;
    }
  }
  return out;
}

/** A quoted name or string at sql[i]: its text (doubled quotes and backslash escapes undone). */
function quoted(sql: string, i: number): [string, number] {
  const q = sql[i] as string;
  let text = "";
  let j = i + 1;
  while (j < sql.length) {
    const ch = sql[j] as string;
    if (ch === q) {
      if (sql[j + 1] === q) {
        text += q;
        j += 2;
        continue;
      }
      return [text, j + 1];
    }
    if (ch === "\\" && q !== "`" && j + 1 < sql.length) {
      const e = sql[j + 1] as string;
      text += ESCAPES[e] ?? e;
      j += 2;
      continue;
    }
    text += ch;
    j++;
  }
  return [text, j];
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "0": "\0", b: "\b", Z: "\x1a" };

/** Statements of a SQL text, split at semicolons outside quotes and comments. */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "`" || c === '"' || c === "'") i = quoted(text, i)[1];
    else if (c === "/" && text[i + 1] === "*" && text[i + 2] !== "!" && text[i + 2] !== "M") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (c === "#" || (c === "-" && text[i + 1] === "-")) {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end + 1;
    } else if (c === ";") {
      out.push(text.slice(start, i));
      start = ++i;
    } else i++;
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

class Reader {
  i = 0;
  constructor(readonly t: Token[]) {}
  get done(): boolean {
    return this.i >= this.t.length;
  }
  word(offset = 0): string | undefined {
    const tok = this.t[this.i + offset];
    return tok?.kind === "word" ? tok.text.toUpperCase() : undefined;
  }
  accept(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (this.word(k) !== words[k]) return false;
    this.i += words.length;
    return true;
  }
  punct(text: string): boolean {
    const tok = this.t[this.i];
    if (tok?.kind !== "punct" || tok.text !== text) return false;
    this.i++;
    return true;
  }
  isPunct(text: string): boolean {
    const tok = this.t[this.i];
    return tok?.kind === "punct" && tok.text === text;
  }
  /** A name: a word, a `quoted` name, or a "string" (ANSI_QUOTES). */
  name(): string | undefined {
    const tok = this.t[this.i];
    if (!tok || tok.kind === "punct" || tok.kind === "number") return undefined;
    this.i++;
    return tok.text;
  }
  /** [schema.]table */
  tableName(defaultSchema: string): { schema: string; table: string } | undefined {
    const first = this.name();
    if (first === undefined) return undefined;
    if (!this.punct(".")) return { schema: defaultSchema, table: first };
    const second = this.name();
    return second === undefined ? undefined : { schema: first, table: second };
  }
  /** Steps over one token, or a whole parenthesized group. */
  skipOne(): void {
    if (!this.punct("(")) {
      this.i++;
      return;
    }
    for (let depth = 1; depth > 0 && !this.done; this.i++) {
      if (this.isPunct("(")) depth++;
      else if (this.isPunct(")")) depth--;
    }
  }
  /** Steps to the next top-level "," or the ")" closing the list (not consumed). */
  skipToEndOfItem(): void {
    while (!this.done && !this.isPunct(",") && !this.isPunct(")")) this.skipOne();
  }
  /** The value of an option: `= x`, or `x`. */
  optionValue(): string | undefined {
    this.punct("=");
    return this.name();
  }
}

/**
 * The definition a CREATE TABLE statement gives; undefined for any other statement and for
 * CREATE TABLE ... SELECT without column definitions (nothing to read there).
 */
export function parseCreateTable(sql: string, defaultSchema = ""): TableDefinition | TableLike | undefined {
  const r = new Reader(tokenize(sql));
  if (!r.accept("CREATE")) return undefined;
  r.accept("OR", "REPLACE");
  if (r.accept("TEMPORARY")) return undefined; // not in a row-based binlog
  if (!r.accept("TABLE")) return undefined;
  r.accept("IF", "NOT", "EXISTS");
  const name = r.tableName(defaultSchema);
  if (!name) return undefined;
  const parenLike = r.isPunct("(") && r.word(1) === "LIKE";
  if (parenLike) r.punct("(");
  if (r.accept("LIKE")) {
    const like = r.tableName(defaultSchema);
    return like ? { ...name, like } : undefined;
  }
  if (!r.punct("(")) return undefined;
  const columns: ProvidedColumn[] = [];
  const primaryKey: string[] = [];
  for (;;) {
    if (!tableItem(r, columns, primaryKey)) return undefined;
    if (r.punct(",")) continue;
    if (r.punct(")")) break;
    return undefined;
  }
  const tableCharset = tableDefaultCharset(r);
  for (const c of columns) {
    if (primaryKey.some((k) => k.toLowerCase() === c.name?.toLowerCase())) c.isKey = true;
    c.isKey ??= false;
    if (c.charset === undefined && isTextType(c.dataType ?? "") && tableCharset !== undefined) {
      c.charset = tableCharset;
    }
  }
  return { ...name, columns };
}

/** One item of the list: a column (added to columns) or a constraint/index (PRIMARY KEY noted). */
function tableItem(r: Reader, columns: ProvidedColumn[], primaryKey: string[]): boolean {
  if (r.accept("CONSTRAINT")) {
    if (r.word() !== "PRIMARY" && r.word() !== "UNIQUE" && r.word() !== "FOREIGN" && r.word() !== "CHECK")
      r.name();
  }
  if (r.accept("PRIMARY", "KEY")) {
    while (!r.done && !r.isPunct("(")) r.i++;
    if (!r.punct("(")) return false;
    for (;;) {
      const col = r.name();
      if (col === undefined) return false;
      primaryKey.push(col);
      while (!r.done && !r.isPunct(",") && !r.isPunct(")")) r.skipOne(); // (length), ASC/DESC
      if (r.punct(",")) continue;
      if (r.punct(")")) break;
    }
    r.skipToEndOfItem();
    return true;
  }
  const w = r.word();
  if (w !== undefined && ITEM_WORDS.has(w) && !isColumnStart(r)) {
    r.skipToEndOfItem();
    return true;
  }
  const column = columnDefinition(r);
  if (!column) return false;
  if (column.isKey) primaryKey.push(column.name as string);
  columns.push(column);
  return true;
}

// Words that start an index, a key or a constraint (MariaDB's PERIOD FOR too) in a table's list.
const ITEM_WORDS: ReadonlySet<string> = new Set([
  "KEY",
  "INDEX",
  "UNIQUE",
  "FULLTEXT",
  "SPATIAL",
  "FOREIGN",
  "CHECK",
  "PERIOD",
  "CONSTRAINT",
]);

/** `key INT`: a column named like a keyword (a type word follows, not "(" or KEY/INDEX). */
function isColumnStart(r: Reader): boolean {
  const next = r.word(1);
  return next !== undefined && TYPE_WORDS.has(next);
}

const TYPE_WORDS: ReadonlySet<string> = new Set([
  ..."TINYINT SMALLINT MEDIUMINT INT INTEGER BIGINT INT1 INT2 INT3 INT4 INT8 MIDDLEINT DECIMAL DEC NUMERIC FIXED".split(
    " ",
  ),
  ..."FLOAT FLOAT4 FLOAT8 DOUBLE REAL BIT BOOL BOOLEAN SERIAL YEAR DATE TIME DATETIME TIMESTAMP".split(" "),
  ..."CHAR CHARACTER NCHAR VARCHAR NVARCHAR VARCHARACTER NATIONAL BINARY VARBINARY LONG".split(" "),
  ..."TINYTEXT TEXT MEDIUMTEXT LONGTEXT TINYBLOB BLOB MEDIUMBLOB LONGBLOB ENUM SET JSON".split(" "),
  ..."GEOMETRY POINT LINESTRING POLYGON MULTIPOINT MULTILINESTRING MULTIPOLYGON GEOMETRYCOLLECTION".split(
    " ",
  ),
  ..."GEOMCOLLECTION UUID INET4 INET6 VECTOR".split(" "),
]);

// Spellings of a type that information_schema writes otherwise.
const SYNONYMS: Record<string, string> = {
  integer: "int",
  int1: "tinyint",
  int2: "smallint",
  int3: "mediumint",
  int4: "int",
  int8: "bigint",
  middleint: "mediumint",
  dec: "decimal",
  numeric: "decimal",
  fixed: "decimal",
  real: "double",
  float4: "float",
  float8: "double",
  bool: "tinyint",
  boolean: "tinyint",
  character: "char",
  nchar: "char",
  nvarchar: "varchar",
  varcharacter: "varchar",
  geomcollection: "geometrycollection",
};

function columnDefinition(r: Reader): ProvidedColumn | undefined {
  const name = r.name();
  if (name === undefined) return undefined;
  let base = r.name()?.toLowerCase();
  if (base === undefined) return undefined;
  let national = false;
  if (base === "national") {
    national = true;
    base = r.name()?.toLowerCase() ?? "";
  }
  if (base === "double") r.accept("PRECISION");
  if ((base === "character" || base === "char" || base === "nchar") && r.accept("VARYING")) base = "varchar";
  if (base === "long") {
    // LONG and LONG VARCHAR are MEDIUMTEXT, LONG VARBINARY is MEDIUMBLOB.
    if (r.accept("VARBINARY")) base = "mediumblob";
    else {
      r.accept("VARCHAR");
      base = "mediumtext";
    }
  }
  if (base === "nchar" || base === "nvarchar") national = true;
  if (base === "serial") base = "bigint unsigned";
  base = SYNONYMS[base] ?? base;
  const args: string[] = [];
  const labels: string[] = [];
  if (r.punct("(")) {
    for (;;) {
      const tok = r.t[r.i];
      if (!tok) return undefined;
      if (tok.kind === "string") labels.push(tok.text);
      if (tok.kind === "number") args.push(tok.text);
      r.i++;
      if (r.punct(",")) continue;
      if (r.punct(")")) break;
    }
  }
  const col: ProvidedColumn = { name, dataType: base.split(" ")[0] as string, nullable: true };
  let unsigned = base.endsWith(" unsigned");
  let zerofill = false;
  let charset: string | undefined = national ? "utf8mb3" : undefined;
  let collation: string | undefined;
  while (!r.done && !r.isPunct(",") && !r.isPunct(")")) {
    if (r.accept("UNSIGNED")) unsigned = true;
    else if (r.accept("SIGNED")) unsigned = false;
    else if (r.accept("ZEROFILL")) {
      zerofill = true;
      unsigned = true;
    } else if (r.accept("CHARACTER", "SET") || r.accept("CHARSET")) charset = normalizeCharset(r.name());
    else if (r.accept("COLLATE")) collation = r.name();
    else if (r.accept("ASCII")) charset = "latin1";
    else if (r.accept("UNICODE")) charset = "ucs2";
    else if (r.accept("BYTE")) charset = "binary";
    else if (r.accept("NOT", "NULL")) col.nullable = false;
    else if (r.accept("PRIMARY", "KEY") || r.accept("KEY")) col.isKey = true;
    else if (r.accept("DEFAULT") || r.accept("COMMENT") || r.accept("ON", "UPDATE")) r.skipOne();
    else r.skipOne();
  }
  const base0 = base.replace(/ unsigned$/, "");
  const argText =
    base0 === "enum" || base0 === "set"
      ? `(${labels.map((l) => `'${l.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`).join(",")})`
      : args.length > 0
        ? `(${args.join(",")})`
        : "";
  col.columnType = `${base0}${argText}${unsigned ? " unsigned" : ""}${zerofill ? " zerofill" : ""}`;
  if (base0 === "enum") col.enumValues = labels;
  if (base0 === "set") col.setValues = labels;
  if (BINARY_TYPES.has(base0)) charset = "binary";
  // MariaDB's JSON is LONGTEXT in utf8mb4 (MySQL's is its own binary type: no charset used).
  if (base0 === "json") charset ??= "utf8mb4";
  if (collation !== undefined) {
    col.collation = collation;
    charset ??= charsetOfCollationName(collation);
  }
  if (charset !== undefined) col.charset = charset;
  return col;
}

const BINARY_TYPES: ReadonlySet<string> = new Set([
  "binary",
  "varbinary",
  "tinyblob",
  "blob",
  "mediumblob",
  "longblob",
]);

function isTextType(dataType: string): boolean {
  return /^(char|varchar|tinytext|text|mediumtext|longtext|enum|set)$/.test(dataType);
}

/** DEFAULT CHARSET / CHARACTER SET / COLLATE among the table options after the list. */
function tableDefaultCharset(r: Reader): string | undefined {
  let charset: string | undefined;
  let collation: string | undefined;
  while (!r.done) {
    r.accept("DEFAULT");
    if (r.accept("CHARACTER", "SET") || r.accept("CHARSET")) charset = normalizeCharset(r.optionValue());
    else if (r.accept("COLLATE")) collation = r.optionValue();
    else if (r.word() === "AS" || r.word() === "SELECT" || r.word() === "PARTITION") break;
    else r.skipOne();
  }
  return charset ?? charsetOfCollationName(collation);
}

/**
 * The CREATE TABLE statements of a SQL file (`mysqldump --no-data`, SHOW CREATE TABLE output),
 * with `USE db` setting the schema of the unqualified ones that follow. An unqualified table
 * before any USE has schema "" (it then stands for a table of that name in any schema).
 */
export function parseSchemaFile(text: string): (TableDefinition | TableLike)[] {
  const out: (TableDefinition | TableLike)[] = [];
  let schema = "";
  for (const stmt of splitStatements(text)) {
    const r = new Reader(tokenize(stmt));
    if (r.accept("USE")) {
      schema = r.name() ?? schema;
      continue;
    }
    const def = parseCreateTable(stmt, schema);
    if (def) out.push(def);
  }
  return out;
}
