// Table definitions from CREATE TABLE text (what `sluice binlog` learns from the files and from
// --schema), and how DdlSchema follows the DDL after them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  parseCreateTable,
  parseSchemaFile,
  splitStatements,
} from "../../../src/server/schema/create-table.js";
import { DdlSchema } from "../../../src/server/schema/ddl-schema.js";

describe("parseCreateTable", () => {
  test("SHOW CREATE TABLE output of MariaDB: types, charsets, keys, labels", () => {
    const def = parseCreateTable(
      `CREATE TABLE \`legacy\` (
  \`id\` int(11) NOT NULL,
  \`d\` datetime(3) DEFAULT NULL,
  \`t\` time(2) DEFAULT '00:00:00.00',
  \`ts\` timestamp(6) NOT NULL DEFAULT current_timestamp(6) ON UPDATE current_timestamp(6),
  \`f\` float(7,3) DEFAULT NULL COMMENT 'a ''quoted'' comment, with (parens)',
  \`z\` int(5) unsigned zerofill DEFAULT NULL,
  \`name\` varchar(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,
  \`e\` enum('a','b''c','d\\\\e') DEFAULT 'a',
  \`u\` uuid DEFAULT NULL,
  \`b\` varbinary(8) DEFAULT NULL,
  \`j\` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(\`j\`)),
  \`v\` int(11) GENERATED ALWAYS AS (\`id\` + 1) VIRTUAL,
  PRIMARY KEY (\`id\`,\`d\`),
  UNIQUE KEY \`n\` (\`name\`(10)),
  KEY \`k\` (\`f\`),
  CONSTRAINT \`c\` CHECK (\`id\` > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
      "shop",
    );
    assert.ok(def && !("like" in def));
    assert.equal(def.schema, "shop");
    assert.equal(def.table, "legacy");
    assert.deepEqual(
      def.columns.map((c) => [c.name, c.columnType, c.charset, c.isKey, c.nullable]),
      [
        ["id", "int(11)", undefined, true, false],
        ["d", "datetime(3)", undefined, true, true],
        ["t", "time(2)", undefined, false, true],
        ["ts", "timestamp(6)", undefined, false, false],
        ["f", "float(7,3)", undefined, false, true],
        ["z", "int(5) unsigned zerofill", undefined, false, true],
        ["name", "varchar(20)", "latin1", false, true],
        ["e", "enum('a','b''c','d\\\\e')", "utf8mb4", false, true],
        ["u", "uuid", undefined, false, true],
        ["b", "varbinary(8)", "binary", false, true],
        ["j", "longtext", "utf8mb4", false, true],
        ["v", "int(11)", undefined, false, true],
      ],
    );
    assert.deepEqual(def.columns[7]?.enumValues, ["a", "b'c", "d\\e"]);
  });

  test("typed DDL as the binlog logs it: qualified names, synonyms, inline keys, comments, no charset", () => {
    const def = parseCreateTable(
      "create table if not exists other.t2 /* a comment */ (id INTEGER UNSIGNED PRIMARY KEY, " +
        "amount NUMERIC(10,2), r REAL, ok BOOL, n NATIONAL VARCHAR(5), s SET('x','y'), " +
        "`key` CHAR(3) BINARY, p POINT NOT NULL, -- line comment\n c VARCHAR(4) COLLATE utf8mb4_bin)",
      "shop",
    );
    assert.ok(def && !("like" in def));
    assert.equal(def.schema, "other");
    assert.deepEqual(
      def.columns.map((c) => [c.name, c.columnType, c.charset, c.isKey]),
      [
        ["id", "int unsigned", undefined, true],
        ["amount", "decimal(10,2)", undefined, false],
        ["r", "double", undefined, false],
        ["ok", "tinyint", undefined, false],
        ["n", "varchar(5)", "utf8mb3", false],
        ["s", "set('x','y')", undefined, false],
        ["key", "char(3)", undefined, false],
        ["p", "point", undefined, false],
        ["c", "varchar(4)", "utf8mb4", false],
      ],
    );
  });

  test("LIKE, and statements that give no definition", () => {
    assert.deepEqual(parseCreateTable("CREATE TABLE a LIKE db.b", "x"), {
      schema: "x",
      table: "a",
      like: { schema: "db", table: "b" },
    });
    assert.deepEqual(parseCreateTable("CREATE TABLE a (LIKE b)", "x"), {
      schema: "x",
      table: "a",
      like: { schema: "x", table: "b" },
    });
    assert.equal(parseCreateTable("CREATE TABLE a SELECT 1 AS x", "x"), undefined);
    assert.equal(parseCreateTable("CREATE TEMPORARY TABLE a (id INT)", "x"), undefined);
    assert.equal(parseCreateTable("CREATE INDEX i ON t (a)", "x"), undefined);
    assert.equal(parseCreateTable("INSERT INTO t VALUES (1)", "x"), undefined);
  });

  test("a mysqldump --no-data file: USE sets the schema; other statements are stepped over", () => {
    const dump = `-- MySQL dump
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS \`a\`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
CREATE TABLE \`a\` (\`id\` int NOT NULL, \`s\` varchar(3) DEFAULT ';', PRIMARY KEY (\`id\`)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
USE \`shop\`;
CREATE TABLE \`b\` (\`x\` datetime(6));
CREATE TABLE c LIKE b;`;
    assert.equal(splitStatements(dump).length, 7);
    const defs = parseSchemaFile(dump);
    assert.deepEqual(
      defs.map((d) => [
        d.schema,
        d.table,
        "like" in d ? "like" : d.columns.map((c) => c.columnType).join(" "),
      ]),
      [
        ["", "a", "int varchar(3)"],
        ["shop", "b", "datetime(6)"],
        ["shop", "c", "like"],
      ],
    );
    assert.equal(
      !("like" in (defs[0] as object)) &&
        (defs[0] as { columns: { charset?: string }[] }).columns[1]?.charset,
      "latin1",
    );
  });
});

describe("DdlSchema follows the DDL of the files, over what --schema gave", () => {
  const cols = (s: DdlSchema, schema: string, table: string) =>
    s.getTable(schema, table, 0)?.columns.map((c) => c.columnType);

  test("CREATE, RENAME, ALTER, DROP", () => {
    const s = new DdlSchema();
    s.give(parseSchemaFile("CREATE TABLE any_t (a TIME(3)); USE db; CREATE TABLE given (a DATETIME(6))"));
    assert.deepEqual(cols(s, "x", "any_t"), ["time(3)"], "an unqualified given table, any schema");
    assert.deepEqual(cols(s, "db", "given"), ["datetime(6)"]);
    assert.equal(cols(s, "other", "given"), undefined);

    assert.equal(s.apply("CREATE TABLE t (a DATETIME(3), b INT)", "db"), true);
    assert.deepEqual(cols(s, "db", "t"), ["datetime(3)", "int"]);
    assert.equal(s.apply("RENAME TABLE t TO t2", "db"), true);
    assert.equal(cols(s, "db", "t"), undefined);
    assert.deepEqual(cols(s, "db", "t2"), ["datetime(3)", "int"]);
    assert.equal(s.apply("ALTER TABLE t2 MODIFY a DATETIME(6)", "db"), true);
    assert.equal(cols(s, "db", "t2"), undefined, "an ALTER is not guessed at");

    s.apply("CREATE TABLE given (a TIME(1))", "db");
    assert.deepEqual(cols(s, "db", "given"), ["time(1)"], "the files' CREATE wins over --schema");
    s.apply("DROP TABLE IF EXISTS given, t2", "db");
    assert.deepEqual(cols(s, "db", "given"), ["datetime(6)"], "then --schema again");
    s.apply("CREATE TABLE db.l LIKE db.given", "");
    assert.deepEqual(cols(s, "db", "l"), ["datetime(6)"]);
    s.apply("DROP DATABASE db", "");
    assert.equal(cols(s, "db", "l"), undefined);
    assert.equal(s.apply("INSERT INTO t VALUES (1)", "db"), false);
  });
});
