/**
 * Per-table memo: schema -> table -> value, holding at most `capacity` tables; when full, the
 * oldest insertion is dropped. Looking up the decoder's schema and table strings directly
 * (rather than a joined "schema.table") avoids building and hashing a new string per row
 * event. Filter decisions are pure functions of the name, so eviction only costs a
 * recomputation. Capacity 0 disables caching.
 */
export class TableCache<V> {
  private readonly schemas = new Map<string, Map<string, V>>();
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new RangeError(`cache capacity must be a non-negative integer, got ${capacity}`);
    }
  }

  /** Number of tables held. */
  get size(): number {
    return this.count;
  }

  get(schema: string, table: string): V | undefined {
    return this.schemas.get(schema)?.get(table);
  }

  set(schema: string, table: string, value: V): void {
    if (this.capacity === 0) return;
    let tables = this.schemas.get(schema);
    if (tables?.has(table)) {
      tables.set(table, value);
      return;
    }
    if (this.count >= this.capacity) this.evictOldest();
    if (!tables) {
      tables = new Map();
      this.schemas.set(schema, tables);
    }
    tables.set(table, value);
    this.count++;
  }

  clear(): void {
    this.schemas.clear();
    this.count = 0;
  }

  private evictOldest(): void {
    for (const [schema, tables] of this.schemas) {
      const oldest = tables.keys().next();
      if (!oldest.done) {
        tables.delete(oldest.value);
        this.count--;
      }
      if (tables.size === 0) this.schemas.delete(schema);
      if (!oldest.done) return;
    }
  }
}
