// ColumnInfo.typeName (canal's mysqlType) follows one rule whether or not an information_schema
// lookup happened: derived from the binlog's type and metadata (plus what the provider fills in:
// charsets, signedness, labels), no integer display widths, no ZEROFILL (docs/values.md).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BinlogDecoder, type SchemaProvider, type TableInfo } from "../../../src/server/binlog/index.js";
import { normalizeTypeName } from "../../../src/server/binlog/table-map.js";
import { fixtureProvider, fixturesDir, loadFixture, type PacketFixture } from "./helpers.js";

const dir = fixturesDir();
const skip = dir === undefined ? "shared/fixtures/binlog not found" : false;

/** The TABLE_MAP of the fixture's capture table, decoded with or without a provider. */
function tableOf(fx: PacketFixture, provider: SchemaProvider | undefined): TableInfo {
  const decoder = new BinlogDecoder({ schemaProvider: provider });
  for (const [i, hex] of fx.packets.entries()) {
    const ev = decoder.decode(Buffer.from(hex, "hex").subarray(1), { file: "mysql-bin.000001", offset: i });
    if (ev.type === "table_map" && ev.table.name === "capture_types") return ev.table;
  }
  throw new Error("no TABLE_MAP for capture_types");
}

function typeNames(t: TableInfo): Record<string, string | undefined> {
  return Object.fromEntries(t.columns.map((c) => [c.name ?? `#${c.index}`, c.typeName]));
}

/** The same columns as MariaDB (and MySQL before 8.0.19) spell COLUMN_TYPE: display widths, upper case. */
function mariadbStyle(columnType: string): string {
  const widths: Record<string, string> = {
    int: "int(11)",
    bigint: "bigint(20)",
    "bigint unsigned": "BIGINT(20) UNSIGNED",
    year: "year(4)",
  };
  return widths[columnType] ?? columnType;
}

describe("typeName does not depend on an information_schema lookup", { skip }, () => {
  const minimal = () => loadFixture(dir as string, "mysql84.json");
  const full = () => loadFixture(dir as string, "mysql84-fullmeta.json");

  test("FULL metadata without a lookup = MINIMAL metadata with one", () => {
    const fromBinlog = typeNames(tableOf(full(), undefined));
    const fromLookup = typeNames(tableOf(minimal(), fixtureProvider(minimal())));
    assert.deepEqual(fromLookup, fromBinlog);
    assert.equal(fromBinlog.id, "int");
    assert.equal(fromBinlog.u_big, "bigint unsigned");
    assert.equal(fromBinlog.y, "year");
    assert.equal(fromBinlog.vc, "varchar(20)");
    assert.equal(fromBinlog.e2, "enum('a,b','c''d','plain')");
  });

  test("a lookup that spells display widths (MariaDB's int(11)) gives the same names", () => {
    const fx = minimal();
    for (const cols of Object.values(fx.tableSchemas)) {
      for (const c of cols) c.COLUMN_TYPE = mariadbStyle(c.COLUMN_TYPE);
    }
    const provided = typeNames(tableOf(fx, fixtureProvider(fx)));
    assert.deepEqual(provided, typeNames(tableOf(full(), undefined)));
    assert.equal(provided.id, "int");
    assert.equal(provided.u_big, "bigint unsigned");
  });
});

test("normalizeTypeName: the fallback spelling of a provider's COLUMN_TYPE", () => {
  assert.equal(normalizeTypeName("int(11)"), "int");
  assert.equal(normalizeTypeName("INT(10) UNSIGNED ZEROFILL"), "int unsigned");
  assert.equal(normalizeTypeName("tinyint(1)"), "tinyint");
  assert.equal(normalizeTypeName("year(4)"), "year");
  assert.equal(normalizeTypeName("varchar(20)"), "varchar(20)");
  assert.equal(normalizeTypeName("DECIMAL(10,2) unsigned"), "decimal(10,2) unsigned");
  assert.equal(normalizeTypeName("enum('A','b c')"), "enum('A','b c')");
  // MariaDB's compressed columns: the type without the comment
  assert.equal(normalizeTypeName("varchar(100) /*M!100301 COMPRESSED*/"), "varchar(100)");
  assert.equal(normalizeTypeName("mediumtext /*M!100301 COMPRESSED*/"), "mediumtext");
  assert.equal(normalizeTypeName("enum('/*x*/')"), "enum('/*x*/')");
});
