// The decoder's SchemaProvider for offline decoding (`sluice binlog`): table definitions from
// the CREATE TABLE statements met in the binlog, kept current through the DDL that follows
// (DROP forgets, RENAME TABLE moves, an ALTER forgets: a changed definition is not guessed
// at), with definitions a user gave (`--schema FILE`) behind them for tables the files do not
// define (or no longer, after an ALTER). A definition whose column count differs from the
// TABLE_MAP's is not used (table-map.ts), so one from before or after an ADD/DROP COLUMN never
// applies to the other side's rows. Nothing here asks a server.
import type { ProvidedTable, SchemaProvider } from "../binlog/index.js";
import { classifyStatement } from "../parse/ddl.js";
import { parseCreateTable, type TableDefinition, type TableLike } from "./create-table.js";

export class DdlSchema implements SchemaProvider {
  /** From the binlog's CREATE TABLE statements: "schema\0table" -> definition. */
  readonly #seen = new Map<string, ProvidedTable>();
  /** Given by the user: "schema\0table", or "\0table" for a table of that name in any schema. */
  readonly #given = new Map<string, ProvidedTable>();

  /** Definitions to fall back on (a --schema file), in file order. */
  give(defs: Iterable<TableDefinition | TableLike>): void {
    for (const d of defs) {
      const def = "like" in d ? this.#lookup(d.like.schema, d.like.table) : { columns: d.columns };
      if (def) this.#given.set(key(d.schema, d.table), def);
    }
  }

  getTable(schema: string, table: string, _columnCount: number): ProvidedTable | undefined {
    return this.#lookup(schema, table);
  }

  #lookup(schema: string, table: string): ProvidedTable | undefined {
    return (
      this.#seen.get(key(schema, table)) ??
      this.#given.get(key(schema, table)) ??
      this.#given.get(key("", table))
    );
  }

  #set(schema: string, table: string, def: ProvidedTable | undefined): void {
    if (def) this.#seen.set(key(schema, table), { columns: def.columns });
    else this.#seen.delete(key(schema, table));
  }

  /**
   * Takes a statement of the binlog (a QUERY event's text and default schema); true when a
   * table's definition changed, so the decoder must read its next TABLE_MAP afresh.
   */
  apply(sql: string, defaultSchema: string): boolean {
    const created = parseCreateTable(sql, defaultSchema);
    if (created) {
      const def = "like" in created ? this.#lookup(created.like.schema, created.like.table) : created;
      this.#set(created.schema, created.table, def);
      return true;
    }
    const info = classifyStatement(sql, defaultSchema);
    switch (info.kind) {
      case "CREATE": // CREATE TABLE ... SELECT: columns not written out
      case "ALTER":
      case "ERASE":
        for (const t of info.tables) this.#seen.delete(key(t.schema, t.table));
        return info.tables.length > 0;
      case "RENAME": {
        // RENAME TABLE a TO b keeps the definition; ALTER TABLE a RENAME TO b may change more.
        const plain = /^\s*RENAME\b/i.test(sql);
        for (let i = 0; i + 1 < info.tables.length; i += 2) {
          const from = info.tables[i] as { schema: string; table: string };
          const to = info.tables[i + 1] as { schema: string; table: string };
          const def = plain ? this.#lookup(from.schema, from.table) : undefined;
          this.#seen.delete(key(from.schema, from.table));
          this.#set(to.schema, to.table, def);
        }
        return true;
      }
      default:
        if (info.schemaOnly !== undefined && /^\s*DROP\s+(DATABASE|SCHEMA)\b/i.test(sql)) {
          const prefix = key(info.schemaOnly, "");
          for (const k of [...this.#seen.keys()]) if (k.startsWith(prefix)) this.#seen.delete(k);
          return true;
        }
        return false;
    }
  }
}

function key(schema: string, table: string): string {
  return `${schema}\0${table}`;
}
