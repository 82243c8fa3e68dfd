// What a statement in a QUERY event is: canal's DDL kinds (CREATE, ALTER, ERASE, TRUNCATE,
// RENAME, CINDEX, DINDEX, QUERY) and the tables it touches, so that entries carry the right
// event type, filters can match DDL by table, and cached table schemas are refreshed. The
// binlog reader classifies each statement once (classifyQuery) and the result travels on the
// event and its entry (entry/statement.ts); later stages never parse the SQL again.
//
// A small tokenizer rather than canal's regexes: comments, quoted names, `IF [NOT] EXISTS`
// and several tables per statement are where regexes go wrong. It reads only the statement's
// head; anything it does not recognise is a plain QUERY, never an error.

import type { QueryEvent } from "../binlog/index.js";
import type { DdlInfo, TableName } from "../entry/statement.js";

type Token = { kind: "word" | "quoted" | "punct"; text: string };

function tokenize(sql: string, limit = 64): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n && tokens.length < limit) {
    const c = sql[i] as string;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      // MySQL executable comments (/*!50100 ... */) hold real SQL: read their content.
      if (sql[i + 2] === "!") {
        i += 3;
        while (i < n && /[0-9]/.test(sql[i] as string)) i++;
      } else {
        const end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
      }
    } else if (c === "*" && sql[i + 1] === "/") {
      i += 2;
    } else if ((c === "-" && sql[i + 1] === "-" && /\s/.test(sql[i + 2] ?? " ")) || c === "#") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === "`" || c === '"') {
      let text = "";
      i++;
      while (i < n) {
        if (sql[i] === c) {
          if (sql[i + 1] === c) {
            text += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += sql[i];
        i++;
      }
      tokens.push({ kind: "quoted", text });
    } else if (c === "'") {
      // String literal: skip it (never a name in the heads we read).
      i++;
      while (i < n && sql[i] !== "'") i += sql[i] === "\\" ? 2 : 1;
      i++;
      tokens.push({ kind: "punct", text: "'" });
    } else if (/[A-Za-z0-9_$\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] as string)) j++;
      tokens.push({ kind: "word", text: sql.slice(i, j) });
      i = j;
    } else {
      tokens.push({ kind: "punct", text: c });
      i++;
    }
  }
  return tokens;
}

class Cursor {
  i = 0;
  constructor(readonly t: Token[]) {}
  peekWord(offset = 0): string | undefined {
    const tok = this.t[this.i + offset];
    return tok?.kind === "word" ? tok.text.toUpperCase() : undefined;
  }
  accept(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (this.peekWord(k) !== words[k]) return false;
    this.i += words.length;
    return true;
  }
  skipUntilWord(...words: string[]): boolean {
    while (this.i < this.t.length) {
      const w = this.peekWord();
      if (w && words.includes(w)) return true;
      this.i++;
    }
    return false;
  }
  punct(text: string): boolean {
    const tok = this.t[this.i];
    if (tok?.kind === "punct" && tok.text === text) {
      this.i++;
      return true;
    }
    return false;
  }
  /** [schema.]name, quoted or not. */
  name(defaultSchema: string): TableName | undefined {
    const first = this.t[this.i];
    if (!first || first.kind === "punct") return undefined;
    this.i++;
    if (this.punct(".")) {
      const second = this.t[this.i];
      if (!second || second.kind === "punct") return undefined;
      this.i++;
      return { schema: first.text, table: second.text };
    }
    return { schema: defaultSchema, table: first.text };
  }
}

const QUERY: DdlInfo = { kind: "QUERY", tables: [], isDdl: false };

/** Statements that frame transactions (or are passed over): they make no statement entry. */
const NO_STATEMENT_ENTRY: ReadonlySet<QueryEvent["statement"]> = new Set([
  "begin",
  "commit",
  "rollback",
  "savepoint",
  "xa",
]);

/**
 * The classification of a QUERY event that becomes a statement entry (DDL, statement-based
 * DML, GRANT ...); undefined for those that frame transactions.
 */
export function classifyQuery(event: QueryEvent): DdlInfo | undefined {
  if (NO_STATEMENT_ENTRY.has(event.statement)) return undefined;
  return classifyStatement(event.sql, event.schema);
}

/** Classifies one statement; `defaultSchema` is the QUERY event's current database. */
export function classifyStatement(sql: string, defaultSchema = ""): DdlInfo {
  const c = new Cursor(tokenize(sql));
  const verb = c.peekWord();
  switch (verb) {
    case "CREATE":
      return create(c, defaultSchema);
    case "ALTER":
      return alter(c, defaultSchema);
    case "DROP":
      return drop(c, defaultSchema);
    case "TRUNCATE": {
      c.accept("TRUNCATE");
      c.accept("TABLE");
      const t = c.name(defaultSchema);
      return t ? { kind: "TRUNCATE", tables: [t], isDdl: true } : QUERY;
    }
    case "RENAME": {
      c.accept("RENAME");
      if (!c.accept("TABLE") && !c.accept("TABLES")) return { ...QUERY, isDdl: true };
      const tables: TableName[] = [];
      for (;;) {
        const from = c.name(defaultSchema);
        if (!from || !c.accept("TO")) break;
        const to = c.name(defaultSchema);
        if (!to) break;
        tables.push(from, to);
        if (!c.punct(",")) break;
      }
      return tables.length ? { kind: "RENAME", tables, isDdl: true } : QUERY;
    }
    default:
      return QUERY;
  }
}

function create(c: Cursor, defaultSchema: string): DdlInfo {
  c.accept("CREATE");
  c.accept("OR", "REPLACE");
  if (c.accept("DATABASE") || c.accept("SCHEMA")) {
    c.accept("IF", "NOT", "EXISTS");
    const t = c.name("");
    return { kind: "QUERY", tables: [], isDdl: true, schemaOnly: t?.table };
  }
  c.accept("TEMPORARY");
  if (c.accept("TABLE")) {
    c.accept("IF", "NOT", "EXISTS");
    const t = c.name(defaultSchema);
    return t ? { kind: "CREATE", tables: [t], isDdl: true } : QUERY;
  }
  c.accept("ONLINE") || c.accept("OFFLINE");
  if (c.accept("UNIQUE") || c.accept("FULLTEXT") || c.accept("SPATIAL")) {
    // fall through to INDEX
  }
  if (c.accept("INDEX")) {
    c.accept("IF", "NOT", "EXISTS");
    if (!c.skipUntilWord("ON")) return QUERY;
    c.accept("ON");
    const t = c.name(defaultSchema);
    return t ? { kind: "CINDEX", tables: [t], isDdl: true } : QUERY;
  }
  // VIEW, TRIGGER, PROCEDURE, FUNCTION, EVENT, USER, ROLE, SEQUENCE, ...: DDL that changes no table rows.
  return { ...QUERY, isDdl: c.peekWord() !== "USER" && c.peekWord() !== "ROLE" };
}

function alter(c: Cursor, defaultSchema: string): DdlInfo {
  c.accept("ALTER");
  if (c.accept("DATABASE") || c.accept("SCHEMA")) {
    const t = c.name("");
    return { kind: "QUERY", tables: [], isDdl: true, schemaOnly: t?.table };
  }
  c.accept("ONLINE") || c.accept("OFFLINE");
  c.accept("IGNORE");
  if (!c.accept("TABLE")) return { ...QUERY, isDdl: c.peekWord() !== "USER" };
  c.accept("IF", "EXISTS");
  const t = c.name(defaultSchema);
  if (!t) return QUERY;
  // ALTER TABLE a RENAME [TO|AS] b is a rename in canal's terms.
  const save = c.i;
  if (c.accept("RENAME") && !c.accept("COLUMN") && !c.accept("INDEX") && !c.accept("KEY")) {
    c.accept("TO") || c.accept("AS");
    const to = c.name(t.schema);
    if (to) return { kind: "RENAME", tables: [t, to], isDdl: true };
  }
  c.i = save;
  return { kind: "ALTER", tables: [t], isDdl: true };
}

function drop(c: Cursor, defaultSchema: string): DdlInfo {
  c.accept("DROP");
  if (c.accept("DATABASE") || c.accept("SCHEMA")) {
    c.accept("IF", "EXISTS");
    const t = c.name("");
    return { kind: "QUERY", tables: [], isDdl: true, schemaOnly: t?.table };
  }
  c.accept("TEMPORARY");
  if (c.accept("TABLE") || c.accept("TABLES")) {
    c.accept("IF", "EXISTS");
    const tables: TableName[] = [];
    for (;;) {
      const t = c.name(defaultSchema);
      if (!t) break;
      tables.push(t);
      if (!c.punct(",")) break;
    }
    return tables.length ? { kind: "ERASE", tables, isDdl: true } : QUERY;
  }
  c.accept("ONLINE") || c.accept("OFFLINE");
  if (c.accept("INDEX")) {
    c.accept("IF", "EXISTS");
    if (!c.skipUntilWord("ON")) return QUERY;
    c.accept("ON");
    const t = c.name(defaultSchema);
    return t ? { kind: "DINDEX", tables: [t], isDdl: true } : QUERY;
  }
  return { ...QUERY, isDdl: c.peekWord() !== "USER" && c.peekWord() !== "ROLE" };
}
