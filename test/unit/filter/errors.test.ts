import assert from "node:assert/strict";
import { test } from "node:test";
import { EventFilter, type EventFilterOptions, FilterError } from "../../../src/server/filter/index.js";

const ORO = "not supported by canal's regex engine (Jakarta ORO)";

// [options, exact message, field, part]
type Case = [EventFilterOptions, string, FilterError["field"], string];

const cases: Case[] = [
  // regex syntax
  [{ filter: "db.(t" }, 'filter: "db.(t" is not a valid regex: missing ")"', "filter", "db.(t"],
  [{ filter: "db.t)" }, 'filter: "db.t)" is not a valid regex: unmatched ")"', "filter", "db.t)"],
  [{ filter: "db\\.[t" }, 'filter: "db\\.[t" is not a valid regex: missing "]"', "filter", "db\\.[t"],
  [{ filter: "db\\.[\\" }, 'filter: "db\\.[\\" is not a valid regex: missing "]"', "filter", "db\\.[\\"],
  [{ filter: "*db" }, 'filter: "*db" is not a valid regex: quantifier "*" follows nothing', "filter", "*db"],
  [
    { filter: "a|+b" },
    'filter: "a|+b" is not a valid regex: quantifier "+" follows nothing',
    "filter",
    "a|+b",
  ],
  [{ filter: "db**" }, 'filter: "db**" is not a valid regex: nested quantifier "**"', "filter", "db**"],
  [
    { filter: "db{2}*" },
    'filter: "db{2}*" is not a valid regex: nested quantifier "{2}*"',
    "filter",
    "db{2}*",
  ],
  [{ filter: "db*?+" }, 'filter: "db*?+" is not a valid regex: nested quantifier "*?+"', "filter", "db*?+"],
  [{ filter: "db\\" }, 'filter: "db\\" is not a valid regex: ends with a lone backslash', "filter", "db\\"],
  [
    { filter: "a{3,2}" },
    'filter: "a{3,2}" is not a valid regex: repetition "{3,2}" has its bounds out of order',
    "filter",
    "a{3,2}",
  ],
  [
    { filter: "a{70000}" },
    'filter: "a{70000}" is not a valid regex: repetition "{70000}" is larger than 65535',
    "filter",
    "a{70000}",
  ],
  [
    { filter: "db\\.[z-a]" },
    'filter: "db\\.[z-a]" is not a valid regex: range "z-a" is out of order',
    "filter",
    "db\\.[z-a]",
  ],
  [
    { filter: "db\\.[a-\\d]" },
    'filter: "db\\.[a-\\d]" is not a valid regex: range "a-\\d" ends in a character class',
    "filter",
    "db\\.[a-\\d]",
  ],
  [
    { filter: "db\\.[[:foo:]]" },
    'filter: "db\\.[[:foo:]]" is not a valid regex: unknown POSIX class "[:foo:]"',
    "filter",
    "db\\.[[:foo:]]",
  ],
  [
    { filter: "db\\.[[:^alpha:]x]" },
    'filter: "db\\.[[:^alpha:]x]" is not a valid regex: "[:^alpha:]" must be the only member of its bracket expression',
    "filter",
    "db\\.[[:^alpha:]x]",
  ],
  [
    { filter: "db\\.\\1" },
    'filter: "db\\.\\1" is not a valid regex: backreference "\\1" refers to group 1, but only 0 group(s) are opened before it',
    "filter",
    "db\\.\\1",
  ],
  [
    { filter: "db\\.\\89" },
    'filter: "db\\.\\89" is not a valid regex: "\\89" is neither a backreference nor an octal escape',
    "filter",
    "db\\.\\89",
  ],
  [
    { filter: "db\\.[\\8]" },
    'filter: "db\\.[\\8]" is not a valid regex: "\\8" is not a valid escape in a bracket expression',
    "filter",
    "db\\.[\\8]",
  ],
  [
    { filter: "db\\.\\xg" },
    'filter: "db\\.\\xg" is not a valid regex: "\\x" must be followed by one or two hex digits',
    "filter",
    "db\\.\\xg",
  ],
  [
    { filter: "db\\.[\\x]" },
    'filter: "db\\.[\\x]" is not a valid regex: "\\x" must be followed by one or two hex digits',
    "filter",
    "db\\.[\\x]",
  ],
  [
    { filter: "db\\.\\c" },
    'filter: "db\\.\\c" is not a valid regex: "\\c" must be followed by a character',
    "filter",
    "db\\.\\c",
  ],
  [
    { filter: "db\\.t\\z" },
    'filter: "db\\.t\\z" is not a valid regex: "\\z" is not an escape canal\'s regex engine knows (it would match a plain "z"); write "z" if that is what you mean',
    "filter",
    "db\\.t\\z",
  ],
  [
    { filter: "\\Qdb.t\\E" },
    'filter: "\\Qdb.t\\E" is not a valid regex: "\\Q" is not an escape canal\'s regex engine knows (it would match a plain "Q"); write "Q" if that is what you mean',
    "filter",
    "\\Qdb.t\\E",
  ],
  [
    { filter: "db\\.[\\p]" },
    'filter: "db\\.[\\p]" is not a valid regex: "\\p" is not an escape canal\'s regex engine knows (it would match a plain "p"); write "p" if that is what you mean',
    "filter",
    "db\\.[\\p]",
  ],
  [{ filter: "\\Gdb" }, 'filter: "\\Gdb" is not a valid regex: "\\G" is not supported', "filter", "\\Gdb"],
  [
    { filter: "db\\.(?<=d)t" },
    `filter: "db\\.(?<=d)t" is not a valid regex: "(?<=": lookbehind is ${ORO}`,
    "filter",
    "db\\.(?<=d)t",
  ],
  [
    { filter: "db\\.(?<!d)t" },
    `filter: "db\\.(?<!d)t" is not a valid regex: "(?<!": lookbehind is ${ORO}`,
    "filter",
    "db\\.(?<!d)t",
  ],
  [
    { filter: "(?<s>db)\\..*" },
    `filter: "(?<s>db)\\..*" is not a valid regex: "(?<s": named groups are ${ORO}`,
    "filter",
    "(?<s>db)\\..*",
  ],
  [
    { filter: "(?P<s>db)\\..*" },
    `filter: "(?P<s>db)\\..*" is not a valid regex: "(?P<": named groups are ${ORO}`,
    "filter",
    "(?P<s>db)\\..*",
  ],
  [
    { filter: "(?>db)\\..*" },
    `filter: "(?>db)\\..*" is not a valid regex: "(?>d": atomic groups are ${ORO}`,
    "filter",
    "(?>db)\\..*",
  ],
  [
    { filter: "(?i:db)\\..*" },
    `filter: "(?i:db)\\..*" is not a valid regex: "(?i:": scoped modifiers are ${ORO}`,
    "filter",
    "(?i:db)\\..*",
  ],
  [
    { filter: "(?-i)db\\..*" },
    `filter: "(?-i)db\\..*" is not a valid regex: "(?-i": turning modifiers off is ${ORO}`,
    "filter",
    "(?-i)db\\..*",
  ],
  [
    { filter: "(?Qdb)" },
    `filter: "(?Qdb)" is not a valid regex: "(?Qd": this group syntax is ${ORO}`,
    "filter",
    "(?Qdb)",
  ],
  [
    { filter: "(?m)db\\..*" },
    'filter: "(?m)db\\..*" is not a valid regex: modifier "(?m)" is not supported (canal applies it to every pattern of the filter)',
    "filter",
    "(?m)db\\..*",
  ],
  [
    { filter: "(?x)db \\..*" },
    'filter: "(?x)db \\..*" is not a valid regex: modifier "(?x)" is not supported (canal applies it to every pattern of the filter)',
    "filter",
    "(?x)db \\..*",
  ],
  [
    { filter: "db(?#schema" },
    'filter: "db(?#schema" is not a valid regex: comment "(?#" is not closed',
    "filter",
    "db(?#schema",
  ],
  [
    { filter: "db\\.(a+)+" },
    'filter: "db\\.(a+)+" is not a valid regex: "+" repeats a group that already contains an unbounded repetition (catastrophic backtracking); rewrite it without the nesting',
    "filter",
    "db\\.(a+)+",
  ],
  [
    { filter: "db\\.((a|b)*c){2}" },
    'filter: "db\\.((a|b)*c){2}" is not a valid regex: "{2}" repeats a group that already contains an unbounded repetition (catastrophic backtracking); rewrite it without the nesting',
    "filter",
    "db\\.((a|b)*c){2}",
  ],
  // only the bad pattern is named, trimmed; other options are named by their own field
  [{ filter: "good\\..*, bad( " }, 'filter: "bad(" is not a valid regex: missing ")"', "filter", "bad("],
  [
    { blackFilter: "mysql\\..*,x(" },
    'blackFilter: "x(" is not a valid regex: missing ")"',
    "blackFilter",
    "x(",
  ],
  // field filters
  [
    { fieldFilter: "db.t" },
    'fieldFilter: "db.t" has no ":" (expected schema.table:column1/column2)',
    "fieldFilter",
    "db.t",
  ],
  [
    { fieldFilter: "db.t:c1:c2" },
    'fieldFilter: "db.t:c1:c2" has more than one ":" (expected schema.table:column1/column2)',
    "fieldFilter",
    "db.t:c1:c2",
  ],
  [{ fieldFilter: " :c1" }, 'fieldFilter: ":c1" has no table name before ":"', "fieldFilter", ":c1"],
  [
    { fieldFilter: "t:c1" },
    'fieldFilter: "t:c1" names "t", which is not a schema.table name',
    "fieldFilter",
    "t:c1",
  ],
  [
    { fieldFilter: ".t:c1" },
    'fieldFilter: ".t:c1" names ".t", which is not a schema.table name',
    "fieldFilter",
    ".t:c1",
  ],
  [
    { fieldFilter: "db.:c1" },
    'fieldFilter: "db.:c1" names "db.", which is not a schema.table name',
    "fieldFilter",
    "db.:c1",
  ],
  [
    { fieldFilter: "db\\..*:c1" },
    'fieldFilter: "db\\..*:c1" names "db\\..*": field filters take exact schema.table names, not regexes',
    "fieldFilter",
    "db\\..*:c1",
  ],
  [{ fieldFilter: "db.t:" }, 'fieldFilter: "db.t:" has no column names after ":"', "fieldFilter", "db.t:"],
  [
    { fieldFilter: "db.t:c1//c2" },
    'fieldFilter: "db.t:c1//c2" has an empty column name (columns are separated by "/")',
    "fieldFilter",
    "db.t:c1//c2",
  ],
  [
    { fieldFilter: "db.t:c1/" },
    'fieldFilter: "db.t:c1/" has an empty column name (columns are separated by "/")',
    "fieldFilter",
    "db.t:c1/",
  ],
  [
    { fieldFilter: "db.t:c1,DB.T:c2" },
    'fieldFilter: "DB.T:c2" lists table "DB.T" a second time',
    "fieldFilter",
    "DB.T:c2",
  ],
  [
    { fieldBlackFilter: "db.t:c1,x" },
    'fieldBlackFilter: "x" has no ":" (expected schema.table:column1/column2)',
    "fieldBlackFilter",
    "x",
  ],
];

test("every invalid filter throws FilterError naming the field and the bad part", () => {
  for (const [options, message, field, part] of cases) {
    assert.throws(
      () => new EventFilter(options),
      (e: unknown) => {
        assert.ok(e instanceof FilterError, `${message}: not a FilterError: ${String(e)}`);
        assert.equal(e.message, message);
        assert.equal(e.field, field);
        assert.equal(e.part, part);
        assert.equal(e.message, `${field}: "${part}" ${e.reason}`);
        assert.equal(e.name, "FilterError");
        return true;
      },
      message,
    );
  }
});

test("options are checked in order: filter, blackFilter, fieldFilter, fieldBlackFilter", () => {
  assert.throws(
    () => new EventFilter({ filter: "a(", blackFilter: "b(", fieldFilter: "x", fieldBlackFilter: "y" }),
    { name: "FilterError", message: 'filter: "a(" is not a valid regex: missing ")"' },
  );
  assert.throws(() => new EventFilter({ blackFilter: "b(", fieldFilter: "x" }), {
    message: 'blackFilter: "b(" is not a valid regex: missing ")"',
  });
  assert.throws(() => new EventFilter({ fieldFilter: "x", fieldBlackFilter: "y" }), {
    message: 'fieldFilter: "x" has no ":" (expected schema.table:column1/column2)',
  });
});

test("a bad cache size is a RangeError, not a FilterError", () => {
  assert.throws(() => new EventFilter({ cacheSize: 1.5 }), RangeError);
});
