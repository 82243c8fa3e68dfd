// Java's .properties syntax as java.util.Properties.load reads it (the cases come from its
// documentation): separators, comments, continuations, escapes, duplicates, ISO-8859-1.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseJavaProperties, readJavaProperties } from "../../../src/server/config/java-properties.js";

/** The last value of each key, as Properties.getProperty sees them. */
function props(text: string): Record<string, string> {
  const { entries, problems } = parseJavaProperties(text);
  assert.deepEqual(problems, []);
  return Object.fromEntries(entries.map((e) => [e.key, e.value]));
}

test("separators: =, :, whitespace, and whitespace around = or :", () => {
  assert.deepEqual(
    props(
      [
        "a=1",
        "b:2",
        "c 3",
        "d\t4",
        "e = 5",
        "f   :   6",
        "g\f=\f7",
        "h==8",
        "i = = 9",
        "j",
        "k=",
        "  l = leading whitespace skipped",
        "m = trailing kept  ",
      ].join("\n"),
    ),
    {
      a: "1",
      b: "2",
      c: "3",
      d: "4",
      e: "5",
      f: "6",
      g: "7",
      h: "=8",
      i: "= 9",
      j: "",
      k: "",
      l: "leading whitespace skipped",
      m: "trailing kept  ",
    },
  );
});

test("comments and blank lines: # and ! at the start of a line, after whitespace too", () => {
  assert.deepEqual(props("# a comment\n  ! another\n\n   \t\nkey = v # not a comment\n"), {
    key: "v # not a comment",
  });
});

test("continuations: an odd number of trailing backslashes joins the next line, without its indent", () => {
  assert.deepEqual(
    props(
      [
        "fruits = apple, banana, \\",
        "         pear, \\",
        "         cherry",
        "even = ends in one backslash \\\\",
        "next = separate",
        "# comment \\",
        "not.continued = yes",
        "multi\\",
        "  key = joined key",
        "empty.next = a\\",
        "",
        "after = blank line ends it",
      ].join("\n"),
    ),
    {
      fruits: "apple, banana, pear, cherry",
      even: "ends in one backslash \\",
      next: "separate",
      "not.continued": "yes",
      multikey: "joined key",
      "empty.next": "a",
      after: "blank line ends it",
    },
  );
  // A continued line is never a comment; a trailing backslash at the end of the file goes.
  assert.deepEqual(props("a = 1\\\n  # part of a\nb = 2\\"), { a: "1# part of a", b: "2" });
});

test("line ends: \\n, \\r\\n and \\r", () => {
  assert.deepEqual(props("a=1\r\nb=2\rc=3\\\r\n  4\n"), { a: "1", b: "2", c: "34" });
});

test("escapes: \\t \\n \\r \\f, \\uXXXX, escaped separators in keys, other \\x is x", () => {
  assert.deepEqual(
    props(
      [
        "tabs = a\\tb\\nc\\rd\\fe",
        "unicode = caf\\u00e9 \\u4e2d\\u6587",
        "key\\ with\\ spaces = 1",
        "key\\=with\\:seps = 2",
        "regex = .*\\\\..*",
        "other = \\q\\#\\!",
        "\\u0041 = key escape",
      ].join("\n"),
    ),
    {
      tabs: "a\tb\nc\rd\fe",
      unicode: "café 中文",
      "key with spaces": "1",
      "key=with:seps": "2",
      regex: ".*\\..*",
      other: "q#!",
      A: "key escape",
    },
  );
});

test("a malformed \\u escape is an error naming its line; the other lines are read", () => {
  const { entries, problems } = parseJavaProperties("ok = 1\nbad = \\u12g4\nalso.ok = 2\n");
  assert.deepEqual(
    entries.map((e) => e.key),
    ["ok", "also.ok"],
  );
  assert.equal(problems.length, 1);
  assert.equal(problems[0]?.line, 2);
  assert.match(problems[0]?.message as string, /malformed \\uxxxx escape "\\u12g4"/);
});

test("every entry keeps the line it starts on; a key given twice is listed twice (the last wins)", () => {
  const { entries } = parseJavaProperties("# c\na = 1\nb = x\\\n  y\na = 2\n");
  assert.deepEqual(entries, [
    { key: "a", value: "1", line: 2 },
    { key: "b", value: "xy", line: 3 },
    { key: "a", value: "2", line: 5 },
  ]);
  assert.deepEqual(props("a = 1\na = 2"), { a: "2" });
});

test("a file is read as ISO-8859-1, as Properties.load(InputStream) does", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-props-"));
  try {
    const file = join(dir, "x.properties");
    // "é" as UTF-8 is two bytes; Java sees two ISO-8859-1 characters, and so does this.
    writeFileSync(
      file,
      Buffer.concat([Buffer.from("a = "), Buffer.from("é", "utf8"), Buffer.from("\nb = \\u00e9\n")]),
    );
    const { entries } = readJavaProperties(file);
    assert.equal(entries[0]?.value, "Ã©");
    assert.equal(entries[1]?.value, "é");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
