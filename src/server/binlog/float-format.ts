// FLOAT / DOUBLE -> text exactly as MySQL and MariaDB print them (strings/dtoa.c my_gcvt and
// my_fcvt, as used by Field_float/Field_double::val_str and the text protocol).
//
// my_gcvt(x, type, width): dtoa mode 4 with ndigits = width (DOUBLE) or min(width, FLT_DIG=6)
// (FLOAT), i.e. the shortest round-trip digits when they fit, else correctly rounded digits
// (ties to even). The servers pass a wide field (69+ chars), so:
//   DOUBLE: shortest round-trip digits of the double;
//   FLOAT:  the float widened to double, shortest digits if at most 6, else rounded to 6.
// Format: with decpt the decimal exponent (value = 0.DIGITS × 10^decpt) and len the digit
// count, fixed notation iff -14 <= decpt && (decpt <= 15 || len > decpt)
// (MAX_DECPT_FOR_F_FORMAT = DBL_DIG = 15); else "d.ddde[-]N" without '+' or zero padding.
// Examples: 1e15 -> "1e15", 123456789012345.6 -> "123456789012345.6", 1e-15 -> "0.000000000000001",
// 1e-16 -> "1e-16", FLOAT 3.4028234e38 -> "3.40282e38", FLOAT 123456.5 -> "123456" (tie to even).
//
// FLOAT(M,D)/DOUBLE(M,D) print with exactly D decimals (my_fcvt, dtoa mode 3, ties to even);
// the binlog does not carry D: it comes from the SchemaProvider's column type.

import { uintText } from "./int-text.js";

interface Digits {
  digits: string;
  decpt: number;
}

/** Parses "1.2345e+21", "0.00012", "123.45" (absolute value) into significant digits + decpt. */
function parseDigits(s: string): Digits {
  let mant = s;
  let exp = 0;
  const e = s.indexOf("e");
  if (e >= 0) {
    mant = s.slice(0, e);
    exp = Number(s.slice(e + 1));
  }
  const dot = mant.indexOf(".");
  let intLen = dot < 0 ? mant.length : dot;
  let all = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  // strip leading zeros
  let lead = 0;
  while (lead < all.length - 1 && all.charCodeAt(lead) === 48) lead++;
  all = all.slice(lead);
  intLen -= lead;
  // strip trailing zeros
  let end = all.length;
  while (end > 1 && all.charCodeAt(end - 1) === 48) end--;
  all = all.slice(0, end);
  return { digits: all, decpt: intLen + exp };
}

function shortestDigits(abs: number): Digits {
  // toExponential() with no argument gives the shortest round-trip digits.
  const s = abs.toExponential();
  const e = s.indexOf("e");
  const exp = Number(s.slice(e + 1));
  const digits = s.charCodeAt(1) === 46 ? s[0] + s.slice(2, e) : s.slice(0, e);
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
  return { digits: digits.slice(0, end), decpt: exp + 1 };
}

/** Exact equality of a double with the decimal DIGITS × 10^exp10 (BigInt arithmetic). */
function exactlyEquals(x: number, digits: string, exp10: number): boolean {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (biased === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = biased - 1075;
  }
  let lhs = mant;
  let rhs = BigInt(digits);
  if (e2 > 0) lhs <<= BigInt(e2);
  else rhs <<= BigInt(-e2);
  if (exp10 > 0) rhs *= 10n ** BigInt(exp10);
  else lhs *= 10n ** BigInt(-exp10);
  return lhs === rhs;
}

/** Correctly rounded `n` significant digits, ties to even (dtoa modes 2/4). */
function roundedDigits(abs: number, n: number): Digits {
  const longer = abs.toPrecision(n + 1);
  const ld = parseDigitsKeep(longer);
  if (ld.digits.length === n + 1 && ld.digits.charCodeAt(n) === 53 /* '5' */) {
    // Possible exact tie: toPrecision rounds ties up, dtoa rounds them to even.
    if (exactlyEquals(abs, ld.digits, ld.decpt - (n + 1))) {
      const lastKept = ld.digits.charCodeAt(n - 1) - 48;
      if (lastKept % 2 === 0) return parseDigits(`0.${ld.digits.slice(0, n)}e${ld.decpt}`);
    }
  }
  return parseDigits(abs.toPrecision(n));
}

/** Like parseDigits but keeps trailing zeros (for tie detection). */
function parseDigitsKeep(s: string): Digits {
  let mant = s;
  let exp = 0;
  const e = s.indexOf("e");
  if (e >= 0) {
    mant = s.slice(0, e);
    exp = Number(s.slice(e + 1));
  }
  const dot = mant.indexOf(".");
  let intLen = dot < 0 ? mant.length : dot;
  let all = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  let lead = 0;
  while (lead < all.length - 1 && all.charCodeAt(lead) === 48) lead++;
  all = all.slice(lead);
  intLen -= lead;
  return { digits: all, decpt: intLen + exp };
}

const ZEROS = "000000000000000000000000000000";

function zeros(n: number): string {
  let s = "";
  while (s.length + ZEROS.length <= n) s += ZEROS;
  return s + ZEROS.slice(0, n - s.length);
}

/** my_gcvt's layout for a wide field. */
function layout(negative: boolean, d: Digits): string {
  const { digits, decpt } = d;
  const len = digits.length;
  const sign = negative ? "-" : "";
  if (decpt >= -14 && (decpt <= 15 || len > decpt)) {
    if (decpt <= 0) return `${sign}0.${zeros(-decpt)}${digits}`;
    if (decpt >= len) return sign + digits + zeros(decpt - len);
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const exp = decpt - 1;
  const mant = len > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${mant}e${exp}`;
}

function isNegative(x: number): boolean {
  return x < 0 || Object.is(x, -0);
}

/** DOUBLE as the server prints it. */
export function formatDouble(x: number): string {
  // Fast path: for 1e-6 <= |x| < 1e15, JavaScript's Number-to-String is exactly my_gcvt.
  // Both print the shortest round-trip digits (V8's ToString and toExponential() share one
  // shortest-digits routine, which formatDoubleReference relies on), and with decpt the
  // decimal exponent of those digits (value = 0.DIGITS x 10^decpt), x >= 1e-6 gives decpt >= -5
  // (digits that round to x > the double nearest 1e-6 exceed 1e-6; that double itself is
  // "1", decpt -5) and x < 1e15 (exact) gives decpt <= 15. For -5 <= decpt <= 15 both use
  // fixed notation (ECMAScript: -6 < n <= 21; my_gcvt: -14 <= decpt <= 15) and lay it out
  // the same way: "0." + zeros + digits, digits + zeros, or a point inside the digits, with
  // a leading "-" for negatives and no trailing zeros after the point.
  // JSON.stringify of a finite number is that same Number-to-String, but made without V8's
  // number-to-string cache, which `${x}` fills and which keeps each result alive through the
  // next young-generation GC (see int-text.ts); it is also faster here (about 220 against 380
  // ns per random double, measured).
  if ((x >= 1e-6 && x < 1e15) || (x <= -1e-6 && x > -1e15)) return JSON.stringify(x);
  return formatDoubleReference(x);
}

/** DOUBLE as the server prints it: the general (slower) path, for every double. */
export function formatDoubleReference(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const neg = x < 0;
  return layout(neg, shortestDigits(neg ? -x : x));
}

/**
 * FLOAT (already widened to double) as the server prints it.
 *
 * my_gcvt gives the shortest digits of the double when there are at most 6, else the
 * digits correctly rounded to 6 (ties to even). Both are the 6-digit correct rounding of x
 * with trailing zeros dropped: shortest digits S of at most 6 digits lie on the 6-digit grid
 * and within half a double ulp (relative 2^-53) of x, far closer than half a grid step
 * (relative 5e-7), so rounding x to 6 digits lands on S. The fast path takes V8's
 * toPrecision(6) (correctly rounded, exact ties rounded up) when it is in fixed notation
 * (1e-6 <= |x| < 1e6 after rounding), where my_gcvt also prints fixed notation (decpt
 * -5..6) the same way once trailing fraction zeros are dropped, and when x is provably not an
 * exact tie; everything else goes through formatFloatReference.
 */
export function formatFloat(x: number): string {
  const neg = x < 0;
  const a = neg ? -x : x;
  if (a >= 1e-6 && a < 999999.5) {
    const six = sixDigitsFixed(a);
    if (six !== undefined) return neg ? `-${six}` : six;
    const p = a.toPrecision(6);
    if (p.indexOf("e") < 0 && !maybeTie(a, p)) {
      const out = trimFixed(p);
      return neg ? `-${out}` : out;
    }
  }
  return formatFloatReference(x);
}

/** 10^k, k = 0..11: exact doubles. */
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11];
/** 10^d for d = -6..5, the lower bound of each decade in the fixed range. */
const DECADES = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4, 1e5];
const POINT_ZEROS = ["0.", "0.0", "0.00", "0.000", "0.0000", "0.00000"];

/**
 * formatFloat's text for a FLOAT value 1e-6 <= a < 999999.5, from integer arithmetic: about half
 * the cost of the toPrecision(6) path (80-96 against 153-190 ns a value). Undefined (take that
 * path) when `a` is not a float or may lie within 1e-9 of a rounding tie.
 * - The decade d (10^d <= a < 10^(d+1)) is exact: the doubles nearest 10^-1..10^-6 differ
 *   from the powers themselves by under 1e-16 relative, and floats are 6e-8 apart.
 * - y = a x 10^(5-d), one multiplication by an exact power of ten (5-d <= 11), is within
 *   2^-53 x 2^20 (1.2e-10) of the true product, which lies in [1e5, 1e6): unless y's fraction
 *   is within 1e-9 of one half, rounding y to an integer rounds the true product the same way,
 *   giving its 6 correctly rounded digits (no tie, so ties-to-even does not arise).
 * - Laid out as my_gcvt does in fixed notation, which the range guarantees: the digits with
 *   the point after d + 1 of them (or "0." and -d - 1 zeros first), trailing zeros dropped.
 */
function sixDigitsFixed(a: number): string | undefined {
  if (Math.fround(a) !== a) return undefined;
  let d = 5;
  while (a < (DECADES[d + 6] as number)) d--;
  const y = a * (POW10[5 - d] as number);
  const floor = Math.floor(y);
  const frac = y - floor;
  if (frac > 0.5 - 1e-9 && frac < 0.5 + 1e-9) return undefined;
  let r = frac > 0.5 ? floor + 1 : floor;
  if (r === 1e6) {
    r = 1e5;
    d++;
  }
  let n = 6; // significant digits once trailing zeros are dropped
  while (r % 10 === 0 && n > 1) {
    r /= 10;
    n--;
  }
  const digits = uintText(r);
  if (d < 0) return (POINT_ZEROS[-d - 1] as string) + digits;
  if (n <= d + 1) return n === d + 1 ? digits : digits + "00000".slice(0, d + 1 - n);
  return `${digits.slice(0, d + 1)}.${digits.slice(d + 1)}`;
}

/** FLOAT as the server prints it: the general (slower) path. */
export function formatFloatReference(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const neg = x < 0;
  const abs = neg ? -x : x;
  let d = shortestDigits(abs);
  if (d.digits.length > 6) d = roundedDigits(abs, 6);
  return layout(neg, d);
}

/** A fixed-notation toPrecision(6) result ("123.450", "0.00123457", "123457") without its
 * trailing fraction zeros (and then without a bare point). */
function trimFixed(p: string): string {
  const dot = p.indexOf(".");
  if (dot < 0) return p;
  let end = p.length;
  while (p.charCodeAt(end - 1) === 48) end--;
  if (end - 1 === dot) end--;
  return end === p.length ? p : p.slice(0, end);
}

const POW5 = [1, 5, 25, 125, 625, 3125, 15625, 78125, 390625, 1953125, 9765625, 48828125, 244140625];

/**
 * Whether `a` may be an exact tie for 6 significant digits, given p = a.toPrecision(6) in
 * fixed notation. toPrecision rounds an exact tie up, so a tie is a = P - h, with P the
 * printed value and h half a unit of its 6th digit: a = t x 10^k / 2 with t = 2p - 1 odd
 * (p: the 6 digits as an integer) and k the exponent of the 6th digit; when P is a power of
 * ten (rounded up into a new decade), the tie lies one decade below: t = 1999999, k - 1.
 * Checked exactly in double arithmetic; true (take the slow path) whenever that is not possible.
 */
function maybeTie(a: number, p: string): boolean {
  let digits = 0;
  let k = 0;
  let afterDot = false;
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === 46) {
      afterDot = true;
      continue;
    }
    if (afterDot) k--;
    digits = digits * 10 + (c - 48);
    if (digits !== 0) n++;
  }
  // p has 6 significant digits: `digits` (leading zeros gone) x 10^k is P.
  if (n !== 6) return true; // not the expected shape
  let t = 2 * digits - 1;
  if (digits === 100000) {
    t = 1999999;
    k--;
  }
  if (k >= 0) return k > 9 || (t * 10 ** k) / 2 === a; // t x 10^k < 2^53: exact
  const m = -k;
  if (m >= POW5.length) return true;
  const f = POW5[m] as number;
  if (t % f !== 0) return false; // t x 10^k / 2 is not a binary fraction: a (a double) cannot equal it
  return (t / f) * 2 ** (k - 1) === a; // exact: integer < 2^21 times a power of two
}

/** my_fcvt: exactly `dec` decimals (FLOAT(M,D) / DOUBLE(M,D) / fixed-decimal expressions). */
export function formatFixed(x: number, dec: number): string {
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  const neg = isNegative(x) && x !== 0;
  const abs = Math.abs(x);
  let body: string;
  if (abs >= 1e21) {
    body = BigInt(abs).toString() + (dec > 0 ? `.${zeros(dec)}` : "");
  } else {
    body = abs.toFixed(dec);
    // toFixed rounds exact ties up; dtoa mode 3 rounds them to even.
    const longer = abs.toFixed(dec + 1);
    if (longer.charCodeAt(longer.length - 1) === 53) {
      const digits = longer.replace(".", "");
      if (exactlyEquals(abs, digits, -(dec + 1))) {
        const kept = longer.slice(0, dec === 0 ? -2 : -1);
        const lastKept = kept.charCodeAt(kept.length - 1) - 48;
        if (lastKept % 2 === 0) body = kept;
      }
    }
  }
  // "-0.00" is printed when a negative value rounds to zero (my_fcvt keeps the sign).
  return neg ? `-${body}` : body;
}

/** A JSON DOUBLE as MySQL prints it: my_gcvt plus ".0" when neither '.' nor 'e' appears. */
export function formatJsonDouble(x: number): string {
  const s = formatDouble(x);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 || c === 101) return s;
  }
  return `${s}.0`;
}
