// The decoder's SchemaProvider for sources without FULL row metadata: table schemas loaded
// from information_schema when a TABLE_MAP first names a table, kept per table, and dropped
// when a DDL touches the table. The decoder asks synchronously; the reader loads asynchronously
// before it decodes the events that need it (see parse/binlog-reader.ts).
import type { ProvidedTable, SchemaProvider } from "../binlog/index.js";
import { fetchTableSchema, type Query } from "./information-schema.js";

const MAX_TABLES = 10_000;

export class SchemaCache implements SchemaProvider {
  // null: looked up, and the table does not exist (any more).
  readonly #tables = new Map<string, ProvidedTable | null>();

  constructor(private readonly query: Query) {}

  getTable(schema: string, table: string, _columnCount: number): ProvidedTable | undefined {
    return this.#tables.get(key(schema, table)) ?? undefined;
  }

  has(schema: string, table: string): boolean {
    return this.#tables.has(key(schema, table));
  }

  async load(schema: string, table: string): Promise<void> {
    const fetched = await fetchTableSchema(this.query, schema, table);
    if (this.#tables.size >= MAX_TABLES) {
      const oldest = this.#tables.keys().next().value;
      if (oldest !== undefined) this.#tables.delete(oldest);
    }
    this.#tables.set(
      key(schema, table),
      fetched
        ? {
            columns: fetched.columns.map((c) => ({
              name: c.name,
              columnType: c.columnType,
              dataType: c.dataType,
              charset: c.charset ?? null,
              collation: c.collation ?? null,
              unsigned: c.unsigned,
              isKey: c.isKey,
              ...(c.dataType === "enum" ? { enumValues: c.labels } : {}),
              ...(c.dataType === "set" ? { setValues: c.labels } : {}),
            })),
          }
        : null,
    );
  }

  invalidate(schema: string, table: string): void {
    this.#tables.delete(key(schema, table));
  }

  /** Forgets every table of a schema (DROP/ALTER DATABASE). */
  invalidateSchema(schema: string): void {
    const prefix = `${schema}\0`;
    for (const k of this.#tables.keys()) if (k.startsWith(prefix)) this.#tables.delete(k);
  }
}

function key(schema: string, table: string): string {
  return `${schema}\0${table}`;
}
