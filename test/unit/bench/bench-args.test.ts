import assert from "node:assert/strict";
import test from "node:test";
import { parseArgs } from "../../../bench/decode/common.js";

test("a bench's options: values after a space or '=', flags alone, and an unknown option refused by name", () => {
  const known = ["rows", "datadir", "keep"];
  const a = parseArgs(["--rows", "1k", "--datadir=/tmp/x", "--keep"], known);
  assert.deepEqual(
    [...a],
    [
      ["rows", "1k"],
      ["datadir", "/tmp/x"],
      ["keep", ""],
    ],
  );
  assert.throws(
    () => parseArgs(["--rows", "1k", "--row", "2"], known),
    /unknown option --row \(--help lists/,
  );
  assert.throws(() => parseArgs(["rows"], known), /unexpected argument: rows/);
});
