// Column values as JavaScript values. The API sends every value as exact text (docs/api.md,
// "Value text rules") with its java.sql.Types code and MySQL column type beside it; this
// turns the text into the natural JS type while the text itself stays available.
import type { Column } from "../../gen/sluice/v1/entry_pb.js";

/**
 * A column value as JavaScript reads it:
 * - null: SQL NULL; undefined: the row image did not carry the column (Column.omitted);
 * - number: TINYINT, SMALLINT, MEDIUMINT, INT (signed), FLOAT, DOUBLE, YEAR;
 * - bigint: BIGINT, INT UNSIGNED, BIGINT UNSIGNED, BIT;
 * - Date: DATE (midnight UTC), DATETIME and TIMESTAMP (the wall-clock text read in
 *   `timeZone`, UTC by default; microseconds are only in the text);
 * - Buffer: every value the API sends as base64 (Column.base64): BINARY, VARBINARY, BLOB,
 *   GEOMETRY, VECTOR, and text in a charset the server cannot decode (the exact bytes). Where
 *   there is no Buffer (a browser) these bytes are a plain Uint8Array;
 * - string: everything else, exactly as sent: DECIMAL (exact), TIME (may exceed 24 h), zero
 *   dates ("0000-00-00"), text, ENUM, SET, JSON.
 */
export type ColumnValue = null | undefined | number | bigint | string | Date | Buffer;

/** java.sql.Types codes the API uses (docs/api.md, "sqlType"). */
export const SqlType = {
  BIT: -7,
  TINYINT: -6,
  SMALLINT: 5,
  INTEGER: 4,
  BIGINT: -5,
  DECIMAL: 3,
  REAL: 7,
  DOUBLE: 8,
  CHAR: 1,
  VARCHAR: 12,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  BLOB: 2004,
  CLOB: 2005,
} as const;

export interface ValueOptions {
  /**
   * How DATETIME and TIMESTAMP text is read into a Date: "UTC" (default) or a fixed offset
   * such as "+08:00". TIMESTAMP text is in the source server's time zone: pass that one.
   */
  timeZone?: string;
}

/** The column's value as a JS value; see ColumnValue for the mapping. */
export function columnValue(col: Column, opts: ValueOptions = {}): ColumnValue {
  if (col.omitted) return undefined;
  if (col.isNull) return null;
  const text = col.value;
  // base64 says how the value is spelled whatever its type; sqlType BLOB also covers servers
  // from before that field, which sent binary data as BLOB only.
  if (col.base64 || col.sqlType === SqlType.BLOB) return base64Bytes(text);
  const mysqlType = col.mysqlType.toLowerCase();
  switch (col.sqlType) {
    case SqlType.TINYINT:
    case SqlType.SMALLINT:
    case SqlType.INTEGER:
    case SqlType.REAL:
    case SqlType.DOUBLE:
      // INTEGER is also an ENUM's index when labels are unknown: still a number.
      return Number(text);
    case SqlType.BIGINT:
    case SqlType.BIT:
      return BigInt(text);
    case SqlType.DECIMAL:
      // BIGINT UNSIGNED travels as DECIMAL (one size up); a real DECIMAL stays exact text.
      return mysqlType.startsWith("bigint") ? BigInt(text) : text;
    case SqlType.DATE:
      return isZeroDate(text) ? text : new Date(`${text}T00:00:00Z`);
    case SqlType.TIMESTAMP:
      return isZeroDate(text) ? text : dateTime(text, opts.timeZone ?? "UTC");
    case SqlType.VARCHAR:
      return mysqlType.startsWith("year") ? Number(text) : text;
    default:
      return text;
  }
}

/** Column name -> JS value for one row image (omitted columns are left out). */
export function columnValues(columns: Column[], opts: ValueOptions = {}): Record<string, ColumnValue> {
  const out: Record<string, ColumnValue> = {};
  for (const c of columns) {
    if (c.omitted) continue;
    out[c.name || `#${c.index}`] = columnValue(c, opts);
  }
  return out;
}

function isZeroDate(text: string): boolean {
  return text.startsWith("0000-00-00");
}

function dateTime(text: string, timeZone: string): Date {
  const zone = timeZone.toUpperCase() === "UTC" ? "Z" : timeZone;
  if (zone !== "Z" && !/^[+-]\d\d:\d\d$/.test(zone)) {
    throw new RangeError(`timeZone must be "UTC" or an offset like "+08:00", got "${timeZone}"`);
  }
  // "YYYY-MM-DD HH:MM:SS[.ffffff]": JS dates keep milliseconds, so cut to three digits.
  const [date, time = "00:00:00"] = text.split(" ");
  const [hms, frac = ""] = time.split(".");
  const ms = frac ? `.${frac.slice(0, 3).padEnd(3, "0")}` : "";
  return new Date(`${date}T${hms}${ms}${zone}`);
}

/** Base64 text as bytes: a Buffer under Node, a Uint8Array in a browser (which has no Buffer). */
function base64Bytes(text: string): Buffer {
  const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  if (NodeBuffer !== undefined) return NodeBuffer.from(text, "base64");
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes as Buffer;
}
