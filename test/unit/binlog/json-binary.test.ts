// MySQL binary JSON -> text, and partial-update diffs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyJsonDiffs, parseJsonDiffs, renderJsonBinary } from "../../../src/server/binlog/json-binary.js";

// A test-side serializer of MySQL's binary JSON (sql-common/json_binary.cc), small or large.
type J =
  | { t: "obj"; entries: [string, J][] }
  | { t: "arr"; items: J[] }
  | { t: "lit"; v: null | boolean }
  | { t: "i16" | "u16" | "i32" | "u32"; v: number }
  | { t: "i64" | "u64"; v: bigint }
  | { t: "dbl"; v: number }
  | { t: "str"; v: string }
  | { t: "opaque"; fieldType: number; data: Buffer };

const TYPE = {
  obj: 0,
  arr: 2,
  lit: 4,
  i16: 5,
  u16: 6,
  i32: 7,
  u32: 8,
  i64: 9,
  u64: 10,
  dbl: 11,
  str: 12,
  opaque: 15,
};

function varLen(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function typeOf(v: J, large: boolean): number {
  if (v.t === "obj") return large ? 1 : 0;
  if (v.t === "arr") return large ? 3 : 2;
  return TYPE[v.t];
}

function inlined(v: J, large: boolean): boolean {
  return v.t === "lit" || v.t === "i16" || v.t === "u16" || (large && (v.t === "i32" || v.t === "u32"));
}

function scalar(v: J): Buffer {
  switch (v.t) {
    case "i32": {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v.v);
      return b;
    }
    case "u32": {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v.v);
      return b;
    }
    case "i64": {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(v.v);
      return b;
    }
    case "u64": {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(v.v);
      return b;
    }
    case "dbl": {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v.v);
      return b;
    }
    case "str": {
      const s = Buffer.from(v.v, "utf8");
      return Buffer.concat([varLen(s.length), s]);
    }
    case "opaque":
      return Buffer.concat([Buffer.from([v.fieldType]), varLen(v.data.length), v.data]);
    default:
      throw new Error(`not a scalar ${v.t}`);
  }
}

function container(v: J, large: boolean): Buffer {
  const os = large ? 4 : 2;
  const isObj = v.t === "obj";
  const entries: [string | undefined, J][] = isObj
    ? v.entries
    : v.t === "arr"
      ? v.items.map((x) => [undefined, x])
      : [];
  const n = entries.length;
  const headerLen = 2 * os + (isObj ? n * (os + 2) : 0) + n * (1 + os);
  const keyBytes = entries.map(([k]) => (k === undefined ? Buffer.alloc(0) : Buffer.from(k, "utf8")));
  let offset = headerLen + keyBytes.reduce((a, b) => a + b.length, 0);
  const valueBlobs: Buffer[] = [];
  const valueEntries: Buffer[] = [];
  for (const [, val] of entries) {
    const e = Buffer.alloc(1 + os);
    e[0] = typeOf(val, large);
    if (inlined(val, large)) {
      if (val.t === "lit") e[1] = val.v === null ? 0 : val.v ? 1 : 2;
      else if (val.t === "i16") e.writeInt16LE(val.v, 1);
      else if (val.t === "u16") e.writeUInt16LE(val.v, 1);
      else if (val.t === "i32") e.writeInt32LE(val.v, 1);
      else if (val.t === "u32") e.writeUInt32LE(val.v, 1);
    } else {
      const blob = val.t === "obj" || val.t === "arr" ? container(val, large) : scalar(val);
      if (large) e.writeUInt32LE(offset, 1);
      else e.writeUInt16LE(offset, 1);
      valueBlobs.push(blob);
      offset += blob.length;
    }
    valueEntries.push(e);
  }
  const head = Buffer.alloc(2 * os);
  const keyEntries: Buffer[] = [];
  let koff = headerLen;
  for (const k of keyBytes) {
    if (!isObj) break;
    const e = Buffer.alloc(os + 2);
    if (large) e.writeUInt32LE(koff, 0);
    else e.writeUInt16LE(koff, 0);
    e.writeUInt16LE(k.length, os);
    keyEntries.push(e);
    koff += k.length;
  }
  if (large) {
    head.writeUInt32LE(n, 0);
    head.writeUInt32LE(offset, 4);
  } else {
    head.writeUInt16LE(n, 0);
    head.writeUInt16LE(offset, 2);
  }
  return Buffer.concat([head, ...keyEntries, ...valueEntries, ...(isObj ? keyBytes : []), ...valueBlobs]);
}

function doc(v: J, large = false): Buffer {
  if (v.t === "obj" || v.t === "arr")
    return Buffer.concat([Buffer.from([typeOf(v, large)]), container(v, large)]);
  if (v.t === "lit") return Buffer.from([TYPE.lit, v.v === null ? 0 : v.v ? 1 : 2]);
  if (v.t === "i16" || v.t === "u16") {
    const b = Buffer.alloc(3);
    b[0] = TYPE[v.t];
    if (v.t === "i16") b.writeInt16LE(v.v, 1);
    else b.writeUInt16LE(v.v, 1);
    return b;
  }
  return Buffer.concat([Buffer.from([TYPE[v.t]]), scalar(v)]);
}

const render = (b: Buffer) => renderJsonBinary(b, 0, b.length);
const s = (v: string): J => ({ t: "str", v });
const i16 = (v: number): J => ({ t: "i16", v });

/** MySQL's packed DATETIME: ((ymd << 17 | hms) << 24) + usec */
function packedDatetime(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  sec: number,
  us: number,
): Buffer {
  const ymd = BigInt(((y * 13 + mo) << 5) | d);
  const hms = BigInt((h << 12) | (mi << 6) | sec);
  const b = Buffer.alloc(8);
  b.writeBigInt64LE((((ymd << 17n) | hms) << 24n) + BigInt(us));
  return b;
}

describe("binary JSON rendering", () => {
  const nested: J = {
    t: "obj",
    entries: [
      ["a", i16(1)],
      ["d", { t: "dbl", v: 1.5 }],
      [
        "arr",
        { t: "arr", items: [s("x"), { t: "lit", v: true }, { t: "lit", v: null }, { t: "lit", v: false }] },
      ],
      ["big", { t: "i64", v: 9223372036854775807n }],
      ["neg", { t: "i64", v: -9223372036854775808n }],
      ["u64", { t: "u64", v: 18446744073709551615n }],
      ["i32", { t: "i32", v: -2147483648 }],
      ["u32", { t: "u32", v: 4294967295 }],
      ["u16", { t: "u16", v: 65535 }],
      [
        "obj",
        {
          t: "obj",
          entries: [
            ["k", { t: "arr", items: [] }],
            ["e", { t: "obj", entries: [] }],
          ],
        },
      ],
    ],
  };
  const want =
    '{"a": 1, "d": 1.5, "arr": ["x", true, null, false], "big": 9223372036854775807, "neg": -9223372036854775808, ' +
    '"u64": 18446744073709551615, "i32": -2147483648, "u32": 4294967295, "u16": 65535, "obj": {"k": [], "e": {}}}';

  test("nested small document with every scalar type, keys in stored order", () => {
    assert.equal(render(doc(nested)), want);
  });

  test("the same document in the large format", () => {
    assert.equal(render(doc(nested, true)), want);
  });

  test("top-level scalars, doubles as MySQL prints them", () => {
    assert.equal(render(doc({ t: "dbl", v: 1 })), "1.0");
    assert.equal(render(doc({ t: "dbl", v: 1e300 })), "1e300");
    assert.equal(render(doc({ t: "dbl", v: -1.5e-7 })), "-0.00000015");
    assert.equal(render(doc({ t: "dbl", v: 0.1 })), "0.1");
    assert.equal(render(doc({ t: "lit", v: null })), "null");
    assert.equal(render(doc(i16(-5))), "-5");
    assert.equal(render(doc(s(""))), '""');
    assert.equal(render(Buffer.alloc(0)), "null", "empty document reads as JSON null");
  });

  test("string escaping follows MySQL's double_quote()", () => {
    assert.equal(
      render(doc(s('"\\\n\u0001\b\f\r\t\u001f/é😀\u007f'))),
      '"\\"\\\\\\n\\u0001\\b\\f\\r\\t\\u001f/é😀\u007f"',
    );
    assert.equal(render(doc({ t: "obj", entries: [['k"\n', s("v")]] })), '{"k\\"\\n": "v"}');
  });

  test("long strings use multi-byte lengths", () => {
    const long = "x".repeat(70000);
    assert.equal(render(doc({ t: "arr", items: [s(long)] }, true)), `["${long}"]`);
  });

  test("opaque values: DECIMAL unquoted with its scale, temporals quoted, others base64", () => {
    // DECIMAL(10,2) 1.50: intg 8 -> 4 bytes, frac 2 -> 1 byte: 80000001 32
    const decData = Buffer.from([10, 2, 0x80, 0x00, 0x00, 0x01, 0x32]);
    assert.equal(render(doc({ t: "opaque", fieldType: 246, data: decData })), "1.50");
    assert.equal(
      render(doc({ t: "opaque", fieldType: 12, data: packedDatetime(2024, 6, 15, 12, 34, 56, 789000) })),
      '"2024-06-15 12:34:56.789000"',
    );
    assert.equal(
      render(doc({ t: "opaque", fieldType: 10, data: packedDatetime(2024, 6, 15, 0, 0, 0, 0) })),
      '"2024-06-15"',
    );
    const time = Buffer.alloc(8);
    time.writeBigInt64LE(-((BigInt((1 << 12) | (2 << 6) | 3) << 24n) + 500000n));
    assert.equal(render(doc({ t: "opaque", fieldType: 11, data: time })), '"-01:02:03.500000"');
    assert.equal(render(doc({ t: "opaque", fieldType: 253, data: Buffer.from("vs") })), '"vs"');
    assert.equal(
      render(doc({ t: "opaque", fieldType: 252, data: Buffer.from([0xde, 0xad]) })),
      '"base64:type252:3q0="',
    );
  });

  test("corrupt documents throw", () => {
    const good = doc(nested);
    assert.throws(() => render(good.subarray(0, good.length - 5)));
    assert.throws(() => render(Buffer.from([99, 0])));
  });
});

describe("partial JSON updates", () => {
  function diffBytes(diffs: [number, string, Buffer?][]): Buffer {
    const parts: Buffer[] = [];
    for (const [op, path, value] of diffs) {
      const p = Buffer.from(path, "utf8");
      parts.push(Buffer.from([op, p.length]), p);
      if (value) parts.push(Buffer.from([value.length]), value);
    }
    return Buffer.concat(parts);
  }

  test("parse and apply replace / insert / remove", () => {
    const before = '{"a": 1, "b": [1, 2, 3], "c": {"x": "y"}}';
    const bytes = diffBytes([
      [0, "$.a", doc(s("one"))],
      [1, "$.b[1]", doc(i16(9))],
      [2, "$.c.x"],
      [1, '$."new key"', doc({ t: "lit", v: true })],
      [1, "$.z", doc(i16(0))],
      [0, "$.b[last]", doc(i16(7))],
    ]);
    const diffs = parseJsonDiffs(bytes, 0, bytes.length);
    assert.deepEqual(diffs[0], { op: "replace", path: "$.a", value: '"one"' });
    assert.deepEqual(diffs[2], { op: "remove", path: "$.c.x" });
    assert.equal(
      applyJsonDiffs(before, diffs),
      '{"a": "one", "b": [1, 9, 2, 7], "c": {}, "z": 0, "new key": true}',
    );
  });

  test("a diff that cannot be applied yields undefined (never a guessed value)", () => {
    assert.equal(applyJsonDiffs('{"a": 1}', [{ op: "replace", path: "$.missing", value: "1" }]), undefined);
    assert.equal(applyJsonDiffs('{"a": 1}', [{ op: "remove", path: "$.a[0]" }]), undefined);
    assert.equal(applyJsonDiffs('{"a": 1}', [{ op: "replace", path: "$**.a", value: "1" }]), undefined);
  });
});
