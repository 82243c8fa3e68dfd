// A stored entry's proto3 JSON, written straight from its protobuf bytes (the `entries` field
// EntryEncoder.encodeField makes, as the store holds it): exactly what connect-es writes for
// the entry those bytes decode to, i.e. protobuf-es's `toJsonString(EntrySchema,
// fromBinary(EntrySchema, bytes))` with connect-es's options (the server's Connect JSON codec
// sets none for writing): fields in number order under their JSON names, proto3 defaults left
// out, int64 as decimal strings, enums by name (a number the schema does not name as that
// number), text as JSON.stringify writes it (quote, backslash and control characters escaped,
// the rest as it is: its UTF-8 bytes are copied). The field tables are made from entry.proto's
// own descriptors, so a new field of a kind written here (int32, int64, bool, string, enum,
// message, repeated message) is written at once; any other kind stops the server at start.
//
// Why by hand: protobuf-es decodes the bytes into objects and builds a JSON object per message
// and per field that JSON.stringify then walks: 22-30 µs per row on the bench's entries,
// against about 3 here (bench/delivery/codec). The bytes come from this server's encoder,
// which writes fields in number order and repeated ones together; bytes in another order (or
// with a field the tables lack) are written by protobuf-es instead, so the answer is the same.
// What makes it fast: a column's fields that are the same in every row of a table (its
// ColumnSpec's) are written from a cache of their JSON, found by comparing their bytes (see
// json-column-runs.ts); text is copied four bytes at a time while none needs an escape; the
// output goes through locals, one room check per member.
// test/unit/encode/entry-json.test.ts proves it on the decoder's fixtures, on generated entries
// with every field of every message set (fast-check), on generated rows of tables alike and
// unlike (the cache) and on every UTF-16 code unit.
import {
  type DescEnum,
  type DescField,
  type DescMessage,
  fromBinary,
  ScalarType,
  toJsonString,
} from "@bufbuild/protobuf";
import { ColumnSchema, EntrySchema } from "../../gen/sluice/v1/entry_pb.js";
import type { ColumnSpec } from "../entry/row-changes.js";
import { entryMessage } from "./entry-encoder.js";
import { cachedRun, endRun, MAX_ORDINAL, RUNS, WAYS } from "./json-column-runs.js";

enum Kind {
  Int32,
  Int64,
  Bool,
  String,
  Enum,
  Message,
}

/** How to write one field. One class, every property set: one shape for V8 to load from. */
class FieldJson {
  /** A Column field that is the same in every row of a table: written from a cached run. */
  fixed = false;
  constructor(
    /** `"jsonName":` as UTF-8. */
    readonly key: Buffer,
    readonly kind: Kind,
    readonly repeated: boolean,
    /** Enum fields: each named number's `"NAME"` as UTF-8, by number. */
    readonly names: readonly (Buffer | undefined)[] | undefined,
    /** Message fields: the nested message's fields. */
    readonly message: MessageJson | undefined,
  ) {}
}

interface MessageJson {
  /** The fields by number (undefined: a number the message does not have). */
  fields: (FieldJson | undefined)[];
  /** Column: runs of its fixed fields are written from the run cache (below). */
  runs: boolean;
}

/**
 * The Column fields that row-changes-encoder.ts writes from a table's ColumnSpec: the same
 * bytes in every row of the table, so their JSON is cached (any field may be listed here or
 * not: the cache compares bytes, so the list decides only what is worth caching).
 */
const COLUMN_FIXED: readonly (keyof ColumnSpec)[] = [
  "index",
  "sqlType",
  "name",
  "isKey",
  "length",
  "mysqlType",
  "base64",
];

function messageJson(desc: DescMessage, made: Map<string, MessageJson>): MessageJson {
  const known = made.get(desc.typeName);
  if (known !== undefined) return known;
  const m: MessageJson = { fields: [], runs: desc.typeName === ColumnSchema.typeName };
  made.set(desc.typeName, m);
  for (const f of desc.fields) {
    const field = fieldJson(f, made);
    field.fixed = m.runs && field.kind !== Kind.Message && COLUMN_FIXED.includes(f.localName as never);
    m.fields[f.number] = field;
  }
  return m;
}

function fieldJson(f: DescField, made: Map<string, MessageJson>): FieldJson {
  const key = Buffer.from(`${JSON.stringify(f.jsonName)}:`, "utf8");
  const unknown = () => new Error(`entry-json.ts cannot write ${f.toString()}: teach it this kind of field`);
  const field = (kind: Kind, repeated = false) => new FieldJson(key, kind, repeated, undefined, undefined);
  if (f.fieldKind === "list") {
    if (f.listKind !== "message") throw unknown();
    return new FieldJson(key, Kind.Message, true, undefined, messageJson(f.message, made));
  }
  if (f.fieldKind === "message") {
    return new FieldJson(key, Kind.Message, false, undefined, messageJson(f.message, made));
  }
  // Explicit presence (proto3 `optional`) would write zero values too: not handled.
  if (f.presence !== 2 /* IMPLICIT */ && !f.oneof) throw unknown();
  if (f.fieldKind === "enum") return new FieldJson(key, Kind.Enum, false, enumNames(f.enum), undefined);
  if (f.fieldKind !== "scalar") throw unknown();
  switch (f.scalar) {
    case ScalarType.INT32:
      return field(Kind.Int32);
    case ScalarType.INT64:
      return field(Kind.Int64);
    case ScalarType.BOOL:
      return field(Kind.Bool);
    case ScalarType.STRING:
      return field(Kind.String);
    default:
      throw unknown();
  }
}

function enumNames(desc: DescEnum): (Buffer | undefined)[] {
  const names: (Buffer | undefined)[] = [];
  for (const v of desc.values) {
    if (v.number < 0 || v.number > 1024)
      throw new Error(`entry-json.ts writes enum numbers 0..1024 by name: teach it ${desc.typeName}'s`);
    names[v.number] = Buffer.from(JSON.stringify(v.jsonName), "utf8");
  }
  return names;
}

const ENTRY = messageJson(EntrySchema, new Map());

/**
 * Room one member takes besides a string's text: a comma, a closing `]`, its key, its
 * longest value (an int64 in quotes, an enum's name), an opening `[`.
 */
const FIELD_ROOM = (() => {
  let room = 0;
  const visit = (m: MessageJson, seen: Set<MessageJson>) => {
    if (seen.has(m)) return;
    seen.add(m);
    for (const f of m.fields) {
      if (f === undefined) continue;
      const names = (f.names ?? []).reduce((n, b) => Math.max(n, b?.length ?? 0), 0);
      room = Math.max(room, 3 + f.key.length + Math.max(22, names));
      if (f.message) visit(f.message, seen);
    }
  };
  visit(ENTRY, new Set());
  return room;
})();

/** Bytes this writer does not write (out of order, a field it lacks): protobuf-es does. */
class NotCanonical extends Error {}

/** Reusable output buffer; grown as needed, dropped after a huge entry. */
let out = Buffer.allocUnsafe(1 << 16);
let outView = viewOf(out);
let pos = 0;
const KEEP_BYTES = 1 << 20;

/**
 * The JSON of the entry stored as `field` (an `entries` field, EntryEncoder.encodeField), in a
 * buffer of its own.
 */
export function storedEntryJsonBytes(field: Uint8Array): Buffer {
  return (
    writeEntryJson(field) ??
    Buffer.from(toJsonString(EntrySchema, fromBinary(EntrySchema, entryMessage(field))), "utf8")
  );
}

/** The same, by this writer only: undefined for bytes it does not write (see the top). */
export function writeEntryJson(field: Uint8Array): Buffer | undefined {
  const message = entryMessage(field);
  view = viewOf(message);
  pos = 0;
  try {
    writeMessage(ENTRY, message, 0, message.length, -1);
  } catch (err) {
    if (err instanceof NotCanonical) return undefined;
    throw err;
  }
  const json = Buffer.allocUnsafe(pos);
  out.copy(json, 0, 0, pos);
  if (out.length > KEEP_BYTES) {
    out = Buffer.allocUnsafe(1 << 16);
    outView = viewOf(out);
  }
  return json;
}

function ensure(n: number): void {
  if (pos + n <= out.length) return;
  const grown = Buffer.allocUnsafe(Math.max(pos + n, out.length * 2));
  out.copy(grown, 0, 0, pos);
  out = grown;
  outView = viewOf(out);
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The entry's bytes being written, for reading words. */
let view = viewOf(new Uint8Array(0));

// The varint being read: its low and high 32 bits, and where it ended.
let lo = 0;
let hi = 0;
let at = 0;

/** Reads the varint at `i` of `b` into lo/hi; `at` after it. */
function varint(b: Uint8Array, i: number): void {
  let c = b[i] as number;
  if (c < 0x80) {
    lo = c;
    hi = 0;
    at = i + 1;
    return;
  }
  let l = c & 0x7f;
  let h = 0;
  i++;
  for (let shift = 7; shift < 28; shift += 7) {
    c = b[i++] as number;
    if (c === undefined) throw new NotCanonical();
    l |= (c & 0x7f) << shift;
    if (c < 0x80) {
      lo = l >>> 0;
      hi = 0;
      at = i;
      return;
    }
  }
  // Bits 28..34: four to the low word, three to the high one.
  c = b[i++] as number;
  if (c === undefined) throw new NotCanonical();
  l |= (c & 0x0f) << 28;
  h = (c & 0x7f) >> 4;
  for (let shift = 3; c >= 0x80; shift += 7) {
    if (shift > 31) throw new NotCanonical();
    c = b[i++] as number;
    if (c === undefined) throw new NotCanonical();
    h |= (c & 0x7f) << shift;
  }
  lo = l >>> 0;
  hi = h >>> 0;
  at = i;
}

/**
 * Writes the message in b[start, end) as a JSON object at `pos`; `ordinal`: its position in the
 * list it is an element of (-1: not in a list). The output goes through locals (`o`, `p`),
 * which V8 keeps in registers, and back to `out`/`pos` around calls that may grow it.
 */
function writeMessage(m: MessageJson, b: Uint8Array, start: number, end: number, ordinal: number): void {
  const fields = m.fields;
  ensure(FIELD_ROOM);
  let o = out;
  let p = pos;
  o[p++] = 0x7b; // {
  let i = start;
  let last = 0; // field number of the member written last
  let open = false; // an array of `last` is open
  let element = 0; // position of the next element of the open array
  // The run cache's places of this message (-1: none), and the run being recorded.
  const runs = m.runs && ordinal >= 0 && ordinal < MAX_ORDINAL ? ordinal * RUNS * WAYS : -1;
  let run = 0;
  let recording = -1;
  let runStart = 0;
  let runJson = 0;
  let runLast = 0;
  let runPrev = 0;
  while (i < end) {
    const fieldStart = i;
    varint(b, i);
    i = at;
    const number = lo >>> 3;
    const wire = lo & 7;
    const f = fields[number];
    if (f === undefined) throw new NotCanonical();
    if (recording >= 0 && (!f.fixed || number <= runPrev)) {
      endRun(recording, b, runStart, fieldStart, o, runJson, p, runLast, last);
      recording = -1;
    }
    if (p + FIELD_ROOM > o.length) {
      pos = p;
      ensure(FIELD_ROOM);
      o = out;
    }
    if (number === last && f.repeated) {
      // Elements of a list come together; one after a default of another field does not.
      if (!open) throw new NotCanonical();
      o[p++] = 0x2c; // ,
    } else {
      if (number <= last) throw new NotCanonical();
      if (open) o[p++] = 0x5d; // ]
      open = false;
      element = 0;
    }
    if (f.fixed && runs >= 0 && recording < 0 && run < RUNS) {
      const slot = runs + run * WAYS;
      run++;
      const cached = cachedRun(slot, view, b, fieldStart, end);
      if (cached !== undefined) {
        const json = cached.json;
        if (json.length > 0) {
          if (p + json.length + 1 > o.length) {
            pos = p;
            ensure(json.length + 1);
            o = out;
          }
          if (last !== 0) o[p++] = 0x2c;
          o.set(json, p);
          p += json.length;
          last = cached.last;
        }
        i = fieldStart + cached.bytes.length;
        continue;
      }
      recording = slot;
      runStart = fieldStart;
      runJson = p;
      runLast = last;
    }
    runPrev = number;
    if (f.kind === Kind.Message || f.kind === Kind.String) {
      if (wire !== 2) throw new NotCanonical();
      varint(b, i);
      const len = lo;
      i = at;
      const stop = i + len;
      if (stop > end) throw new NotCanonical();
      if (f.kind === Kind.String) {
        if (len > 0) {
          p = member(o, p, f, last);
          last = number;
          if (p + len * 6 + 2 > o.length) {
            pos = p;
            ensure(len * 6 + 2);
            o = out;
          }
          p = writeString(o, p, b, i, stop);
        }
      } else {
        if (number !== last) {
          p = member(o, p, f, last);
          if (f.repeated) {
            o[p++] = 0x5b; // [
            open = true;
          }
          last = number;
        }
        pos = p;
        writeMessage(f.message as MessageJson, b, i, stop, f.repeated ? element++ : -1);
        o = out;
        p = pos;
      }
      i = stop;
      continue;
    }
    if (wire !== 0) throw new NotCanonical();
    varint(b, i);
    i = at;
    if (lo === 0 && hi === 0) continue; // a default: protobuf-es leaves it out
    p = member(o, p, f, last);
    last = number;
    switch (f.kind) {
      case Kind.Int32:
        p = int32(o, p, lo | 0);
        break;
      case Kind.Int64:
        o[p++] = 0x22;
        if (hi < 0x200000) p = digits(o, p, hi * 0x100000000 + lo);
        else p = ascii(o, p, String(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo))));
        o[p++] = 0x22;
        break;
      case Kind.Bool:
        o[p++] = 0x74; // true
        o[p++] = 0x72;
        o[p++] = 0x75;
        o[p++] = 0x65;
        break;
      case Kind.Enum: {
        const name = (f.names as (Buffer | undefined)[])[lo];
        if (name !== undefined) p = raw(o, p, name);
        else p = int32(o, p, lo | 0);
        break;
      }
    }
  }
  if (recording >= 0) endRun(recording, b, runStart, end, o, runJson, p, runLast, last);
  if (p + 2 > o.length) {
    pos = p;
    ensure(2);
    o = out;
  }
  if (open) o[p++] = 0x5d;
  o[p++] = 0x7d; // }
  pos = p;
}

/** A member's key at o[p], after a comma unless it is the object's first (room ensured). */
function member(o: Uint8Array, p: number, f: FieldJson, last: number): number {
  if (last !== 0) o[p++] = 0x2c;
  return raw(o, p, f.key);
}

/** An int32 in decimal at o[p] (room ensured). */
function int32(o: Uint8Array, p: number, n: number): number {
  if (n < 0) {
    o[p++] = 0x2d; // -
    n = -n;
  }
  return digits(o, p, n);
}

/** A non-negative integer below 2^53 in decimal at o[p] (room ensured). */
function digits(o: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    o[p] = 0x30 + n;
    return p + 1;
  }
  let width = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) width++;
  const after = p + width;
  p = after;
  while (n >= 10) {
    const q = Math.floor(n / 10);
    o[--p] = 0x30 + (n - q * 10);
    n = q;
  }
  o[--p] = 0x30 + n;
  return after;
}

/** ASCII text at o[p] (room ensured). */
function ascii(o: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) o[p++] = s.charCodeAt(i);
  return p;
}

const HEX = Buffer.from("0123456789abcdef");
/** The letter of each escape JSON.stringify writes as a backslash and one letter (else 0). */
const SHORT_ESCAPE = new Uint8Array(0x60);
for (const [c, letter] of [
  [0x22, '"'],
  [0x5c, "\\"],
  [0x08, "b"],
  [0x09, "t"],
  [0x0a, "n"],
  [0x0c, "f"],
  [0x0d, "r"],
] as const)
  SHORT_ESCAPE[c] = letter.charCodeAt(0);

/**
 * UTF-8 text in b[start, end) as a JSON string at o[p], escaped as JSON.stringify does (room
 * ensured; `view` is b's, `outView` o's). Four bytes at a time while none of them needs an
 * escape (a quote, a backslash, a control character): a third of the byte loop's time.
 */
function writeString(o: Uint8Array, p: number, b: Uint8Array, start: number, end: number): number {
  const v = view;
  const ov = outView;
  o[p++] = 0x22;
  let i = start;
  while (i < end) {
    for (; i + 4 <= end; i += 4) {
      const x = v.getInt32(i, true);
      const quote = x ^ 0x22222222;
      const backslash = x ^ 0x5c5c5c5c;
      // A byte below 0x20, or one equal to 0x22 or 0x5c (a zero byte of the XORs): the
      // high bits of these terms say whether the word has one (exactly; which one, not always).
      if (
        (((x - 0x20202020) & ~x) |
          ((quote - 0x01010101) & ~quote) |
          ((backslash - 0x01010101) & ~backslash)) &
        0x80808080
      )
        break;
      ov.setInt32(p, x, true);
      p += 4;
    }
    // The word with a byte to escape (or the last few bytes), byte by byte.
    const stop = Math.min(i + 4, end);
    for (; i < stop; i++) {
      const c = b[i] as number;
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        o[p++] = c;
        continue;
      }
      o[p++] = 0x5c;
      const letter = SHORT_ESCAPE[c] as number;
      if (letter !== 0) {
        o[p++] = letter;
        continue;
      }
      o[p++] = 0x75; // u00XX
      o[p++] = 0x30;
      o[p++] = 0x30;
      o[p++] = HEX[c >> 4] as number;
      o[p++] = HEX[c & 15] as number;
    }
  }
  o[p++] = 0x22;
  return p;
}

/** A short byte string (a key, a name) at o[p] (room ensured). */
function raw(o: Uint8Array, p: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) o[p++] = b[i] as number;
  return p;
}
