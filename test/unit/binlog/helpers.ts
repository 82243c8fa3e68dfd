// Shared helpers for the binlog decoder tests.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProvidedColumn, SchemaProvider } from "../../../src/server/binlog/index.js";

/** The repository root (the directory holding package.json), found from this file's location. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "src"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("repository root not found");
}

/** /work/shared/fixtures/binlog (the `shared` directory beside the repository), or undefined. */
export function fixturesDir(): string | undefined {
  const dir = resolve(repoRoot(), "..", "shared", "fixtures", "binlog");
  return existsSync(dir) ? dir : undefined;
}

export interface PacketFixture {
  serverVersion: string;
  binlogRowMetadata: string;
  useChecksum: boolean;
  schemaName: string;
  tableSchemas: Record<
    string,
    {
      COLUMN_NAME: string;
      COLLATION_NAME: string | null;
      CHARACTER_SET_NAME: string | null;
      COLUMN_TYPE: string;
      UNSIGNED?: boolean;
    }[]
  >;
  eventSummary: string[];
  packets: string[];
}

export function loadFixture(dir: string, name: string): PacketFixture {
  return JSON.parse(readFileSync(join(dir, name), "utf8")) as PacketFixture;
}

/** A SchemaProvider over the fixture's information_schema rows. */
export function fixtureProvider(fx: PacketFixture): SchemaProvider {
  return {
    getTable(schema, table) {
      if (schema !== fx.schemaName) return undefined;
      const cols = fx.tableSchemas[table];
      if (!cols) return undefined;
      return {
        columns: cols.map(
          (c): ProvidedColumn => ({
            name: c.COLUMN_NAME,
            columnType: c.COLUMN_TYPE,
            charset: c.CHARACTER_SET_NAME,
            collation: c.COLLATION_NAME,
            unsigned: c.UNSIGNED,
          }),
        ),
      };
    },
  };
}

/** Row image as {name: value} for readable assertions ("<absent>" marks undefined). */
export function named(
  columns: { name?: string; index: number }[],
  row: (string | null | undefined)[],
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const c of columns) {
    const v = row[c.index];
    out[c.name ?? `@${c.index}`] = v === undefined ? "<absent>" : v;
  }
  return out;
}
