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
// and per field that JSON.stringify then walks: about 21 µs per row on the bench's entries,
// against about 2 here (bench/delivery/codec). The bytes come from this server's encoder,
// which writes fields in number order and repeated ones together; bytes in another order (or
// with a field the tables lack) are written by protobuf-es instead, so the answer is the same.
// test/unit/encode/entry-json.test.ts proves it on the decoder's fixtures, on generated entries
// with every field of every message set (fast-check) and on every UTF-16 code unit.
import {
  type DescEnum,
  type DescField,
  type DescMessage,
  fromBinary,
  ScalarType,
  toJsonString,
} from "@bufbuild/protobuf";
import { EntrySchema } from "../../gen/sluice/v1/entry_pb.js";
import { entryMessage } from "./entry-encoder.js";

enum Kind {
  Int32,
  Int64,
  Bool,
  String,
  Enum,
  Message,
}

interface FieldJson {
  /** `"jsonName":` as UTF-8. */
  key: Buffer;
  kind: Kind;
  repeated: boolean;
  /** Enum fields: each named number's `"NAME"` as UTF-8. */
  names?: Map<number, Buffer>;
  /** Message fields: the nested message's fields. */
  message?: MessageJson;
}

/** A message's fields by number (undefined: a number the message does not have). */
type MessageJson = (FieldJson | undefined)[];

function messageJson(desc: DescMessage, made: Map<string, MessageJson>): MessageJson {
  const known = made.get(desc.typeName);
  if (known !== undefined) return known;
  const fields: MessageJson = [];
  made.set(desc.typeName, fields);
  for (const f of desc.fields) fields[f.number] = fieldJson(f, made);
  return fields;
}

function fieldJson(f: DescField, made: Map<string, MessageJson>): FieldJson {
  const key = Buffer.from(`${JSON.stringify(f.jsonName)}:`, "utf8");
  const unknown = () => new Error(`entry-json.ts cannot write ${f.toString()}: teach it this kind of field`);
  if (f.fieldKind === "list") {
    if (f.listKind !== "message") throw unknown();
    return { key, kind: Kind.Message, repeated: true, message: messageJson(f.message, made) };
  }
  if (f.fieldKind === "message") {
    return { key, kind: Kind.Message, repeated: false, message: messageJson(f.message, made) };
  }
  // Explicit presence (proto3 `optional`) would write zero values too: not handled.
  if (f.presence !== 2 /* IMPLICIT */ && !f.oneof) throw unknown();
  if (f.fieldKind === "enum") return { key, kind: Kind.Enum, repeated: false, names: enumNames(f.enum) };
  if (f.fieldKind !== "scalar") throw unknown();
  switch (f.scalar) {
    case ScalarType.INT32:
      return { key, kind: Kind.Int32, repeated: false };
    case ScalarType.INT64:
      return { key, kind: Kind.Int64, repeated: false };
    case ScalarType.BOOL:
      return { key, kind: Kind.Bool, repeated: false };
    case ScalarType.STRING:
      return { key, kind: Kind.String, repeated: false };
    default:
      throw unknown();
  }
}

function enumNames(desc: DescEnum): Map<number, Buffer> {
  const names = new Map<number, Buffer>();
  for (const v of desc.values) names.set(v.number, Buffer.from(JSON.stringify(v.jsonName), "utf8"));
  return names;
}

const ENTRY = messageJson(EntrySchema, new Map());

/** Bytes this writer does not write (out of order, a field it lacks): protobuf-es does. */
class NotCanonical extends Error {}

/** Reusable output buffer; grown as needed, dropped after a huge entry. */
let out = Buffer.allocUnsafe(1 << 16);
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
  pos = 0;
  try {
    writeMessage(ENTRY, message, 0, message.length);
  } catch (err) {
    if (err instanceof NotCanonical) return undefined;
    throw err;
  }
  const json = Buffer.from(out.subarray(0, pos));
  if (out.length > KEEP_BYTES) out = Buffer.allocUnsafe(1 << 16);
  return json;
}

function ensure(n: number): void {
  if (pos + n <= out.length) return;
  const grown = Buffer.allocUnsafe(Math.max(pos + n, out.length * 2));
  out.copy(grown, 0, 0, pos);
  out = grown;
}

function byte(c: number): void {
  ensure(1);
  out[pos++] = c;
}

function ascii(s: string): void {
  ensure(s.length);
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
}

// The varint being read: its low and high 32 bits, and where it ended.
let lo = 0;
let hi = 0;
let at = 0;

/** Reads the varint at `i` of `b` into lo/hi; `at` after it. */
function varint(b: Uint8Array, i: number): void {
  let l = 0;
  let h = 0;
  let shift = 0;
  for (; shift < 28; shift += 7) {
    const c = b[i++] as number;
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
  let c = b[i++] as number;
  if (c === undefined) throw new NotCanonical();
  l |= (c & 0x0f) << 28;
  h = (c & 0x7f) >> 4;
  for (shift = 3; c >= 0x80; shift += 7) {
    if (shift > 31) throw new NotCanonical();
    c = b[i++] as number;
    if (c === undefined) throw new NotCanonical();
    h |= (c & 0x7f) << shift;
  }
  lo = l >>> 0;
  hi = h >>> 0;
  at = i;
}

/** Writes the message in b[start, end) as a JSON object. */
function writeMessage(fields: MessageJson, b: Uint8Array, start: number, end: number): void {
  byte(0x7b); // {
  let i = start;
  let last = 0; // field number of the member written last
  let open = false; // an array of `last` is open
  while (i < end) {
    varint(b, i);
    i = at;
    const number = lo >>> 3;
    const wire = lo & 7;
    const f = fields[number];
    if (f === undefined) throw new NotCanonical();
    if (number === last && f.repeated) {
      byte(0x2c); // ,
    } else {
      if (number <= last) throw new NotCanonical();
      if (open) byte(0x5d); // ]
      open = false;
    }
    if (f.kind === Kind.Message || f.kind === Kind.String) {
      if (wire !== 2) throw new NotCanonical();
      varint(b, i);
      const len = lo;
      i = at;
      const stop = i + len;
      if (stop > end) throw new NotCanonical();
      if (f.kind === Kind.String) {
        if (len > 0) {
          member(f, last);
          last = number;
          writeString(b, i, stop);
        }
      } else {
        if (number !== last) {
          member(f, last);
          if (f.repeated) {
            byte(0x5b); // [
            open = true;
          }
          last = number;
        }
        writeMessage(f.message as MessageJson, b, i, stop);
      }
      i = stop;
      continue;
    }
    if (wire !== 0) throw new NotCanonical();
    varint(b, i);
    i = at;
    if (lo === 0 && hi === 0) continue; // a default: protobuf-es leaves it out
    member(f, last);
    last = number;
    switch (f.kind) {
      case Kind.Int32:
        ascii(String(lo | 0));
        break;
      case Kind.Int64:
        byte(0x22);
        ascii(
          hi < 0x200000
            ? String(hi * 0x100000000 + lo)
            : String(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo))),
        );
        byte(0x22);
        break;
      case Kind.Bool:
        ascii("true");
        break;
      case Kind.Enum: {
        const name = (f.names as Map<number, Buffer>).get(lo | 0);
        if (name !== undefined) raw(name);
        else ascii(String(lo | 0));
        break;
      }
    }
  }
  if (open) byte(0x5d);
  byte(0x7d); // }
}

/** A member's key, after a comma unless it is the object's first. */
function member(f: FieldJson, last: number): void {
  if (last !== 0) byte(0x2c);
  raw(f.key);
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
 * UTF-8 text in b[start, end) as a JSON string, escaped as JSON.stringify does. Byte by byte
 * with the output in locals: V8 keeps them in registers, not the module's slots.
 */
function writeString(b: Uint8Array, start: number, end: number): void {
  ensure((end - start) * 6 + 2);
  const o = out;
  let p = pos;
  o[p++] = 0x22;
  for (let i = start; i < end; i++) {
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
  o[p++] = 0x22;
  pos = p;
}

/** A short byte string (a key, a name) into the output. */
function raw(b: Uint8Array): void {
  ensure(b.length);
  const o = out;
  let p = pos;
  for (let i = 0; i < b.length; i++) o[p++] = b[i] as number;
  pos = p;
}
