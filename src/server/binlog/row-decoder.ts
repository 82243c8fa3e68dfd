// Compiled row decoders: for each table shape (on a table's first rows event; shared by
// tables with the same column kinds) the source of functions that decode a whole rows event
// body is generated and compiled with `new Function`, as fast serializers do. Every column's
// read is unrolled with its type, width and text kind baked in as constants: no per-column
// switch, no plan lookups, locals instead of a cursor object, the row built as one array
// literal of exactly n values.
// Integers, CHAR/VARCHAR/TEXT in utf8/latin1/ascii are decoded inline, DECIMAL, FLOAT, DOUBLE,
// ENUM and the temporal types by a direct call of the function the generic path uses; every
// other type (MariaDB's compressed columns among them) calls the generic decodeValue()
// (column-values.ts). So the values are the same by construction.
//
// Only the all-columns-present case is compiled (binlog_row_image=FULL, the common case);
// MINIMAL/NOBLOB images, PARTIAL_UPDATE_ROWS and ParallelDecoder's workers (ctx.emit) use
// decodeImage(). The generated source contains only numbers from the plan (never a name or
// any other text from the binlog or the schema).
import { TextKind } from "./charsets.js";
import {
  type CompiledRows,
  decodeValue,
  enumText,
  K,
  type RowPlan,
  textOf,
  truncated,
  uint64Text,
} from "./column-values.js";
import { decodeDecimal } from "./decimal.js";
import { formatDouble, formatFloat } from "./float-format.js";
import { intText, uintText } from "./int-text.js";
import {
  decodeDate,
  decodeDatetime2,
  decodeTime2,
  decodeTimestamp2,
  decodeYear,
  fspBytes,
} from "./temporal.js";

/** Signed 64-bit little-endian integer at buf[pos] as decimal text. */
function int64Text(buf: Buffer, pos: number): string {
  const hi = buf.readInt32LE(pos + 4);
  const lo = buf.readUInt32LE(pos);
  if (hi >= -0x200000 && hi < 0x200000) return intText(hi * 4294967296 + lo);
  if (hi >= 0) return uint64Text(hi, lo);
  // two's complement magnitude: ~(hi:lo) + 1
  return `-${uint64Text((~hi + (lo === 0 ? 1 : 0)) >>> 0, (~lo + 1) >>> 0)}`;
}

/** Unsigned 64-bit little-endian integer at buf[pos] as decimal text. */
function uint64At(buf: Buffer, pos: number): string {
  const hi = buf.readUInt32LE(pos + 4);
  const lo = buf.readUInt32LE(pos);
  return hi < 0x200000 ? uintText(hi * 4294967296 + lo) : uint64Text(hi, lo);
}

const helpers = {
  decodeValue,
  enumText,
  intText,
  uintText,
  textOf,
  truncated,
  int64Text,
  uint64At,
  decodeDecimal,
  formatFloat,
  formatDouble,
  decodeYear,
  decodeDate,
  decodeTime2,
  decodeDatetime2,
  decodeTimestamp2,
};

/**
 * Fixed-size kinds decoded by one helper call: [bytes (-1: from the plan), call source]. In
 * the call, P_A / P_B stand for the column's plan.a / plan.b numbers.
 */
const CALLS: Partial<Record<K, [number, string]>> = {
  [K.FLOAT]: [4, "formatFloat(buf.readFloatLE(pos))"],
  [K.DOUBLE]: [8, "formatDouble(buf.readDoubleLE(pos))"],
  [K.YEAR]: [1, "decodeYear(buf, pos)"],
  [K.DATE]: [3, "decodeDate(buf, pos)"],
  [K.DECIMAL]: [-1, "decodeDecimal(buf, pos, P_A, P_B)"],
  [K.TIME2]: [-1, "decodeTime2(buf, pos, P_A)"],
  [K.DATETIME2]: [-1, "decodeDatetime2(buf, pos, P_A)"],
  [K.TIMESTAMP2]: [-1, "decodeTimestamp2(buf, pos, P_A, ctx.tz)"],
};

/** Bytes of a CALLS kind's value whose size depends on the column (DECIMAL, TIME2, ...). */
function callBytes(plan: RowPlan, i: number, kind: K): number {
  const a = plan.a[i] as number;
  switch (kind) {
    case K.DECIMAL:
      return plan.c[i] as number;
    case K.TIME2:
      return 3 + fspBytes(a);
    case K.DATETIME2:
      return 5 + fspBytes(a);
    default:
      return 4 + fspBytes(a);
  }
}

/**
 * Compiled decoders by table shape (what the generated code depends on): a table that gets a
 * new table id (DDL, FLUSH TABLES, a reconnect) or another table of the same shape reuses them.
 * Bounded: the least recently compiled shape goes first.
 */
const byShape = new Map<string, CompiledRows>();
const MAX_SHAPES = 256;

/** False once compiling failed because the process forbids code from strings. */
let codegenAllowed = true;

/**
 * The compiled decoders of a plan (made or found on first use, then kept on the plan), or
 * undefined where code cannot be generated (node --disallow-code-generation-from-strings):
 * then the generic path decodes every image, with the same values, more slowly.
 */
export function compiledRows(plan: RowPlan): CompiledRows | undefined {
  let c = plan.compiled;
  if (c === undefined) {
    if (!codegenAllowed) return undefined;
    const key = shapeKey(plan);
    c = byShape.get(key);
    if (c === undefined) {
      try {
        c = compile(plan);
      } catch (err) {
        if (!(err instanceof EvalError)) throw err;
        codegenAllowed = false;
        return undefined;
      }
      if (byShape.size >= MAX_SHAPES) byShape.delete(byShape.keys().next().value as string);
      byShape.set(key, c);
    }
    plan.compiled = c;
  }
  return c;
}

/** Everything of a plan that the generated source bakes in. */
function shapeKey(plan: RowPlan): string {
  const parts: number[] = [];
  for (let i = 0; i < plan.n; i++) {
    parts.push(
      plan.kind[i] as number,
      plan.a[i] as number,
      plan.b[i] as number,
      plan.c[i] as number,
      plan.text[i] as number,
    );
  }
  return parts.join(",");
}

/** Source that reads a fixed-width little-endian integer at `pos` (as an int32 or uint32 expression). */
function intExpr(bytes: number, signed: boolean): string {
  switch (bytes) {
    case 1:
      return signed ? "((buf[pos] << 24) >> 24)" : "buf[pos]";
    case 2:
      return signed ? "(((buf[pos] | (buf[pos + 1] << 8)) << 16) >> 16)" : "(buf[pos] | (buf[pos + 1] << 8))";
    case 3:
      return signed
        ? "(((buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16)) << 8) >> 8)"
        : "(buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16))";
    default:
      return signed
        ? "(buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24))"
        : "((buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0)";
  }
}

const INT_KINDS: Partial<Record<K, [number, boolean]>> = {
  [K.TINY]: [1, true],
  [K.TINY_U]: [1, false],
  [K.SHORT]: [2, true],
  [K.SHORT_U]: [2, false],
  [K.INT24]: [3, true],
  [K.INT24_U]: [3, false],
  [K.LONG]: [4, true],
  [K.LONG_U]: [4, false],
};

/** The text method of EventText for a text kind decoded inline, if any. */
function inlineText(textKind: number): string | undefined {
  switch (textKind) {
    case TextKind.UTF8:
      return "utf8";
    case TextKind.CP1252:
      return "cp1252";
    case TextKind.ASCII:
      return "latin1";
    default:
      return undefined;
  }
}

/** Source of one column's value into `v` (not NULL), advancing `pos`. */
function columnSource(plan: RowPlan, i: number, v: string): string {
  const kind = plan.kind[i] as K;
  const generic = `cur.pos = pos; ${v} = decodeValue(buf, cur, end, plan, ${i}, ctx); pos = cur.pos;`;
  const int = INT_KINDS[kind];
  if (int !== undefined) {
    const [bytes, signed] = int;
    return `if (pos + ${bytes} > end) truncated(${i}); ${v} = ${signed ? "intText" : "uintText"}(${intExpr(bytes, signed)}); pos += ${bytes};`;
  }
  const call = CALLS[kind];
  if (call !== undefined) {
    const bytes = call[0] >= 0 ? call[0] : callBytes(plan, i, kind);
    const src = call[1].replace("P_A", `${plan.a[i]}`).replace("P_B", `${plan.b[i]}`);
    return `if (pos + ${bytes} > end) truncated(${i}); ${v} = ${src}; pos += ${bytes};`;
  }
  switch (kind) {
    case K.LONGLONG:
    case K.LONGLONG_U:
      return `if (pos + 8 > end) truncated(${i}); ${v} = ${kind === K.LONGLONG ? "int64Text" : "uint64At"}(buf, pos); pos += 8;`;
    case K.VARSTR:
    case K.CHAR: {
      const textKind = plan.text[i] as number;
      const method = inlineText(textKind);
      // CHAR: only single-byte spaces are trimmed inline (c = 1); binary CHAR pads, others trim strings
      if (kind === K.CHAR && (textKind === TextKind.BINARY || plan.c[i] !== 1)) return generic;
      const lenBytes = plan.a[i] as number;
      const readLen =
        lenBytes === 1
          ? `if (pos + 1 > end) truncated(${i}); len = buf[pos]; pos += 1;`
          : `if (pos + 2 > end) truncated(${i}); len = buf[pos] | (buf[pos + 1] << 8); pos += 2;`;
      const stop =
        kind === K.CHAR ? "e = pos + len; while (e > pos && buf[e - 1] === 32) e--;" : "e = pos + len;";
      const text = method !== undefined ? `X.${method}(pos, e)` : `textOf(plan, ${i}, buf, pos, e, ctx)`;
      return `${readLen} if (pos + len > end) truncated(${i}); ${stop} ${v} = ${text}; pos += len;`;
    }
    case K.BLOB: {
      // TEXT types (BLOB types with a charset; MariaDB's JSON is LONGTEXT): length of `pl` bytes.
      const pl = plan.a[i] as number;
      const method = inlineText(plan.text[i] as number);
      const text =
        method !== undefined ? `X.${method}(pos, pos + len)` : `textOf(plan, ${i}, buf, pos, pos + len, ctx)`;
      return `if (pos + ${pl} > end) truncated(${i}); len = ${intExpr(pl, false)}; pos += ${pl}; if (pos + len > end) truncated(${i}); ${v} = ${text}; pos += len;`;
    }
    case K.ENUM: {
      const pl = plan.a[i] as number;
      return `if (pos + ${pl} > end) truncated(${i}); ${v} = enumText(plan, ${i}, ${intExpr(pl, false)}); pos += ${pl};`;
    }
    default:
      return generic;
  }
}

/** Bytes of a column whose values all have one size (at most 16), else undefined. */
function fixedBytes(plan: RowPlan, i: number): number | undefined {
  const kind = plan.kind[i] as K;
  const int = INT_KINDS[kind];
  if (int !== undefined) return int[0];
  if (kind === K.LONGLONG || kind === K.LONGLONG_U) return 8;
  const call = CALLS[kind];
  if (call === undefined) return undefined;
  const bytes = call[0] >= 0 ? call[0] : callBytes(plan, i, kind);
  return bytes <= 16 ? bytes : undefined;
}

/**
 * Source that decodes one image at `pos` into the array `name`. In an update pair, the
 * before image ("before") notes where each fixed-size value starts, and the after image
 * ("after", of before image `from`) takes the before value's text when the bytes are the
 * same: an UPDATE with a full row image repeats every column it did not change, and equal
 * bytes decode to equal text, so a byte comparison saves formatting the number, date or
 * time again.
 */
function imageSource(plan: RowPlan, name: string, role: "plain" | "before" | "after", from = ""): string {
  const n = plan.n;
  const nullBytes = (n + 7) >> 3;
  const lines = [`const ${name}N = pos; pos += ${nullBytes}; if (pos > end) truncated(0);`];
  const vars: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = `${name}${i}`;
    vars.push(v);
    const isNull = `(buf[${name}N + ${i >> 3}] & ${1 << (i & 7)}) !== 0`;
    const bytes = role === "plain" ? undefined : fixedBytes(plan, i);
    if (bytes === undefined) {
      lines.push(`let ${v}; if (${isNull}) ${v} = null; else { ${columnSource(plan, i, v)} }`);
    } else if (role === "before") {
      lines.push(
        `let ${v}; let ${v}S = -1; if (${isNull}) ${v} = null; else { ${v}S = pos; ${columnSource(plan, i, v)} }`,
      );
    } else {
      const was = `${from}${i}`;
      const same = Array.from({ length: bytes }, (_, k) => `buf[${was}S + ${k}] === buf[pos + ${k}]`).join(
        " && ",
      );
      lines.push(
        `let ${v}; if (${isNull}) ${v} = null; else if (${was}S >= 0 && pos + ${bytes} <= end && ${same}) { ${v} = ${was}; pos += ${bytes}; } else { ${columnSource(plan, i, v)} }`,
      );
    }
  }
  lines.push(`const ${name} = [${vars.join(", ")}];`);
  return lines.join("\n");
}

type Compiled = (h: typeof helpers) => CompiledRows;

function compile(plan: RowPlan): CompiledRows {
  const prologue = "const X = ctx.text; const cur = { pos: 0 }; let len = 0; let e = 0;";
  const src = `"use strict";
const { ${Object.keys(helpers).join(", ")} } = h;
function plain(plan, buf, pos, end, ctx, rows) {
${prologue}
while (pos < end) {
${imageSource(plan, "a", "plain")}
rows.push(a);
}
}
function update(plan, buf, pos, end, ctx, rows) {
${prologue}
while (pos < end) {
${imageSource(plan, "a", "before")}
${imageSource(plan, "b", "after", "a")}
rows.push({ before: a, after: b });
}
}
return { plain, update };`;
  const make = new Function("h", src) as Compiled;
  return make(helpers);
}
