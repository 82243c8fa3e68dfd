// Unit tests of the value decoders: DECIMAL, temporals, FLOAT/DOUBLE text, charsets.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  charsetOfCollation,
  charsetOfCollationName,
  decodeText,
  textCodec,
} from "../../../src/server/binlog/charsets.js";
import { decimalBinSize, decodeDecimal } from "../../../src/server/binlog/decimal.js";
import {
  formatDouble,
  formatFixed,
  formatFloat,
  formatJsonDouble,
} from "../../../src/server/binlog/float-format.js";
import {
  decodeDate,
  decodeDatetime2,
  decodeDatetimeOld,
  decodeTime2,
  decodeTimeOld,
  decodeTimestamp2,
  decodeTimestampOld,
  decodeYear,
  timeZoneOffset,
} from "../../../src/server/binlog/temporal.js";

// ---- DECIMAL ---------------------------------------------------------------------------

const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/** MySQL decimal2bin, for test vectors. */
function encodeDecimal(text: string, precision: number, scale: number): Buffer {
  const neg = text.startsWith("-");
  const [ip = "", fp = ""] = (neg ? text.slice(1) : text).split(".");
  const intg = precision - scale;
  const intDigits = ip.replace(/^0+/, "").padStart(intg, "0");
  assert.ok(intDigits.length <= intg, `${text} fits DECIMAL(${precision},${scale})`);
  const fracDigits = fp.padEnd(scale, "0");
  const parts: Buffer[] = [];
  const intg0x = intg % 9;
  const put = (digits: string, n: number) => {
    const b = Buffer.alloc(n);
    if (n > 0) b.writeUIntBE(Number(digits), 0, n);
    parts.push(b);
  };
  if (intg0x > 0) put(intDigits.slice(0, intg0x), DIG2BYTES[intg0x] as number);
  for (let p = intg0x; p < intg; p += 9) put(intDigits.slice(p, p + 9), 4);
  const frac0 = Math.floor(scale / 9);
  for (let g = 0; g < frac0; g++) put(fracDigits.slice(g * 9, g * 9 + 9), 4);
  const frac0x = scale % 9;
  if (frac0x > 0) put(fracDigits.slice(frac0 * 9), DIG2BYTES[frac0x] as number);
  const out = Buffer.concat(parts);
  out[0] = (out[0] as number) ^ 0x80;
  if (neg) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) ^ 0xff;
  return out;
}

describe("DECIMAL", () => {
  test("MySQL manual vectors: DECIMAL(14,4) ±1234567890.1234", () => {
    assert.equal(decodeDecimal(Buffer.from("810DFB38D204D2", "hex"), 0, 14, 4), "1234567890.1234");
    assert.equal(decodeDecimal(Buffer.from("7EF204C72DFB2D", "hex"), 0, 14, 4), "-1234567890.1234");
    assert.equal(decimalBinSize(14, 4), 7);
  });

  const cases: [string, number, number, string?][] = [
    ["-12345678901234567.0123456789", 30, 10],
    ["1.50", 10, 2],
    ["0.00", 10, 2],
    ["-0.01", 10, 2],
    ["0", 10, 0],
    ["9999999999", 10, 0],
    ["-9999999999", 10, 0],
    ["0.00001", 5, 5],
    ["-0.99999", 5, 5],
    ["0.12345", 5, 5],
    ["99999999999999999999999999999999999.999999999999999999999999999999", 65, 30],
    ["-99999999999999999999999999999999999.999999999999999999999999999999", 65, 30],
    ["-0.000000000000000000000000000001", 65, 30],
    ["1000000000.000000001", 65, 30, "1000000000.000000001000000000000000000000"],
    ["000123.4", 8, 2, "123.40"],
    ["0.00000000000000000000000000000000000001", 38, 38],
    ["123456789", 9, 0],
    ["-1", 1, 0],
    ["5", 1, 0],
    ["12345678.9", 9, 1],
  ];
  for (const [text, p, s, want] of cases) {
    test(`DECIMAL(${p},${s}) ${text}`, () => {
      const bin = encodeDecimal(text, p, s);
      assert.equal(bin.length, decimalBinSize(p, s));
      const expected = want ?? (s > 0 && !text.includes(".") ? `${text}.${"0".repeat(s)}` : text);
      assert.equal(decodeDecimal(bin, 0, p, s), expected);
    });
  }

  test("digits out of range are an error, not a value", () => {
    const bin = Buffer.from("80FFFFFFFF", "hex"); // DECIMAL(9,0) group 0xFFFFFFFF > 999999999... first byte sign
    assert.throws(() => decodeDecimal(bin, 0, 10, 0));
  });
});

// ---- temporals -------------------------------------------------------------------------

/** MySQL my_time_packed_to_binary for TIME2. */
function encodeTime2(neg: boolean, h: number, m: number, s: number, usec: number, fsp: number): Buffer {
  const hms = (h << 12) | (m << 6) | s;
  let packed = BigInt(hms) * 16777216n + BigInt(usec);
  if (neg) packed = -packed;
  const intPart = packed >> 24n; // arithmetic shift (floor)
  const fracPart = packed % 16777216n; // C remainder (sign of dividend)
  const out = Buffer.alloc(3 + ((fsp + 1) >> 1));
  if (fsp === 5 || fsp === 6) {
    out.writeUIntBE(Number(packed + 0x800000000000n), 0, 6);
    return out;
  }
  out.writeUIntBE(Number(intPart + 0x800000n), 0, 3);
  if (fsp === 1 || fsp === 2) out.writeInt8(Number(fracPart / 10000n), 3);
  else if (fsp === 3 || fsp === 4) out.writeInt16BE(Number(fracPart / 100n), 3);
  return out;
}

function encodeDatetime2(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  usec: number,
  fsp: number,
): Buffer {
  const ymd = (((y * 13 + mo) << 5) | d) >>> 0;
  const hms = (h << 12) | (mi << 6) | s;
  const intPart = BigInt(ymd) * 131072n + BigInt(hms);
  const out = Buffer.alloc(5 + ((fsp + 1) >> 1));
  out.writeUIntBE(Number(intPart + 0x8000000000n), 0, 5);
  writeFrac(out, 5, usec, fsp);
  return out;
}

function writeFrac(out: Buffer, at: number, usec: number, fsp: number): void {
  if (fsp === 1 || fsp === 2) out[at] = Math.floor(usec / 10000);
  else if (fsp === 3 || fsp === 4) out.writeUInt16BE(Math.floor(usec / 100), at);
  else if (fsp === 5 || fsp === 6) out.writeUIntBE(usec, at, 3);
}

describe("temporal types", () => {
  test("TIME2 with every precision, negative values and hours beyond 24", () => {
    const cases: [boolean, number, number, number, number, number, string][] = [
      [true, 1, 2, 3, 500000, 3, "-01:02:03.500"],
      [false, 838, 59, 59, 0, 0, "838:59:59"],
      [true, 838, 59, 59, 0, 0, "-838:59:59"],
      [true, 0, 0, 0, 500000, 1, "-00:00:00.5"],
      [true, 1, 2, 3, 400000, 1, "-01:02:03.4"],
      [false, 12, 34, 56, 780000, 2, "12:34:56.78"],
      [true, 0, 0, 1, 1000, 3, "-00:00:01.001"],
      [true, 838, 59, 58, 999900, 4, "-838:59:58.9999"],
      [false, 100, 0, 0, 100, 4, "100:00:00.0001"],
      [true, 0, 0, 0, 10, 5, "-00:00:00.00001"],
      [true, 0, 0, 0, 1, 6, "-00:00:00.000001"],
      [false, 23, 59, 59, 999999, 6, "23:59:59.999999"],
      [false, 0, 0, 0, 0, 6, "00:00:00.000000"],
      [false, 0, 0, 0, 0, 0, "00:00:00"],
      [true, 0, 0, 1, 0, 2, "-00:00:01.00"],
    ];
    for (const [neg, h, m, s, us, fsp, want] of cases) {
      assert.equal(decodeTime2(encodeTime2(neg, h, m, s, us, fsp), 0, fsp), want, want);
    }
  });

  test("DATETIME2 with every precision, zero dates and partial zero dates", () => {
    assert.equal(
      decodeDatetime2(encodeDatetime2(2024, 6, 15, 12, 34, 56, 789000, 3), 0, 3),
      "2024-06-15 12:34:56.789",
    );
    assert.equal(
      decodeDatetime2(encodeDatetime2(9999, 12, 31, 23, 59, 59, 999999, 6), 0, 6),
      "9999-12-31 23:59:59.999999",
    );
    assert.equal(
      decodeDatetime2(encodeDatetime2(1000, 1, 1, 0, 0, 0, 100000, 1), 0, 1),
      "1000-01-01 00:00:00.1",
    );
    assert.equal(decodeDatetime2(encodeDatetime2(0, 0, 0, 0, 0, 0, 0, 0), 0, 0), "0000-00-00 00:00:00");
    assert.equal(decodeDatetime2(encodeDatetime2(0, 0, 0, 0, 0, 0, 0, 4), 0, 4), "0000-00-00 00:00:00.0000");
    assert.equal(decodeDatetime2(encodeDatetime2(2024, 0, 0, 0, 0, 0, 0, 0), 0, 0), "2024-00-00 00:00:00");
    assert.equal(
      decodeDatetime2(encodeDatetime2(2024, 2, 29, 1, 2, 3, 50000, 2), 0, 2),
      "2024-02-29 01:02:03.05",
    );
    assert.equal(
      decodeDatetime2(encodeDatetime2(2024, 2, 29, 1, 2, 3, 78900, 5), 0, 5),
      "2024-02-29 01:02:03.07890",
    );
  });

  test("TIMESTAMP2 in UTC, fixed offsets and IANA zones (DST), zero with fsp", () => {
    const ts = (sec: number, usec: number, fsp: number) => {
      const b = Buffer.alloc(4 + ((fsp + 1) >> 1));
      b.writeUInt32BE(sec, 0);
      writeFrac(b, 4, usec, fsp);
      return b;
    };
    const utc = timeZoneOffset("UTC");
    assert.equal(decodeTimestamp2(ts(1718454896, 0, 0), 0, 0, utc), "2024-06-15 12:34:56");
    assert.equal(decodeTimestamp2(ts(1718454896, 123456, 6), 0, 6, utc), "2024-06-15 12:34:56.123456");
    assert.equal(decodeTimestamp2(ts(0, 0, 3), 0, 3, utc), "0000-00-00 00:00:00.000");
    assert.equal(decodeTimestamp2(ts(2147483647, 0, 0), 0, 0, utc), "2038-01-19 03:14:07");
    assert.equal(decodeTimestamp2(ts(1, 0, 0), 0, 0, timeZoneOffset("+05:30")), "1970-01-01 05:30:01");
    assert.equal(
      decodeTimestamp2(ts(1718454896, 500000, 1), 0, 1, timeZoneOffset("-08:00")),
      "2024-06-15 04:34:56.5",
    );
    const paris = timeZoneOffset("Europe/Paris");
    // 2024-03-31 01:59:59 UTC = 03:59:59 CEST; 00:59:59 UTC = 01:59:59 CET
    assert.equal(decodeTimestamp2(ts(1711846799, 0, 0), 0, 0, paris), "2024-03-31 01:59:59");
    assert.equal(decodeTimestamp2(ts(1711846800, 0, 0), 0, 0, paris), "2024-03-31 03:00:00");
    assert.equal(decodeTimestamp2(ts(1718454896, 0, 0), 0, 0, paris), "2024-06-15 14:34:56");
    const custom = timeZoneOffset(() => 3600);
    assert.equal(decodeTimestamp2(ts(1718454896, 0, 0), 0, 0, custom), "2024-06-15 13:34:56");
  });

  test("old TIME, DATETIME, TIMESTAMP (before MySQL 5.6.4), DATE and YEAR", () => {
    const t = Buffer.alloc(3);
    t.writeIntLE(-8385959, 0, 3);
    assert.equal(decodeTimeOld(t, 0), "-838:59:59");
    t.writeIntLE(123456, 0, 3);
    assert.equal(decodeTimeOld(t, 0), "12:34:56");
    const dt = Buffer.alloc(8);
    dt.writeBigUInt64LE(20240615123456n);
    assert.equal(decodeDatetimeOld(dt, 0), "2024-06-15 12:34:56");
    dt.writeBigUInt64LE(0n);
    assert.equal(decodeDatetimeOld(dt, 0), "0000-00-00 00:00:00");
    const ts = Buffer.alloc(4);
    ts.writeUInt32LE(1718454896);
    assert.equal(decodeTimestampOld(ts, 0, timeZoneOffset("UTC")), "2024-06-15 12:34:56");
    ts.writeUInt32LE(0);
    assert.equal(decodeTimestampOld(ts, 0, timeZoneOffset("UTC")), "0000-00-00 00:00:00");
    const d = Buffer.alloc(3);
    d.writeUIntLE((2024 << 9) | (6 << 5) | 15, 0, 3);
    assert.equal(decodeDate(d, 0), "2024-06-15");
    d.writeUIntLE(0, 0, 3);
    assert.equal(decodeDate(d, 0), "0000-00-00");
    d.writeUIntLE(2024 << 9, 0, 3);
    assert.equal(decodeDate(d, 0), "2024-00-00");
    assert.equal(decodeYear(Buffer.from([0]), 0), "0000");
    assert.equal(decodeYear(Buffer.from([124]), 0), "2024");
    assert.equal(decodeYear(Buffer.from([255]), 0), "2155");
  });
});

// ---- FLOAT / DOUBLE --------------------------------------------------------------------

describe("FLOAT and DOUBLE text (my_gcvt), as verified against the mariadb client", () => {
  const f32 = (x: number) => Math.fround(x);
  test("DOUBLE", () => {
    const cases: [number, string][] = [
      [1.25, "1.25"],
      [-2.5, "-2.5"],
      [0.1, "0.1"],
      [1e20, "1e20"],
      [1.7976931348623157e308, "1.7976931348623157e308"],
      [1e-7, "0.0000001"],
      [Number("123456789012345678"), "1.2345678901234568e17"],
      [1e15, "1e15"],
      [123456789012345.6, "123456789012345.6"],
      [1e-14, "0.00000000000001"],
      [1e-15, "0.000000000000001"],
      [1e-16, "1e-16"],
      [1e16, "1e16"],
      [0.30000000000000004, "0.30000000000000004"],
      [5e-324, "5e-324"],
      [2.2250738585072014e-308, "2.2250738585072014e-308"],
      [1e100, "1e100"],
      [0, "0"],
      [100, "100"],
      [123456789012345, "123456789012345"],
      [-1.5e-7, "-0.00000015"],
    ];
    for (const [x, want] of cases) assert.equal(formatDouble(x), want, String(x));
  });

  test("FLOAT (6 significant digits, ties to even)", () => {
    const cases: [number, string][] = [
      [1.25, "1.25"],
      [0.1, "0.1"],
      [3.4028234e38, "3.40282e38"],
      [-3.4028234e38, "-3.40282e38"],
      [1e20, "1e20"],
      [1e-7, "0.0000001"],
      [123456.5, "123456"],
      [123457.5, "123458"],
      [1234567, "1234570"],
      [1e-14, "0.00000000000001"],
      [1e-15, "0.000000000000001"],
      [1e16, "1e16"],
      [0.3, "0.3"],
      [16777217, "16777200"],
      [-0.000123456789, "-0.000123457"],
      [2.5e-5, "0.000025"],
      [100, "100"],
      [12345.675, "12345.7"],
      [1.5, "1.5"],
    ];
    for (const [x, want] of cases) assert.equal(formatFloat(f32(x)), want, String(x));
  });

  test("FLOAT(M,D) / DOUBLE(M,D) with fixed decimals", () => {
    assert.equal(formatFixed(f32(1.5), 2), "1.50");
    assert.equal(formatFixed(2.25, 3), "2.250");
    assert.equal(formatFixed(1e6, 3), "1000000.000");
    assert.equal(formatFixed(f32(99999.99), 2), "99999.99");
    assert.equal(formatFixed(-9999999.999, 3), "-9999999.999");
    assert.equal(formatFixed(0, 2), "0.00");
    assert.equal(formatFixed(0.125, 2), "0.12", "exact tie rounds to even");
    assert.equal(formatFixed(0.375, 2), "0.38");
    assert.equal(formatFixed(1e21, 1), "1000000000000000000000.0");
  });

  test("JSON doubles get .0 when integral", () => {
    assert.equal(formatJsonDouble(1.5), "1.5");
    assert.equal(formatJsonDouble(1), "1.0");
    assert.equal(formatJsonDouble(1e14), "100000000000000.0");
    assert.equal(formatJsonDouble(1e16), "1e16");
    assert.equal(formatJsonDouble(-1.5e-7), "-0.00000015");
  });
});

// ---- charsets --------------------------------------------------------------------------

describe("charsets", () => {
  const dec = (cs: string, bytes: Buffer) => {
    const codec = textCodec(cs);
    assert.ok(codec, cs);
    return decodeText(codec, bytes, 0, bytes.length);
  };

  test("collation ids map to charsets (MySQL 8, MariaDB, UCA 14.0.0)", () => {
    assert.equal(charsetOfCollation(255), "utf8mb4");
    assert.equal(charsetOfCollation(45), "utf8mb4");
    assert.equal(charsetOfCollation(33), "utf8mb3");
    assert.equal(charsetOfCollation(8), "latin1");
    assert.equal(charsetOfCollation(63), "binary");
    assert.equal(charsetOfCollation(35), "ucs2");
    assert.equal(charsetOfCollation(309), "utf8mb4");
    assert.equal(charsetOfCollation(248), "gb18030");
    assert.equal(charsetOfCollation(2048 + (1 << 8) + 8), "utf8mb4");
    assert.equal(charsetOfCollation(2048 + (2 << 8)), "ucs2");
    assert.equal(charsetOfCollation(9999), undefined);
    assert.equal(charsetOfCollationName("utf8mb4_0900_ai_ci"), "utf8mb4");
    assert.equal(charsetOfCollationName("utf8_general_ci"), "utf8mb3");
    assert.equal(charsetOfCollationName("binary"), "binary");
  });

  test("latin1 is Windows-1252", () => {
    const all = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) all[i] = 0x80 + i;
    assert.equal(dec("latin1", all), "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ");
    assert.equal(dec("latin1", Buffer.from("caf\xe9 \xf1", "latin1")), "café ñ");
    assert.equal(dec("latin1", Buffer.from("9f802073", "hex")), "Ÿ€ s");
  });

  test("ucs2/utf16 big-endian, utf16le, utf32, gbk, sjis, euckr, koi8r", () => {
    assert.equal(dec("ucs2", Buffer.from("006800e9", "hex")), "hé");
    assert.equal(dec("utf16", Buffer.from("d83dde00", "hex")), "😀");
    assert.equal(dec("utf16le", Buffer.from("3dd800de", "hex")), "😀");
    assert.equal(dec("utf32", Buffer.from("0001f60000000061", "hex")), "😀a");
    assert.equal(dec("gbk", Buffer.from("d6d0cec4", "hex")), "中文");
    assert.equal(dec("sjis", Buffer.from("8341", "hex")), "ア");
    assert.equal(dec("euckr", Buffer.from("c7d1b1b9", "hex")), "한국");
    assert.equal(dec("koi8r", Buffer.from("f0d2c9d7c5d4", "hex")), "Привет");
    assert.equal(textCodec("dec8"), undefined, "unsupported charsets fall back to base64");
  });
});
