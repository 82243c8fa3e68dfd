import assert from "node:assert/strict";
import { test } from "node:test";
import { EventFilter, parseFieldFilter } from "../../../src/server/filter/index.js";

test("acceptsTable: white filter AND NOT black filter", () => {
  // [options, schema, table, expected]
  const cases: [ConstructorParameters<typeof EventFilter>[0], string, string, boolean][] = [
    [{}, "any", "t", true],
    [{ filter: "", blackFilter: "" }, "mysql", "user", true],
    [{ blackFilter: "mysql\\..*" }, "mysql", "user", false],
    [{ blackFilter: "mysql\\..*" }, "app", "orders", true],
    [{ filter: ".*\\..*", blackFilter: "mysql\\.slave_.*" }, "mysql", "slave_master_info", false],
    [{ filter: ".*\\..*", blackFilter: "mysql\\.slave_.*" }, "mysql", "user", true],
    [{ filter: "app\\..*", blackFilter: "app\\.tmp_.*" }, "app", "orders", true],
    [{ filter: "app\\..*", blackFilter: "app\\.tmp_.*" }, "app", "tmp_1", false],
    [{ filter: "app\\..*", blackFilter: "app\\.tmp_.*" }, "other", "orders", false],
    [{ filter: "app.orders", blackFilter: "app.orders" }, "app", "orders", false],
    [{ filter: "app\\..*", blackFilter: "APP\\.ORDERS" }, "App", "Orders", false],
    [{ filter: "app\\..*", blackFilter: "app\\.order" }, "app", "orders", true],
  ];
  for (const [options, schema, table, expected] of cases) {
    const f = new EventFilter(options);
    assert.equal(f.acceptsTable(schema, table), expected, `${JSON.stringify(options)} ${schema}.${table}`);
    assert.equal(f.acceptsTable(schema, table), expected, "cached");
  }
});

test("acceptsTable: a small cache gives the same answers", () => {
  const f = new EventFilter({ filter: "db\\..*", blackFilter: "db\\.t[02468]", cacheSize: 3 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) assert.equal(f.acceptsTable("db", `t${i}`), i % 2 === 1, `t${i}`);
  }
});

test("columnsFor: field filter keeps, field black filter drops, field filter wins", () => {
  const f = new EventFilter({
    fieldFilter: "db.t:id/Name, db.both:a",
    fieldBlackFilter: "db.u:secret/TOKEN,db.both:a/b",
  });
  const keep = f.columnsFor("db", "t");
  assert.ok(keep);
  assert.deepEqual(["id", "name", "NAME", "email"].map(keep), [true, true, true, false]);
  assert.equal(f.columnsFor("DB", "T")?.("ID"), true, "table and columns ignore case");

  const drop = f.columnsFor("db", "u");
  assert.ok(drop);
  assert.deepEqual(["id", "secret", "token", "Token"].map(drop), [true, false, false, false]);

  // listed in both: canal's needField uses the field filter and ignores the black list
  const both = f.columnsFor("db", "both");
  assert.ok(both);
  assert.deepEqual(["a", "b", "c"].map(both), [true, false, false]);

  assert.equal(f.columnsFor("db", "other"), undefined, "unlisted table keeps all columns");
  assert.equal(f.columnsFor("db", "other"), undefined, "cached");
  assert.equal(new EventFilter({}).columnsFor("db", "t"), undefined);
  assert.equal(new EventFilter({ filter: "x\\..*" }).columnsFor("db", "t"), undefined);
});

test("columnsFor: field entries are exact names, not patterns", () => {
  const f = new EventFilter({ fieldFilter: "db.t:c1" });
  assert.ok(f.columnsFor("db", "t"));
  assert.equal(f.columnsFor("db", "t1"), undefined);
  assert.equal(f.columnsFor("dbx", "t"), undefined);
  assert.equal(f.columnsFor("db.t", ""), undefined);
});

test("parseFieldFilter: canal's format, blanks skipped, names trimmed", () => {
  const f = parseFieldFilter(
    " test1.t_product:id/subject/keywords , ,test2.t_company: id / name /contact/ch,",
    "fieldFilter",
  );
  assert.deepEqual(f.entries, [
    { table: "test1.t_product", columns: ["id", "subject", "keywords"] },
    { table: "test2.t_company", columns: ["id", "name", "contact", "ch"] },
  ]);
  assert.deepEqual([...(f.columnsOf("TEST2.t_company") ?? [])], ["ID", "NAME", "CONTACT", "CH"]);
  assert.equal(f.columnsOf("test2.other"), undefined);
  assert.equal(parseFieldFilter("").isEmpty, true);
  assert.equal(parseFieldFilter(" , ").isEmpty, true);
  assert.equal(parseFieldFilter("db.t$1:c").entries[0]?.table, "db.t$1", "$ is a legal name character");
});

test("acceptsDdl: canal's rules", () => {
  const f = new EventFilter({ filter: "app\\..*", blackFilter: "app\\.tmp_.*" });
  assert.equal(f.acceptsDdl("app", "orders"), true);
  assert.equal(f.acceptsDdl("other", "orders"), false, "filtered like rows");
  assert.equal(f.acceptsDdl("app", "tmp_1"), false, "black-listed");
  assert.equal(f.acceptsDdl("APP", "Orders"), true, "ignores case");
  assert.equal(f.acceptsDdl("other", undefined), true, "names no table: not filtered (CREATE DATABASE ...)");
  assert.equal(f.acceptsDdl("", ""), true, "names no table");

  // renames: either name passing the filter is enough ...
  assert.equal(f.acceptsDdl("other", "t", { schema: "app", table: "t" }), true, "renamed out of app");
  assert.equal(f.acceptsDdl("app", "t", { schema: "other", table: "t" }), true, "renamed into app");
  assert.equal(f.acceptsDdl("other", "t", { schema: "other", table: "u" }), false, "neither");
  // ... and the black filter drops it only when both names are black-listed
  assert.equal(f.acceptsDdl("app", "tmp_2", { schema: "app", table: "tmp_1" }), false, "both black");
  assert.equal(f.acceptsDdl("app", "tmp_2", { schema: "app", table: "orders" }), true, "into black");
  assert.equal(f.acceptsDdl("app", "orders", { schema: "app", table: "tmp_1" }), true, "out of black");
  // canal quirk: a rename into a black-listed name from a name the filter rejects still passes
  assert.equal(f.acceptsDdl("app", "tmp_2", { schema: "other", table: "x" }), true);
});

test("acceptsDdl: filterQueryDdl drops every DDL", () => {
  const f = new EventFilter({ filterQueryDdl: true });
  assert.equal(f.acceptsDdl("app", "orders"), false);
  assert.equal(f.acceptsDdl("app", undefined), false);
  assert.equal(f.acceptsTable("app", "orders"), true, "rows are not affected");
  assert.equal(f.filterQueryDdl, true);
});

test("filterTableError is carried for the decoder", () => {
  assert.equal(new EventFilter({ filterTableError: true }).filterTableError, true);
  assert.equal(new EventFilter({}).filterTableError, false);
});

test("describe", () => {
  assert.equal(
    new EventFilter({}).describe(),
    "filter: (all tables) | blackFilter: (none) | fieldFilter: (none) | fieldBlackFilter: (none)",
  );
  assert.equal(
    new EventFilter({
      filter: "canal\\..*, mysql.test1",
      blackFilter: "mysql\\.slave_.*",
      fieldFilter: "db.t:c1/c2",
      fieldBlackFilter: "db2.t2:c3",
      filterQueryDdl: true,
      filterTableError: true,
    }).describe(),
    "filter: mysql.test1, canal\\..* | blackFilter: mysql\\.slave_.* | fieldFilter: db.t:c1/c2 | " +
      "fieldBlackFilter: db2.t2:c3 | filterQueryDdl | filterTableError",
  );
});
