import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTableFilter, splitTablePatterns } from "../../../src/server/filter/index.js";

// [filter, schema, table, expected, why]
type Case = [string, string, string, boolean, string];

const cases: Case[] = [
  // canal's documented examples (canal.instance.filter.regex; "\\" in .properties is "\" here)
  [".*\\..*", "canal", "test1", true, "doc: all tables"],
  [".*\\..*", "mysql", "user", true, "doc: all tables"],
  [".*", "canal", "test1", true, "doc: .* is all tables too"],
  ["canal\\..*", "canal", "test1", true, "doc: every table of schema canal"],
  ["canal\\..*", "canal", "x", true, "doc: every table of schema canal"],
  ["canal\\..*", "canalx", "t", false, "escaped dot: schema must be exactly canal"],
  ["canal\\..*", "mysql", "canal", false, "other schema"],
  ["canal\\.canal.*", "canal", "canal_1", true, "doc: tables of canal starting with canal"],
  ["canal\\.canal.*", "canal", "test", false, "doc: tables of canal starting with canal"],
  ["canal.test1", "canal", "test1", true, "doc: one table"],
  ["canal.test1", "canal", "test2", false, "doc: one table"],
  ["canal.test1", "canal", "test10", false, "full match, not prefix"],
  ["canal\\..*,mysql.test1", "canal", "a", true, "doc: combined rules"],
  ["canal\\..*,mysql.test1", "mysql", "test1", true, "doc: combined rules"],
  ["canal\\..*,mysql.test1", "mysql", "test2", false, "doc: combined rules"],
  ["canal\\..*,mysql.test1,mysql.test2", "mysql", "test2", true, "doc: three rules"],

  // empty filter = canal's default .*\..*
  ["", "any", "table", true, "empty"],
  ["   ", "any", "table", true, "blank"],
  [",,", "any", "table", true, "only separators"],

  // case-insensitivity: the name is lower-cased, pattern letters too
  ["canal\\..*", "CANAL", "Test1", true, "upper-case name"],
  ["Canal\\.TEST1", "canal", "test1", true, "upper-case pattern"],
  ["Canal\\.TEST1", "CANAL", "test1", true, "both"],
  ["[A-Z]+\\.t", "abc", "t", true, "upper-case range folds to lower case"],
  ["[[:upper:]]\\.t", "a", "t", true, "[:upper:] matches either case under canal's CASE_INSENSITIVE"],
  ["\\x41\\.t", "a", "T", true, "escaped upper-case letter folds too"],

  // full match, never a prefix or a substring
  ["canal", "canal", "x", false, "schema alone is not the name"],
  ["canal\\.t", "canal", "t1", false, "prefix of the name"],
  ["anal\\.t", "canal", "t", false, "suffix of the name"],
  ["canal\\.t1|canal\\.t10", "canal", "t10", true, "top-level | is an alternation of whole names"],
  ["canal\\.t1|canal\\.t10", "canal", "t1", true, "top-level | is an alternation of whole names"],
  ["canal\\.t1|canal\\.t10", "canal", "t100", false, "still a full match"],

  // bare dots are regex dots (kept canal quirk)
  ["db\\..*", "db", "x", true, "escaped dot"],
  ["db\\..*", "dbx", "y", false, "escaped dot does not match x"],
  ["db..*", "dbx", "y", true, "bare dot matches any character"],
  ["db.*", "db_archive", "t", true, "db.* is not 'schema db'"],
  ["db.t.*", "dbxt", "y", true, "bare dot lets db.t.* reach schema dbxt"],
  ["db\\.t.*", "dbxt", "y", false, "escaped"],
  ["db.t1", "db", "t1", true, "bare dot still matches the separator"],

  // spaces around commas are trimmed (canal would keep them and never match)
  [" canal\\..* , mysql.test1 ", "canal", "a", true, "trimmed"],
  [" canal\\..* , mysql.test1 ", "mysql", "test1", true, "trimmed"],
  ["canal\\..*,", "canal", "a", true, "trailing comma"],
  ["db\\.my table", "db", "my table", true, "inner spaces are literal"],

  // canal's own unit tests (AviaterFilterTest)
  ["s1\\..*,s2\\..*", "s1", "t1", true, "test_regex"],
  ["s1\\..*,s2\\..*", "s12", "t1", false, "test_regex"],
  ["s1\\..*,s2\\..*", "s3", "t2", false, "test_regex"],
  ["s1\\..*,s2\\..*", "S1", "S2", true, "test_regex"],
  ["s1\\..*,s2\\..*", "S2", "S1", true, "test_regex"],
  ["s1\\..*,s2.t1", "s2", "t1", true, "test_regex"],
  [
    "otter2.otter_stability1|otter1.otter_stability1|retl.retl_mark|retl.retl_buffer|retl.xdual",
    "otter1",
    "otter_stability1",
    true,
    "test_regex filter4",
  ],
  ["test\\.order_\\d{1,2}", "test", "order_5", true, "comma in a quantifier"],
  ["test\\.order_\\d{1,2}", "test", "order_42", true, "comma in a quantifier"],
  ["test\\.order_\\d{1,2}", "test", "order_123", false, "comma in a quantifier"],
  ["test\\.order_\\d{1,2}", "test", "order_", false, "comma in a quantifier"],
  ["test\\.order_\\d{1,2},test\\.user_\\d+", "test", "order_7", true, "two patterns"],
  ["test\\.order_\\d{1,2},test\\.user_\\d+", "test", "user_99", true, "two patterns"],
  ["test\\.order_\\d{1,2},test\\.user_\\d+", "test", "order_123", false, "two patterns"],
  ["test\\.t_\\d{2,}", "test", "t_12", true, "open quantifier"],
  ["test\\.t_\\d{2,}", "test", "t_1", false, "open quantifier"],
  [
    "u\\..*,uvw\\..*,uv\\..*,a\\.x,a\\.xyz,a\\.xy,ab\\.x,ab\\.xyz,ab\\.xy",
    "u",
    "abc",
    true,
    "testDisordered",
  ],
  ["u\\..*,uvw\\..*,uv\\..*,a\\.x,a\\.xyz,a\\.xy,ab\\.x,ab\\.xyz,ab\\.xy", "ab", "x", true, "testDisordered"],
  [
    "u\\..*,uvw\\..*,uv\\..*,a\\.x,a\\.xyz,a\\.xy,ab\\.x,ab\\.xyz,ab\\.xy",
    "ab",
    "xyz1",
    false,
    "testDisordered",
  ],
  [
    "u\\..*,uvw\\..*,uv\\..*,a\\.x,a\\.xyz,a\\.xy,ab\\.x,ab\\.xyz,ab\\.xy",
    "uv",
    "xyz",
    true,
    "testDisordered",
  ],

  // other constructs
  ["(db1|db2)\\..*", "db2", "t", true, "group with alternation"],
  ["(db1|db2)\\..*", "db3", "t", false, "group with alternation"],
  ["db\\.[a,b]", "db", ",", true, "a comma inside [] does not split"],
  ["db\\.[a,b]", "db", "a", true, "a comma inside [] does not split"],
  ["db\\.[]]", "db", "]", true, "] first in a class is literal"],
  ["db\\.[^]]", "db", "x", true, "] first in a negated class is literal"],
  ["db\\.[^]]", "db", "]", false, "] first in a negated class is literal"],
  ["db\\.{x}", "db", "{x}", true, "{ that is not a quantifier is literal"],
  ["db\\.t$", "db", "t", true, "explicit $"],
  ["^db\\.t", "db", "t", true, "explicit ^"],
  ["(a)\\1\\.x,(b)\\1\\.y", "aa", "x", true, "backreference in the first pattern"],
  ["(a)\\1\\.x,(b)\\1\\.y", "bb", "y", true, "backreference renumbered in the second pattern"],
  ["(a)\\1\\.x,(b)\\1\\.y", "ab", "y", false, "backreference"],
  ["db(?#the schema)\\..*", "db", "t", true, "comment"],
  ["(?i)db\\..*", "DB", "t", true, "(?i) is a no-op"],
  ["\\w+\\.\\w+", "库", "表", true, "\\w is Unicode-aware, as in ORO (Java's isLetterOrDigit)"],
  ["[[:alpha:]]+\\.t", "école", "t", true, "POSIX class, Unicode-aware"],
  ["\\d+\\.t", "١٢", "t", true, "\\d is Java's isDigit"],
  ["db\\.\\S+", "db", "a b", false, "\\S"],
  ["db\\.a\\sb", "db", "a b", true, "\\s"],
  ["db\\.\\bt\\b", "db", "t", true, "word boundaries"],
  ["db\\.[\\W\\d]+", "db", "1-2", true, "class with a complemented member"],
  ["db\\.[\\W\\d]+", "db", "a", false, "class with a complemented member"],
  ["db\\.[^\\W\\d]+", "db", "ab", true, "negated class with a complemented member"],
  ["db\\.[^\\W\\d]+", "db", "a1", false, "negated class with a complemented member"],
  ["db\\.[[:^digit:]]+", "db", "ab", true, "negated POSIX class"],
  ["db\\.[[:^digit:]]+", "db", "a1", false, "negated POSIX class"],
  ["db\\.t\\d*?", "db", "t12", true, "lazy quantifier still full match"],
  ["db\\.(?=t)[a-z]+", "db", "tab", true, "lookahead"],
  ["db\\.(?!tmp_).*", "db", "tmp_1", false, "negative lookahead"],
  ["db\\.(?!tmp_).*", "db", "orders", true, "negative lookahead"],
];

test("table filter: canal's documented examples and tricky cases", () => {
  for (const [filter, schema, table, expected, why] of cases) {
    const f = parseTableFilter(filter);
    assert.equal(
      f.matches(schema, table),
      expected,
      `${JSON.stringify(filter)} vs ${schema}.${table}: ${why}`,
    );
    // the cached answer is the same
    assert.equal(f.matches(schema, table), expected, `${JSON.stringify(filter)} cached`);
  }
});

test("table filter: patterns are trimmed and sorted longest first, stably (canal's order)", () => {
  assert.deepEqual(parseTableFilter("a, abc ,ab").patterns, ["abc", "ab", "a"]);
  assert.deepEqual(parseTableFilter("x\\.b,y\\.a,zz\\..*").patterns, ["zz\\..*", "x\\.b", "y\\.a"]);
  assert.deepEqual(parseTableFilter("").patterns, []);
  assert.equal(parseTableFilter("").isEmpty, true);
  assert.equal(parseTableFilter("a\\.b").isEmpty, false);
});

test("table filter: the result does not depend on pattern order", () => {
  // canal's foooo|f.*t problem: with every pattern anchored as a whole, order cannot matter
  const names = ["fooooot", "foooo", "ft", "fo"];
  for (const filter of ["foooo,f.*t", "f.*t,foooo"]) {
    const f = parseTableFilter(filter);
    assert.deepEqual(
      names.map((n) => f.matchesName(n)),
      [true, true, true, false],
    );
  }
  const a = parseTableFilter("db\\.ab|db\\.a,db\\.abc");
  assert.equal(a.matches("db", "abc"), true, "a shorter alternative does not shadow a later pattern");
});

test("table filter: matchesName takes a joined name", () => {
  const f = parseTableFilter("canal\\..*");
  assert.equal(f.matchesName("canal.t"), true);
  assert.equal(f.matchesName("CANAL.T"), true);
  assert.equal(f.matchesName("other.t"), false);
});

test("table filter: a bounded cache gives the same answers", () => {
  const f = parseTableFilter("db\\.t\\d+", { cacheSize: 2 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) assert.equal(f.matches("db", `t${i}`), true);
    assert.equal(f.matches("db", "x"), false);
  }
  const uncached = parseTableFilter("db\\.t\\d+", { cacheSize: 0 });
  assert.equal(uncached.matches("db", "t1"), true);
  assert.throws(() => parseTableFilter("a", { cacheSize: -1 }), RangeError);
});

test("splitTablePatterns: top-level commas only", () => {
  const split: [string, string[]][] = [
    ["a,b", ["a", "b"]],
    [" a , b ,", ["a", "b"]],
    ["a\\,b", ["a\\,b"]],
    ["t_\\d{1,2},x", ["t_\\d{1,2}", "x"]],
    ["(a,b),c", ["(a,b)", "c"]],
    ["[,],c", ["[,]", "c"]],
    ["[]],x", ["[]]", "x"]],
    ["[^]],x", ["[^]]", "x"]],
    ["[[:alpha:],]x,y", ["[[:alpha:],]x", "y"]],
    ["[(],x", ["[(]", "x"]],
    ["a),b", ["a)", "b"]],
    ["db.(t,x", ["db.(t,x"]],
    ["", []],
    [",,,", []],
  ];
  for (const [text, expected] of split) assert.deepEqual(splitTablePatterns(text), expected, text);
});

test("table filter: a regex too large to compile is refused when parsed, named by its start (not at its first match)", () => {
  // V8 compiles a regex on first use; a pattern of 100,000 characters parses, then fails there.
  for (const text of ["x".repeat(100_000), `a,${"y".repeat(60_000)},${"z".repeat(60_000)}`]) {
    assert.throws(
      () => parseTableFilter(text),
      (e: Error) =>
        e.name === "FilterError" &&
        /^filter: ".{128}\.\.\. \(\d+ characters\)" is not a valid regex: Regular expression too large$/.test(
          e.message,
        ),
    );
  }
});
