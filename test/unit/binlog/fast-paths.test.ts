// The decoder's fast paths against their general (or independent reference) versions, on many
// pseudo-random inputs: each must give exactly the same text.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EventText } from "../../../src/server/binlog/charsets.js";
import { uint64Text } from "../../../src/server/binlog/column-values.js";
import { decimalBinSize, decodeDecimal } from "../../../src/server/binlog/decimal.js";
import {
  formatDouble,
  formatDoubleReference,
  formatFloat,
  formatFloatReference,
} from "../../../src/server/binlog/float-format.js";
import { intText, uintText, zeroPadded } from "../../../src/server/binlog/int-text.js";
import { RowsEncoder } from "../../../src/server/binlog/parallel/wire.js";
import { formatDate, formatDatetime, formatTime } from "../../../src/server/binlog/temporal.js";

/** A small deterministic PRNG (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

describe("FLOAT/DOUBLE fast paths equal the general my_gcvt path", () => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const f64 = new Float64Array(1);
  const u64 = new Uint32Array(f64.buffer);

  test("DOUBLE: random bit patterns, decimals and the range edges", () => {
    const r = rng(1);
    const xs: number[] = [1e-6, 1e15, 1e-7, 999999999999999.9, 0.000001, 0.000001 - 2 ** -72];
    for (let i = 0; i < 100_000; i++) {
      u64[0] = (r() * 4294967296) >>> 0;
      u64[1] = (r() * 4294967296) >>> 0;
      xs.push(f64[0] as number);
      xs.push((r() - 0.5) * 10 ** (Math.floor(r() * 26) - 10));
      xs.push(Number((r() * 1e6).toFixed(Math.floor(r() * 10))));
    }
    for (let e = -8; e <= 16; e++) {
      for (let d = -50; d <= 50; d++) xs.push(10 ** e * (1 + d * Number.EPSILON), -(10 ** e) + d);
    }
    for (const x of xs) assert.equal(formatDouble(x), formatDoubleReference(x), `${x}`);
  });

  test("FLOAT: random bit patterns, common magnitudes and exact 6-digit ties", () => {
    const r = rng(2);
    const xs: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      u32[0] = (r() * 4294967296) >>> 0;
      xs.push(f32[0] as number);
      f32[0] = (r() - 0.5) * 10 ** (Math.floor(r() * 16) - 8);
      xs.push(f32[0] as number);
    }
    // Exact ties at the 7th digit (x.5, x.25, x.75, ... at many scales) and decade carries.
    for (let e = -8; e <= 8; e++) {
      for (let i = 0; i < 300; i++) {
        const m = 100000 + Math.floor(r() * 900000);
        for (const frac of [0.5, 0.25, 0.75, 0.125, 0.375]) {
          f32[0] = (m + frac) * 10 ** e;
          xs.push(f32[0] as number, -(f32[0] as number));
        }
      }
    }
    for (let v = 999990; v < 1000010; v += 0.0625) {
      f32[0] = v;
      xs.push(f32[0] as number);
    }
    for (const x of [123456.5, 123457.5, 99999.95, 9.999995, 12345.25, 0.5, 1, 100, 0.1]) {
      f32[0] = x;
      xs.push(f32[0] as number);
    }
    for (const x of xs) assert.equal(formatFloat(x), formatFloatReference(x), `${x}`);
  });
});

describe("EventText", () => {
  test("isAscii agrees with a byte loop at every alignment and length", () => {
    const r = rng(3);
    const pool = Buffer.alloc(4096);
    for (let i = 0; i < pool.length; i++) pool[i] = Math.floor(r() * 128);
    const t = new EventText();
    for (let trial = 0; trial < 3000; trial++) {
      const off = Math.floor(r() * 64);
      const len = Math.floor(r() * 300);
      const buf = pool.subarray(off, off + len + 64);
      // sometimes one high byte somewhere (possibly outside the range checked)
      const saved: [number, number][] = [];
      if (r() < 0.7) {
        const at = Math.floor(r() * buf.length);
        saved.push([at, buf[at] as number]);
        buf[at] = 0x80 + Math.floor(r() * 128);
      }
      t.reset(buf);
      for (let q = 0; q < 10; q++) {
        const s = Math.floor(r() * buf.length);
        const e = s + Math.floor(r() * (buf.length - s + 1));
        let want = true;
        for (let k = s; k < e; k++) if ((buf[k] as number) >= 0x80) want = false;
        assert.equal(t.isAscii(s, e), want, `off ${off} [${s}, ${e})`);
        assert.equal(t.utf8(s, e), buf.toString("utf8", s, e));
      }
      for (const [at, v] of saved) buf[at] = v;
    }
  });

  test("cp1252 and latin1 text", () => {
    const buf = Buffer.from([0x41, 0x80, 0x9f, 0xe9, 0x20, 0x42]);
    const t = new EventText();
    t.reset(buf);
    assert.equal(t.cp1252(0, 6), "A€Ÿé B");
    assert.equal(t.latin1(0, 6), buf.toString("latin1"));
    assert.equal(t.cp1252(4, 6), " B");
  });
});

describe("integers", () => {
  test("uint64Text equals BigInt's text", () => {
    const r = rng(4);
    const b = Buffer.alloc(8);
    const cases: [number, number][] = [
      [0x200000, 0],
      [0xffffffff, 0xffffffff],
      [0x80000000, 0],
      [0x7fffffff, 0xffffffff],
    ];
    for (let i = 0; i < 50_000; i++) {
      cases.push([0x200000 + Math.floor(r() * (0x100000000 - 0x200000)), Math.floor(r() * 0x100000000)]);
    }
    for (const [hi, lo] of cases) {
      b.writeUInt32LE(lo, 0);
      b.writeUInt32LE(hi, 4);
      assert.equal(uint64Text(hi, lo), b.readBigUInt64LE(0).toString());
    }
  });

  test("intText, uintText and zeroPadded equal String(v) at every digit count and boundary", () => {
    const r = rng(6);
    const vals: number[] = [0, 2 ** 53, 2 ** 53 - 1];
    for (let p = 1; p <= 1e15; p *= 10) vals.push(p - 1, p, p + 1, 2 * p, 10 * p - 1);
    for (let i = 0; i < 20_000; i++) vals.push(i);
    for (let i = 0; i < 100_000; i++) vals.push(Math.floor(r() * 2 ** (1 + Math.floor(r() * 53))));
    for (const v of vals) {
      assert.equal(uintText(v), String(v));
      assert.equal(intText(v), String(v));
      assert.equal(intText(-v), v === 0 ? "0" : String(-v));
      if (v < 1e12) {
        for (const w of [1, 2, 4, 6, 9, 12]) assert.equal(zeroPadded(v, w), String(v).padStart(w, "0"));
      }
    }
  });

  test("the worker's digit writer equals String(v)", () => {
    const r = rng(5);
    const enc = new RowsEncoder();
    enc.reset(undefined, undefined);
    enc.startJob(1);
    const vals = [
      0,
      1,
      9,
      10,
      -1,
      -10,
      2147483647,
      -2147483648,
      2147483648,
      4294967295,
      2 ** 53 - 1,
      -(2 ** 53 - 1),
    ];
    for (let i = 0; i < 50_000; i++) vals.push(Math.floor((r() - 0.5) * 2 ** (1 + Math.floor(r() * 53))));
    for (const v of vals) {
      enc.int(0, v);
      const start = ~(enc.ranges[0] as number);
      const len = enc.ranges[1] as number;
      const text = Buffer.from(enc.fmt.buffer, enc.fmt.byteOffset + enc.fmtBase + start, len).toString(
        "latin1",
      );
      assert.equal(text, String(v));
      enc.ranges[1] = -1;
    }
  });
});

describe("temporal text equals a plain reference", () => {
  const p = (v: number, w: number) => String(v).padStart(w, "0");
  const frac = (us: number, fsp: number) => (fsp > 0 ? `.${p(us, 6).slice(0, fsp)}` : "");
  test("DATE, DATETIME, TIME at every precision, in and out of the usual ranges", () => {
    const r = rng(6);
    for (let i = 0; i < 100_000; i++) {
      const y = i % 97 === 0 ? Math.floor(r() * 20000) : Math.floor(r() * 10000);
      const mo = Math.floor(r() * 14);
      const d = Math.floor(r() * 33);
      const h = i % 89 === 0 ? Math.floor(r() * 1000) : Math.floor(r() * 100);
      const mi = Math.floor(r() * 64);
      const s = Math.floor(r() * 64);
      const us = Math.floor(r() * 1000000);
      const fsp = Math.floor(r() * 7);
      assert.equal(formatDate(y, mo, d), `${p(y, 4)}-${p(mo, 2)}-${p(d, 2)}`);
      const hh = h % 100;
      assert.equal(
        formatDatetime(y, mo, d, hh, mi, s, us, fsp),
        `${p(y, 4)}-${p(mo, 2)}-${p(d, 2)} ${p(hh, 2)}:${p(mi, 2)}:${p(s, 2)}${frac(us, fsp)}`,
      );
      const neg = i % 2 === 0;
      assert.equal(
        formatTime(neg, h, mi, s, us, fsp),
        `${neg ? "-" : ""}${p(h, 2)}:${p(mi, 2)}:${p(s, 2)}${frac(us, fsp)}`,
      );
    }
  });
});

describe("DECIMAL fast path", () => {
  const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
  /** MySQL decimal2bin. */
  function encode(neg: boolean, ip: string, fp: string, precision: number, scale: number): Buffer {
    const intg = precision - scale;
    const intDigits = ip.padStart(intg, "0");
    const fracDigits = fp.padEnd(scale, "0");
    const parts: Buffer[] = [];
    const put = (digits: string, n: number) => {
      const b = Buffer.alloc(n);
      if (n > 0) b.writeUIntBE(Number(digits), 0, n);
      parts.push(b);
    };
    const intg0x = intg % 9;
    if (intg0x > 0) put(intDigits.slice(0, intg0x), DIG2BYTES[intg0x] as number);
    for (let q = intg0x; q < intg; q += 9) put(intDigits.slice(q, q + 9), 4);
    const frac0 = Math.floor(scale / 9);
    for (let g = 0; g < frac0; g++) put(fracDigits.slice(g * 9, g * 9 + 9), 4);
    const frac0x = scale % 9;
    if (frac0x > 0) put(fracDigits.slice(frac0 * 9), DIG2BYTES[frac0x] as number);
    const out = Buffer.concat(parts);
    out[0] = (out[0] as number) ^ 0x80;
    if (neg) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) ^ 0xff;
    return out;
  }
  test("random values of DECIMAL(1..24, 0..12) round-trip to their text", () => {
    const r = rng(7);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join("");
    for (let i = 0; i < 30_000; i++) {
      const precision = 1 + Math.floor(r() * 24);
      const scale = Math.floor(r() * (Math.min(precision, 12) + 1));
      const intg = precision - scale;
      const ip = digits(Math.floor(r() * (intg + 1)));
      const fp = digits(scale);
      const neg = r() < 0.5;
      const bin = encode(neg, ip, fp, precision, scale);
      assert.equal(bin.length, decimalBinSize(precision, scale));
      const intText = ip.replace(/^0+/, "") || "0";
      const want = `${neg ? "-" : ""}${intText}${scale > 0 ? `.${fp}` : ""}`;
      assert.equal(decodeDecimal(bin, 0, precision, scale), want, `DECIMAL(${precision},${scale})`);
    }
  });
});
