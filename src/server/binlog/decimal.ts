// DECIMAL (MYSQL_TYPE_NEWDECIMAL) binary format -> exact text, as the server prints it:
// integer part without leading zeros ("0" when empty), then exactly `scale` fraction digits.
//
// Format (MySQL strings/decimal.cc, bin2decimal): the number is split into groups of nine
// decimal digits, each stored big-endian in 4 bytes; a leading (integer) or trailing (fraction)
// partial group of n digits uses DIG2BYTES[n] bytes. The sign is the inverted top bit of the
// first byte; negative numbers have every byte inverted.
import { fail } from "./errors.js";
import { uintText, zeroPadded } from "./int-text.js";

const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];
const scratch = new Uint8Array(40);

/** Bytes a DECIMAL(precision, scale) value occupies in a row image. */
export function decimalBinSize(precision: number, scale: number): number {
  const intg = precision - scale;
  const intg0 = (intg / 9) | 0;
  const frac0 = (scale / 9) | 0;
  return (
    intg0 * 4 + (DIG2BYTES[intg - intg0 * 9] as number) + frac0 * 4 + (DIG2BYTES[scale - frac0 * 9] as number)
  );
}

function pad(v: number, width: number): string {
  return zeroPadded(v, width);
}

/**
 * Decodes a DECIMAL(precision, scale) at buf[pos]; the caller checks that
 * decimalBinSize(precision, scale) bytes are available.
 */
export function decodeDecimal(
  buf: Buffer | Uint8Array,
  pos: number,
  precision: number,
  scale: number,
): string {
  if (precision < 1 || precision > 65 || scale < 0 || scale > 38 || scale > precision) {
    fail(`invalid DECIMAL(${precision},${scale})`);
  }
  const intg = precision - scale;
  const intg0 = (intg / 9) | 0;
  const intg0x = intg - intg0 * 9;
  const frac0 = (scale / 9) | 0;
  const frac0x = scale - frac0 * 9;
  const size = intg0 * 4 + (DIG2BYTES[intg0x] as number) + frac0 * 4 + (DIG2BYTES[frac0x] as number);
  const negative = ((buf[pos] as number) & 0x80) === 0;
  const mask = negative ? 0xff : 0;
  if (intg <= 15 && scale <= 9) return smallDecimal(buf, pos, negative, mask, intg0, intg0x, frac0, frac0x);
  for (let i = 0; i < size; i++) scratch[i] = (buf[pos + i] as number) ^ mask;
  scratch[0] = (scratch[0] as number) ^ 0x80;

  let p = 0;
  let intPart = "";
  let started = false;
  if (intg0x > 0) {
    const n = DIG2BYTES[intg0x] as number;
    const v = readBE(n, p);
    p += n;
    if (v >= (POW10[intg0x] as number)) fail("corrupt DECIMAL digits");
    if (v !== 0) {
      intPart = uintText(v);
      started = true;
    }
  }
  for (let g = 0; g < intg0; g++) {
    const v = readBE(4, p);
    p += 4;
    if (v > 999999999) fail("corrupt DECIMAL digits");
    if (started) intPart += pad(v, 9);
    else if (v !== 0) {
      intPart = uintText(v);
      started = true;
    }
  }
  if (!started) intPart = "0";
  if (scale === 0) return negative ? `-${intPart}` : intPart;
  let frac = "";
  for (let g = 0; g < frac0; g++) {
    const v = readBE(4, p);
    p += 4;
    if (v > 999999999) fail("corrupt DECIMAL digits");
    frac += pad(v, 9);
  }
  if (frac0x > 0) {
    const n = DIG2BYTES[frac0x] as number;
    const v = readBE(n, p);
    if (v >= (POW10[frac0x] as number)) fail("corrupt DECIMAL digits");
    frac += pad(v, frac0x);
  }
  return negative ? `-${intPart}.${frac}` : `${intPart}.${frac}`;
}

/** Big-endian n bytes at buf[p], each XORed with mask; the DECIMAL's first byte (at `first`) also has its sign bit flipped. */
function groupAt(buf: Buffer | Uint8Array, p: number, n: number, mask: number, first: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    let b = (buf[p + k] as number) ^ mask;
    if (p + k === first) b ^= 0x80;
    v = v * 256 + b;
  }
  return v;
}

/**
 * DECIMAL with at most 15 integer digits (exact as a double) and at most 9 fraction digits
 * (one group): the same text and the same corruption checks as the general path, without the
 * scratch copy and the per-group strings.
 */
function smallDecimal(
  buf: Buffer | Uint8Array,
  pos: number,
  negative: boolean,
  mask: number,
  intg0: number,
  intg0x: number,
  frac0: number,
  frac0x: number,
): string {
  let p = pos;
  let ip = 0;
  if (intg0x > 0) {
    const n = DIG2BYTES[intg0x] as number;
    ip = groupAt(buf, p, n, mask, pos);
    p += n;
    if (ip >= (POW10[intg0x] as number)) fail("corrupt DECIMAL digits");
  }
  for (let g = 0; g < intg0; g++) {
    const v = groupAt(buf, p, 4, mask, pos);
    p += 4;
    if (v > 999999999) fail("corrupt DECIMAL digits");
    ip = ip * 1000000000 + v;
  }
  const intPart = uintText(ip);
  let frac: string;
  if (frac0 === 1) {
    const v = groupAt(buf, p, 4, mask, pos);
    if (v > 999999999) fail("corrupt DECIMAL digits");
    frac = pad(v, 9);
  } else if (frac0x > 0) {
    const v = groupAt(buf, p, DIG2BYTES[frac0x] as number, mask, pos);
    if (v >= (POW10[frac0x] as number)) fail("corrupt DECIMAL digits");
    frac = zeroPadded(v, frac0x);
  } else return negative ? `-${intPart}` : intPart;
  return negative ? `-${intPart}.${frac}` : `${intPart}.${frac}`;
}

function readBE(n: number, p: number): number {
  switch (n) {
    case 1:
      return scratch[p] as number;
    case 2:
      return ((scratch[p] as number) << 8) | (scratch[p + 1] as number);
    case 3:
      return ((scratch[p] as number) << 16) | ((scratch[p + 1] as number) << 8) | (scratch[p + 2] as number);
    default:
      return (
        (scratch[p] as number) * 0x1000000 +
        (((scratch[p + 1] as number) << 16) | ((scratch[p + 2] as number) << 8) | (scratch[p + 3] as number))
      );
  }
}
