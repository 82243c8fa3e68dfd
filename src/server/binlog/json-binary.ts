// MySQL binary JSON (MYSQL_TYPE_JSON, 245) -> text exactly as MySQL prints it
// (sql-common/json_binary.cc for the format, sql-common/json_dom.cc wrapper_to_string for
// the text): `{"a": 1, "arr": ["x", true, null]}` with ", " and ": " separators, object keys
// in stored order (MySQL stores them sorted by length, then bytes), doubles via my_gcvt with
// ".0" appended to integral values, DECIMAL opaques unquoted with their stored scale, DATE /
// TIME / DATETIME / TIMESTAMP opaques quoted (times with 6 fraction digits), other opaques as
// "base64:typeNN:…", strings escaped as MySQL's double_quote() does (\" \\ \b \f \n \r \t and
// \u00XX for other bytes <= 0x1F, everything else verbatim).
//
// Also: partial JSON updates (PARTIAL_UPDATE_ROWS_EVENT diffs) parsed and applied to a
// before-image document through a small DOM.

import { readPacked } from "./buffer-reader.js";
import { utf8Text } from "./charsets.js";
import { decodeDecimal } from "./decimal.js";
import { BinlogDecodeError, fail } from "./errors.js";
import { formatJsonDouble } from "./float-format.js";
import { formatPackedDatetime, formatPackedTime } from "./temporal.js";

enum J {
  SMALL_OBJECT = 0,
  LARGE_OBJECT = 1,
  SMALL_ARRAY = 2,
  LARGE_ARRAY = 3,
  LITERAL = 4,
  INT16 = 5,
  UINT16 = 6,
  INT32 = 7,
  UINT32 = 8,
  INT64 = 9,
  UINT64 = 10,
  DOUBLE = 11,
  STRING = 12,
  OPAQUE = 15,
}

const MAX_DEPTH = 150;

/** Renders a binary JSON document occupying buf[start, end). Empty documents render as "null". */
export function renderJsonBinary(buf: Buffer, start: number, end: number): string {
  if (end <= start) return "null";
  const type = buf[start] as number;
  return renderValue(buf, type, start + 1, end, 0);
}

function corrupt(what: string): never {
  throw new BinlogDecodeError(`corrupt binary JSON: ${what}`);
}

/** Renders the value of `type` whose data starts at `pos` (container data ends at `end`). */
function renderValue(buf: Buffer, type: number, pos: number, end: number, depth: number): string {
  switch (type) {
    case J.SMALL_OBJECT:
    case J.LARGE_OBJECT:
      return renderContainer(buf, pos, end, type === J.LARGE_OBJECT, true, depth);
    case J.SMALL_ARRAY:
    case J.LARGE_ARRAY:
      return renderContainer(buf, pos, end, type === J.LARGE_ARRAY, false, depth);
    case J.LITERAL:
      if (pos >= end) corrupt("truncated literal");
      return literal(buf[pos] as number);
    case J.INT16:
      if (pos + 2 > end) corrupt("truncated int16");
      return `${buf.readInt16LE(pos)}`;
    case J.UINT16:
      if (pos + 2 > end) corrupt("truncated uint16");
      return `${buf.readUInt16LE(pos)}`;
    case J.INT32:
      if (pos + 4 > end) corrupt("truncated int32");
      return `${buf.readInt32LE(pos)}`;
    case J.UINT32:
      if (pos + 4 > end) corrupt("truncated uint32");
      return `${buf.readUInt32LE(pos)}`;
    case J.INT64:
      if (pos + 8 > end) corrupt("truncated int64");
      return buf.readBigInt64LE(pos).toString();
    case J.UINT64:
      if (pos + 8 > end) corrupt("truncated uint64");
      return buf.readBigUInt64LE(pos).toString();
    case J.DOUBLE:
      if (pos + 8 > end) corrupt("truncated double");
      return formatJsonDouble(buf.readDoubleLE(pos));
    case J.STRING: {
      const [len, p] = varLength(buf, pos, end);
      if (p + len > end) corrupt("truncated string");
      return quote(utf8Text(buf, p, p + len));
    }
    case J.OPAQUE:
      return renderOpaque(buf, pos, end);
    default:
      return corrupt(`unknown value type ${type}`);
  }
}

function literal(v: number): string {
  switch (v) {
    case 0:
      return "null";
    case 1:
      return "true";
    case 2:
      return "false";
    default:
      return corrupt(`unknown literal ${v}`);
  }
}

function varLength(buf: Buffer, pos: number, end: number): [number, number] {
  let len = 0;
  for (let i = 0; i < 5; i++) {
    if (pos + i >= end) corrupt("truncated length");
    const b = buf[pos + i] as number;
    len += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (len > 0xffffffff) corrupt("length too large");
      return [len, pos + i + 1];
    }
  }
  return corrupt("length too long");
}

function renderContainer(
  buf: Buffer,
  base: number,
  end: number,
  large: boolean,
  isObject: boolean,
  depth: number,
): string {
  if (depth >= MAX_DEPTH) corrupt("document nested too deeply");
  const os = large ? 4 : 2;
  if (base + 2 * os > end) corrupt("truncated container header");
  const count = large ? buf.readUInt32LE(base) : buf.readUInt16LE(base);
  const size = large ? buf.readUInt32LE(base + 4) : buf.readUInt16LE(base + 2);
  const cend = base + size;
  if (cend > end) corrupt("container larger than its document");
  const keyEntry = os + 2;
  const valueEntry = 1 + os;
  const keysAt = base + 2 * os;
  const valuesAt = keysAt + (isObject ? count * keyEntry : 0);
  if (valuesAt + count * valueEntry > cend) corrupt("truncated container entries");
  let out = isObject ? "{" : "[";
  for (let i = 0; i < count; i++) {
    if (i > 0) out += ", ";
    if (isObject) {
      const ke = keysAt + i * keyEntry;
      const koff = large ? buf.readUInt32LE(ke) : buf.readUInt16LE(ke);
      const klen = buf.readUInt16LE(ke + os);
      if (base + koff + klen > cend) corrupt("key out of bounds");
      out += `${quote(utf8Text(buf, base + koff, base + koff + klen))}: `;
    }
    out += renderEntry(buf, base, cend, valuesAt + i * valueEntry, large, depth);
  }
  return out + (isObject ? "}" : "]");
}

/** A value entry: type byte + inline value or offset (relative to the container base). */
function renderEntry(
  buf: Buffer,
  base: number,
  cend: number,
  entry: number,
  large: boolean,
  depth: number,
): string {
  const type = buf[entry] as number;
  const at = entry + 1;
  switch (type) {
    case J.LITERAL:
      return literal(buf[at] as number);
    case J.INT16:
      return `${buf.readInt16LE(at)}`;
    case J.UINT16:
      return `${buf.readUInt16LE(at)}`;
    case J.INT32:
      if (large) return `${buf.readInt32LE(at)}`;
      break;
    case J.UINT32:
      if (large) return `${buf.readUInt32LE(at)}`;
      break;
  }
  const off = large ? buf.readUInt32LE(at) : buf.readUInt16LE(at);
  if (base + off >= cend) corrupt("value offset out of bounds");
  return renderValue(buf, type, base + off, cend, depth + 1);
}

function renderOpaque(buf: Buffer, pos: number, end: number): string {
  if (pos >= end) corrupt("truncated opaque");
  const fieldType = buf[pos] as number;
  const [len, p] = varLength(buf, pos + 1, end);
  if (p + len > end) corrupt("truncated opaque data");
  switch (fieldType) {
    case 246: {
      // NEWDECIMAL: precision, scale, binary decimal
      if (len < 2) corrupt("short decimal opaque");
      return decodeDecimal(buf, p + 2, buf[p] as number, buf[p + 1] as number);
    }
    case 10: // DATE
    case 12: // DATETIME
    case 7: // TIMESTAMP
    case 11: {
      // TIME
      if (len < 8) corrupt("short temporal opaque");
      const packed = buf.readBigInt64LE(p);
      if (fieldType === 11) return `"${formatPackedTime(Number(packed), 6)}"`;
      return `"${formatPackedDatetime(packed, fieldType !== 10)}"`;
    }
    case 253: // VAR_STRING: printed as a plain JSON string
      return quote(utf8Text(buf, p, p + len));
    default:
      return quote(`base64:type${fieldType}:${buf.toString("base64", p, p + len)}`);
  }
}

/** MySQL's double_quote(). */
export function quote(s: string): string {
  let i = 0;
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x1f || c === 34 || c === 92) break;
  }
  if (i === n) return `"${s}"`;
  let out = `"${s.slice(0, i)}`;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x1f && c !== 34 && c !== 92) {
      out += s[i];
      continue;
    }
    switch (c) {
      case 34:
        out += '\\"';
        break;
      case 92:
        out += "\\\\";
        break;
      case 8:
        out += "\\b";
        break;
      case 9:
        out += "\\t";
        break;
      case 10:
        out += "\\n";
        break;
      case 12:
        out += "\\f";
        break;
      case 13:
        out += "\\r";
        break;
      default:
        out += `\\u00${c < 16 ? "0" : ""}${c.toString(16)}`;
    }
  }
  return `${out}"`;
}

// ---------------------------------------------------------------------------------------
// Partial JSON updates

export type JsonDiffOp = "replace" | "insert" | "remove";

export interface JsonDiff {
  op: JsonDiffOp;
  /** MySQL JSON path text, e.g. `$.a[1]."b c"`. */
  path: string;
  /** The new value as JSON text (absent for remove). */
  value?: string;
}

/** Parses the diff list of a partially updated JSON column (Json_diff_vector::read_binary). */
export function parseJsonDiffs(buf: Buffer, start: number, end: number): JsonDiff[] {
  const diffs: JsonDiff[] = [];
  let pos = start;
  while (pos < end) {
    const opCode = buf[pos++] as number;
    const op: JsonDiffOp | undefined =
      opCode === 0 ? "replace" : opCode === 1 ? "insert" : opCode === 2 ? "remove" : undefined;
    if (op === undefined) fail(`corrupt JSON diff: operation ${opCode}`);
    let pathLen: number;
    [pathLen, pos] = readPacked(buf, pos, end);
    if (pos + pathLen > end) fail("corrupt JSON diff: path out of bounds");
    const path = utf8Text(buf, pos, pos + pathLen);
    pos += pathLen;
    if (op === "remove") {
      diffs.push({ op, path });
      continue;
    }
    let valueLen: number;
    [valueLen, pos] = readPacked(buf, pos, end);
    if (pos + valueLen > end) fail("corrupt JSON diff: value out of bounds");
    diffs.push({ op, path, value: renderJsonBinary(buf, pos, pos + valueLen) });
    pos += valueLen;
  }
  return diffs;
}

// A tiny DOM over rendered JSON text, enough to apply diffs and print the result as MySQL does.
type Node = { t: "o"; keys: string[]; vals: Node[] } | { t: "a"; items: Node[] } | { t: "s"; text: string }; // scalar, already rendered

/** Parses JSON text produced by renderJsonBinary (well-formed, MySQL spacing) into a DOM. */
function parseText(text: string): Node {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\n")) i++;
  };
  const str = (): string => {
    const s = i;
    i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(s, i)) as string;
  };
  const value = (): Node => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const node: Node = { t: "o", keys: [], vals: [] };
      ws();
      if (text[i] === "}") {
        i++;
        return node;
      }
      for (;;) {
        ws();
        node.keys.push(str());
        ws();
        i++; // ':'
        node.vals.push(value());
        ws();
        if (text[i++] === "}") return node;
      }
    }
    if (c === "[") {
      i++;
      const node: Node = { t: "a", items: [] };
      ws();
      if (text[i] === "]") {
        i++;
        return node;
      }
      for (;;) {
        node.items.push(value());
        ws();
        if (text[i++] === "]") return node;
      }
    }
    const s = i;
    if (c === '"') {
      i++;
      while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i++;
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "]" && text[i] !== "}") i++;
    }
    return { t: "s", text: text.slice(s, i).trim() };
  };
  return value();
}

function print(n: Node): string {
  if (n.t === "s") return n.text;
  if (n.t === "a") return `[${n.items.map(print).join(", ")}]`;
  return `{${n.keys.map((k, j) => `${quote(k)}: ${print(n.vals[j] as Node)}`).join(", ")}}`;
}

type Leg = { key: string } | { index: number; last: boolean };

/** Parses a MySQL JSON path ($, .key, ."quoted", [n], [last], [last-n]); undefined if unsupported. */
export function parseJsonPath(path: string): Leg[] | undefined {
  let i = 0;
  const s = path.trim();
  if (s[i] !== "$") return undefined;
  i++;
  const legs: Leg[] = [];
  while (i < s.length) {
    const c = s[i];
    if (c === " ") {
      i++;
      continue;
    }
    if (c === ".") {
      i++;
      while (s[i] === " ") i++;
      if (s[i] === '"') {
        const st = i;
        i++;
        while (i < s.length && s[i] !== '"') i += s[i] === "\\" ? 2 : 1;
        i++;
        try {
          legs.push({ key: JSON.parse(s.slice(st, i)) as string });
        } catch {
          return undefined;
        }
      } else {
        const st = i;
        while (i < s.length && s[i] !== "." && s[i] !== "[" && s[i] !== " ") i++;
        const key = s.slice(st, i);
        if (key === "" || key === "*") return undefined;
        legs.push({ key });
      }
      continue;
    }
    if (c === "[") {
      const close = s.indexOf("]", i);
      if (close < 0) return undefined;
      const inner = s.slice(i + 1, close).replace(/\s+/g, "");
      i = close + 1;
      if (/^\d+$/.test(inner)) legs.push({ index: Number(inner), last: false });
      else if (inner === "last") legs.push({ index: 0, last: true });
      else if (/^last-\d+$/.test(inner)) legs.push({ index: Number(inner.slice(5)), last: true });
      else return undefined;
      continue;
    }
    return undefined;
  }
  return legs;
}

function keyLess(a: string, b: string): boolean {
  const ab = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  if (ab.length !== bb.length) return ab.length < bb.length;
  return Buffer.compare(ab, bb) < 0;
}

/**
 * Applies MySQL partial-update diffs to a document (JSON text as rendered here).
 * Returns the new text, or undefined when a diff cannot be applied (the caller then reports
 * the diffs instead of inventing a value).
 */
export function applyJsonDiffs(docText: string, diffs: JsonDiff[]): string | undefined {
  let root = parseText(docText);
  for (const d of diffs) {
    const legs = parseJsonPath(d.path);
    if (legs === undefined) return undefined;
    const value = d.value === undefined ? undefined : parseText(d.value);
    if (legs.length === 0) {
      if (d.op !== "replace" || value === undefined) return undefined;
      root = value;
      continue;
    }
    let parent: Node = root;
    for (let k = 0; k < legs.length - 1; k++) {
      const next = step(parent, legs[k] as Leg);
      if (next === undefined) return undefined;
      parent = next;
    }
    const leg = legs[legs.length - 1] as Leg;
    if ("key" in leg) {
      if (parent.t !== "o") return undefined;
      const at = parent.keys.indexOf(leg.key);
      if (d.op === "remove") {
        if (at < 0) return undefined;
        parent.keys.splice(at, 1);
        parent.vals.splice(at, 1);
      } else if (d.op === "replace") {
        if (at < 0 || value === undefined) return undefined;
        parent.vals[at] = value;
      } else {
        if (at >= 0 || value === undefined) return undefined;
        let pos = 0;
        while (pos < parent.keys.length && keyLess(parent.keys[pos] as string, leg.key)) pos++;
        parent.keys.splice(pos, 0, leg.key);
        parent.vals.splice(pos, 0, value);
      }
    } else {
      if (parent.t !== "a") return undefined;
      const idx = leg.last ? parent.items.length - 1 - leg.index : leg.index;
      if (d.op === "remove") {
        if (idx < 0 || idx >= parent.items.length) return undefined;
        parent.items.splice(idx, 1);
      } else if (d.op === "replace") {
        if (idx < 0 || idx >= parent.items.length || value === undefined) return undefined;
        parent.items[idx] = value;
      } else {
        if (idx < 0 || value === undefined) return undefined;
        parent.items.splice(Math.min(idx, parent.items.length), 0, value);
      }
    }
  }
  return print(root);
}

function step(node: Node, leg: Leg): Node | undefined {
  if ("key" in leg) {
    if (node.t !== "o") return undefined;
    const at = node.keys.indexOf(leg.key);
    return at < 0 ? undefined : node.vals[at];
  }
  if (node.t !== "a") return undefined;
  const idx = leg.last ? node.items.length - 1 - leg.index : leg.index;
  return node.items[idx];
}
