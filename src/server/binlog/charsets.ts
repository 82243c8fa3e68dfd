// MySQL/MariaDB character sets: collation id -> charset -> how to turn stored bytes into text.
//
// Notes that matter for exact values:
// - MySQL's `latin1` is Windows-1252 (0x80 is €, 0x9F is Ÿ), not ISO-8859-1; the five bytes
//   cp1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) map to the C1 controls, as in MySQL.
// - `ucs2` and `utf16` are big-endian; `utf16le` is little-endian; `utf32` is big-endian UCS-4.
// - `binary` (collation 63) is not text: such values are rendered as base64 by the decoder.
// - Legacy 8-bit sets without a WHATWG decoder (dec8, hp8, swe7, keybcs2, armscii8, geostd8,
//   macce, cp850, cp852) are reported as unsupported: their values are rendered as base64
//   (lossless, flagged in ColumnInfo.valueFormat) rather than guessed.

/** Charset of every collation id, as listed by MariaDB 10.11's information_schema.COLLATIONS,
 * plus MySQL-only ids (76 utf8mb3_tolower_ci, 248-250 gb18030, 255-323 utf8mb4 *_0900_*). */
import { TextDecoder } from "node:util";

const COLLATION_RANGES: Record<string, string> = {
  armscii8: "32,64,1056,1088",
  ascii: "11,65,1035,1089",
  big5: "1,84,1025,1108",
  binary: "63",
  cp1250: "26,34,44,66,99,1050,1090",
  cp1251: "14,23,50-52,1074-1075",
  cp1256: "57,67,1081,1091",
  cp1257: "29,58-59,1082-1083",
  cp850: "4,80,1028,1104",
  cp852: "40,81,1064,1105",
  cp866: "36,68,1060,1092",
  cp932: "95-96,1119-1120",
  dec8: "3,69,1027,1093",
  eucjpms: "97-98,1121-1122",
  euckr: "19,85,1043,1109",
  gb18030: "248-250",
  gb2312: "24,86,1048,1110",
  gbk: "28,87,1052,1111",
  geostd8: "92-93,1116-1117",
  greek: "25,70,1049,1094",
  hebrew: "16,71,1040,1095",
  hp8: "6,72,1030,1096",
  keybcs2: "37,73,1061,1097",
  koi8r: "7,74,1031,1098",
  koi8u: "22,75,1046,1099",
  latin1: "5,8,15,31,47-49,94,1032,1071",
  latin2: "2,9,21,27,77,1033,1101",
  latin5: "30,78,1054,1102",
  latin7: "20,41-42,79,1065,1103",
  macce: "38,43,1062,1067",
  macroman: "39,53,1063,1077",
  sjis: "13,88,1037,1112",
  swe7: "10,82,1034,1106",
  tis620: "18,89,1042,1113",
  ucs2: "35,90,128-151,159,640-642,1059,1114,1152,1174",
  ujis: "12,91,1036,1115",
  utf16: "54-55,101-124,672-674,1078-1079,1125,1147",
  utf16le: "56,62,1080,1086",
  utf32: "60-61,160-183,736-738,1084-1085,1184,1206",
  utf8mb3: "33,76,83,192-215,223,576-578,1057,1107,1216,1238",
  utf8mb4: "45-46,224-247,255-323,608-610,1069-1070,1248,1270",
};

const COLLATION_CHARSET: string[] = [];
for (const [charset, ranges] of Object.entries(COLLATION_RANGES)) {
  for (const part of ranges.split(",")) {
    const [a, b] = part.split("-").map(Number) as [number, number | undefined];
    for (let id = a; id <= (b ?? a); id++) COLLATION_CHARSET[id] = charset;
  }
}

/** MariaDB 10.10+ UCA-14.0.0 collations: id = 2048 + (charset << 8) + (tailoring << 3) + flags. */
const UCA1400_CHARSETS = ["utf8mb3", "utf8mb4", "ucs2", "utf16", "utf32"];

/** Charset name of a collation id, or undefined when the id is unknown. */
export function charsetOfCollation(id: number): string | undefined {
  const cs = COLLATION_CHARSET[id];
  if (cs !== undefined) return cs;
  if (id >= 2048 && id <= 4095) return UCA1400_CHARSETS[(id - 2048) >> 8];
  return undefined;
}

/** "utf8" -> "utf8mb3", lower-cased; undefined stays undefined. */
export function normalizeCharset(name: string | undefined | null): string | undefined {
  if (name === undefined || name === null || name === "") return undefined;
  const n = name.toLowerCase();
  return n === "utf8" ? "utf8mb3" : n;
}

/** Charset of a collation name ("utf8mb4_0900_ai_ci" -> "utf8mb4", "binary" -> "binary"). */
export function charsetOfCollationName(name: string | undefined | null): string | undefined {
  if (name === undefined || name === null || name === "") return undefined;
  const n = name.toLowerCase();
  const us = n.indexOf("_");
  return normalizeCharset(us < 0 ? n : n.slice(0, us));
}

/** How the row decoder turns a charset's bytes into text (a small int for the hot switch). */
export const TextKind = {
  /** Not text: base64 of the bytes. */
  BINARY: 0,
  UTF8: 1,
  /** MySQL latin1 = Windows-1252. */
  CP1252: 2,
  /** 7-bit ascii (bytes >= 0x80 rendered as Latin-1). */
  ASCII: 3,
  UTF16BE: 4,
  UTF16LE: 5,
  UTF32BE: 6,
  /** Any other WHATWG/ICU encoding through a shared TextDecoder. */
  DECODER: 7,
} as const;
export type TextKindCode = (typeof TextKind)[keyof typeof TextKind];

const WHATWG_LABELS: Record<string, string> = {
  latin2: "iso-8859-2",
  cp1250: "windows-1250",
  cp1251: "windows-1251",
  cp1256: "windows-1256",
  cp1257: "windows-1257",
  greek: "iso-8859-7",
  hebrew: "iso-8859-8",
  latin5: "windows-1254",
  latin7: "iso-8859-13",
  koi8r: "koi8-r",
  koi8u: "koi8-u",
  macroman: "macintosh",
  cp866: "ibm866",
  tis620: "windows-874",
  gbk: "gbk",
  gb2312: "gbk",
  gb18030: "gb18030",
  big5: "big5",
  ujis: "euc-jp",
  eucjpms: "euc-jp",
  sjis: "shift_jis",
  cp932: "shift_jis",
  euckr: "euc-kr",
};

const decoders = new Map<string, TextDecoder>();

export interface TextCodec {
  kind: TextKindCode;
  /** For kind DECODER (and UTF16BE): the shared decoder. */
  decoder?: TextDecoder;
  /** Normalized charset name. */
  charset: string;
}

const codecCache = new Map<string, TextCodec | undefined>();

/** How to decode a charset; undefined for charsets we cannot decode (rendered as base64). */
export function textCodec(charset: string): TextCodec | undefined {
  if (codecCache.has(charset)) return codecCache.get(charset);
  const codec = makeCodec(charset);
  codecCache.set(charset, codec);
  return codec;
}

function makeCodec(charset: string): TextCodec | undefined {
  const cs = normalizeCharset(charset);
  if (cs === undefined) return undefined;
  switch (cs) {
    case "binary":
      return { kind: TextKind.BINARY, charset: cs };
    case "utf8mb3":
    case "utf8mb4":
      return { kind: TextKind.UTF8, charset: cs };
    case "latin1":
      return { kind: TextKind.CP1252, charset: cs };
    case "ascii":
      return { kind: TextKind.ASCII, charset: cs };
    case "ucs2":
    case "utf16":
      return { kind: TextKind.UTF16BE, charset: cs, decoder: sharedDecoder("utf-16be") };
    case "utf16le":
      return { kind: TextKind.UTF16LE, charset: cs };
    case "utf32":
      return { kind: TextKind.UTF32BE, charset: cs };
  }
  const label = WHATWG_LABELS[cs];
  if (label === undefined) return undefined;
  return { kind: TextKind.DECODER, charset: cs, decoder: sharedDecoder(label) };
}

function sharedDecoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (d === undefined) {
    d = new TextDecoder(label);
    decoders.set(label, d);
  }
  return d;
}

// Buffer's internal slice methods skip toString()'s argument checks; fall back if absent.
interface FastSlices {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  ucs2Slice(start: number, end: number): string;
}
const proto = Buffer.prototype as unknown as Partial<FastSlices>;
const HAS_FAST = typeof proto.utf8Slice === "function" && typeof proto.latin1Slice === "function";

export function utf8Text(buf: Buffer, start: number, end: number): string {
  return HAS_FAST ? (buf as unknown as FastSlices).utf8Slice(start, end) : buf.toString("utf8", start, end);
}

export function latin1Text(buf: Buffer, start: number, end: number): string {
  return HAS_FAST
    ? (buf as unknown as FastSlices).latin1Slice(start, end)
    : buf.toString("latin1", start, end);
}

/**
 * Text of one event's bytes, cheaply: pure-ASCII values (the common case) become substrings of
 * one Latin-1 string of the whole event, made once per event on first use. For ASCII bytes the
 * Latin-1, UTF-8 and cp1252 decodings are the same characters, and V8 makes a substring of 13+
 * characters a slice (a small object pointing into the parent) instead of a copy: that is
 * 3-5x cheaper than a `utf8Slice` call per value. Any value with a byte >= 0x80 goes through
 * its charset's full decoder. A retained value keeps its event's string (one event's bytes)
 * alive; nothing longer-lived.
 */
export class EventText {
  private buf: Buffer = Buffer.alloc(0);
  private str: string | undefined;
  /** The event's bytes as aligned 32-bit words (word j = bytes [4j - head, 4j - head + 4)). */
  private words: Int32Array | undefined;
  private head = 0;

  /** Starts a new event (or decompressed body): `buf` is what the next offsets refer to. */
  reset(buf: Buffer): void {
    this.buf = buf;
    this.str = undefined;
    this.words = undefined;
  }

  /** True when buf[s, e) holds only bytes < 0x80. */
  isAscii(s: number, e: number): boolean {
    const buf = this.buf;
    if (e - s < 16) {
      for (let k = s; k < e; k++) if ((buf[k] as number) >= 0x80) return false;
      return true;
    }
    const w = this.words ?? this.makeWords();
    const head = this.head;
    const first = (s + head + 3) >> 2; // first whole word inside [s, e)
    const last = (e + head) >> 2; // words [first, last) lie inside [s, e)
    for (let k = s, stop = (first << 2) - head; k < stop; k++) if ((buf[k] as number) >= 0x80) return false;
    let acc = 0;
    let j = first;
    for (const stop = last - 3; j < stop; j += 4) {
      acc |= (w[j] as number) | (w[j + 1] as number) | (w[j + 2] as number) | (w[j + 3] as number);
    }
    for (; j < last; j++) acc |= w[j] as number;
    if ((acc & 0x80808080) !== 0) return false;
    for (let k = (last << 2) - head; k < e; k++) if ((buf[k] as number) >= 0x80) return false;
    return true;
  }

  /** buf[s, e) as Latin-1 (one char per byte). */
  latin1(s: number, e: number): string {
    let str = this.str;
    if (str === undefined) {
      str = latin1Text(this.buf, 0, this.buf.length);
      this.str = str;
    }
    return str.slice(s, e);
  }

  /** UTF-8 text of buf[s, e). */
  utf8(s: number, e: number): string {
    return this.isAscii(s, e) ? this.latin1(s, e) : utf8Text(this.buf, s, e);
  }

  /** MySQL latin1 (cp1252) text of buf[s, e). */
  cp1252(s: number, e: number): string {
    return this.isAscii(s, e) ? this.latin1(s, e) : cp1252Text(this.buf, s, e);
  }

  private makeWords(): Int32Array {
    const buf = this.buf;
    const head = buf.byteOffset & 3;
    this.head = head;
    const w = new Int32Array(buf.buffer, buf.byteOffset - head, (buf.length + head) >> 2);
    this.words = w;
    return w;
  }
}

/** Windows-1252 bytes 0x80..0x9F. */
const CP1252_HIGH =
  "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F" +
  "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

export function cp1252Text(buf: Buffer, start: number, end: number): string {
  let i = start;
  while (i < end) {
    const b = buf[i] as number;
    if (b >= 0x80 && b < 0xa0) break;
    i++;
  }
  if (i === end) return latin1Text(buf, start, end);
  let s = latin1Text(buf, start, i);
  for (; i < end; i++) {
    const b = buf[i] as number;
    s += b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80] : String.fromCharCode(b);
  }
  return s;
}

export function utf16leText(buf: Buffer, start: number, end: number): string {
  return buf.toString("utf16le", start, end);
}

export function utf32beText(buf: Buffer, start: number, end: number): string {
  let s = "";
  for (let i = start; i + 4 <= end; i += 4) {
    const cp = buf.readUInt32BE(i);
    s += cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : "\uFFFD";
  }
  return s;
}

/** Decodes buf[start, end) with a codec (not for BINARY). */
export function decodeText(codec: TextCodec, buf: Buffer, start: number, end: number): string {
  switch (codec.kind) {
    case TextKind.UTF8:
      return utf8Text(buf, start, end);
    case TextKind.CP1252:
      return cp1252Text(buf, start, end);
    case TextKind.ASCII:
      return latin1Text(buf, start, end);
    case TextKind.UTF16LE:
      return utf16leText(buf, start, end);
    case TextKind.UTF32BE:
      return utf32beText(buf, start, end);
    case TextKind.UTF16BE:
    case TextKind.DECODER:
      return (codec.decoder as TextDecoder).decode(buf.subarray(start, end));
    default:
      return buf.toString("base64", start, end);
  }
}

/** Bytes of one space character in a charset (what CHAR pads with). */
export function spaceWidth(charset: string | undefined): number {
  switch (charset) {
    case "ucs2":
    case "utf16":
    case "utf16le":
      return 2;
    case "utf32":
      return 4;
    default:
      return 1;
  }
}
