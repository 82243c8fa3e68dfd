import assert from "node:assert/strict";
import { test } from "node:test";
import { parseLabels } from "../../../src/server/schema/information-schema.js";

test("enum and set labels are read as the server quotes them", () => {
  // COLUMN_TYPE exactly as MariaDB 10.11 prints it for ENUM('a,b','c''d','e\\f','plain','x)y').
  assert.deepEqual(parseLabels("enum('a,b','c''d','e\\\\f','plain','x)y')"), [
    "a,b",
    "c'd",
    "e\\f",
    "plain",
    "x)y",
  ]);
  assert.deepEqual(parseLabels("set('p','q')"), ["p", "q"]);
  assert.deepEqual(parseLabels("enum('')"), [""]);
  assert.deepEqual(parseLabels("int(11)"), []);
});
