// TABLE_MAP_EVENT: table id -> schema, table, column types and metadata, nullability and the
// optional metadata of binlog_row_metadata=MINIMAL/FULL (MySQL 8.0.1+, MariaDB 10.5+):
// signedness, charsets, column names, ENUM/SET labels, geometry types, primary key (simple
// and with prefix), ENUM/SET charsets, column visibility. Whatever the binlog lacks may come
// from a SchemaProvider; what neither gives stays undefined.
// MariaDB's compressed columns (VARCHAR/TEXT/BLOB ... COMPRESSED) are logged with their own type
// codes (141, 140) and are described here as the type they hold (VARCHAR, BLOB) with
// `compressed` set: everything but the bytes of their row values is that type's.
import { type BufferReader, readPacked } from "./buffer-reader.js";
import {
  charsetOfCollation,
  charsetOfCollationName,
  decodeText,
  normalizeCharset,
  TextKind,
  textCodec,
} from "./charsets.js";
import { fail } from "./errors.js";
import { JdbcType, ColumnType as T } from "./event-types.js";
import { type ProvidedColumn, parseColumnType, type SchemaProvider } from "./schema-provider.js";

export type Flavor = "mysql" | "mariadb";

export interface ColumnInfo {
  /** Ordinal position, 0-based. */
  index: number;
  name?: string;
  /**
   * MySQL type code with ENUM/SET resolved from STRING and MariaDB's compressed types resolved to
   * VARCHAR/BLOB (what the value really is).
   */
  type: number;
  /** Type code exactly as logged in the TABLE_MAP. */
  binlogType: number;
  /** Raw 0–2 byte type metadata from the TABLE_MAP. */
  meta: number;
  /**
   * MariaDB compressed column (binlog type 140/141): row values are in MariaDB's compressed
   * column format and are decompressed; `type`, `typeName`, `length`, the charset and the
   * values are those of the uncompressed type.
   */
  compressed?: boolean;
  /** SQL type as information_schema's COLUMN_TYPE spells it ("varchar(20)", "int unsigned"), when known. */
  typeName?: string;
  /** java.sql.Types code (canal's Column.sqlType). */
  jdbcType: number;
  /** Numeric columns: signedness when known (binlog SIGNEDNESS metadata or provider). */
  unsigned?: boolean;
  nullable: boolean;
  /** Text columns (incl. ENUM/SET, MariaDB JSON): normalized charset name, when known. */
  charset?: string;
  /** Collation id from the binlog, when logged. */
  collationId?: number;
  /** Member of the primary key, when known. */
  isKey?: boolean;
  /** Prefix length of a prefix primary key part (0 = whole column). */
  keyPrefix?: number;
  enumValues?: string[];
  setValues?: string[];
  /** GEOMETRY subtype code (0 geometry, 1 point, 2 linestring, 3 polygon, …) when logged. */
  geometryType?: number;
  /** False for MySQL INVISIBLE columns (when logged). */
  visible?: boolean;
  /** Byte length: CHAR/BINARY/VARCHAR max bytes, BLOB pack length, BIT bytes. */
  length?: number;
  precision?: number;
  scale?: number;
  /** Fractional-second digits of TIME/DATETIME/TIMESTAMP. */
  fsp?: number;
  /** How the row values of this column are spelled: text, or base64 of the exact bytes. */
  valueFormat: "text" | "base64";
  /** MariaDB extended type from the provider: "uuid" | "inet4" | "inet6". */
  extendedType?: "uuid" | "inet4" | "inet6";
  /**
   * MariaDB with mysql56_temporal_format=OFF logs TIME(n)/DATETIME(n)/TIMESTAMP(n), n > 0, as the
   * old type codes in its own "hires" format, without the precision in the TABLE_MAP. Set when
   * the provider's column type gives that precision; without it such values cannot be decoded.
   */
  mariadbHires?: boolean;
  /**
   * MariaDB TIME/DATETIME/TIMESTAMP in the old type codes whose fractional digits nothing gave
   * (no SchemaProvider answer): logged the same with or without them, in different formats, so
   * its values cannot be read (BinlogDecodeError with definitionNeeded).
   */
  precisionUnknown?: boolean;
}

export interface TableInfo {
  tableId: number;
  schema: string;
  name: string;
  columnCount: number;
  columns: ColumnInfo[];
  /** Primary key column indexes (binlog FULL metadata or provider), empty when unknown. */
  primaryKey: number[];
  /** TABLE_MAP flags. */
  flags: number;
  /** Where names/charsets came from. */
  metadataSource: "binlog-full" | "binlog-minimal" | "binlog-none";
  /** True when a SchemaProvider answered with a matching column count and was used. */
  providerUsed: boolean;
}

export interface TableMapContext {
  flavor: Flavor;
  schemaProvider?: SchemaProvider;
  /** Charset assumed for text columns whose charset nothing tells (else base64). */
  assumeCharset?: string;
}

interface OptionalMeta {
  signedness?: Buffer;
  defaultCharset?: number[];
  columnCharset?: number[];
  columnNames?: string[];
  setValues?: Buffer[][];
  enumValues?: Buffer[][];
  geometryTypes?: number[];
  primaryKey?: number[];
  primaryKeyPrefix?: number[];
  enumSetDefaultCharset?: number[];
  enumSetColumnCharset?: number[];
  visibility?: Buffer;
  any: boolean;
  full: boolean;
}

/** Size of the table id in TABLE_MAP / rows post-headers (6, or 4 for very old servers). */
export function tableIdSize(postHeaderLength: number): number {
  return postHeaderLength === 6 ? 4 : 6;
}

/**
 * Reads only the table id and name of a raw TABLE_MAP body: enough to decide whether the table
 * is wanted at all, without reading column metadata that might not be understood.
 */
export function readTableName(
  r: BufferReader,
  idSize: number,
): { tableId: number; schema: string; table: string } {
  const tableId = r.uintLE(idSize);
  r.skip(2);
  const schema = r.str(r.u8());
  r.skip(1);
  const table = r.str(r.u8());
  return { tableId, schema, table };
}

/** Reads the raw TABLE_MAP body. */
export function parseTableMap(r: BufferReader, idSize: number, ctx: TableMapContext): TableInfo {
  const tableId = r.uintLE(idSize);
  const flags = r.u16();
  const schemaLen = r.u8();
  const schema = r.str(schemaLen);
  r.skip(1);
  const nameLen = r.u8();
  const name = r.str(nameLen);
  r.skip(1);
  const columnCount = r.packed();
  if (columnCount > 4096) fail(`implausible column count ${columnCount}`);
  const types = r.bytes(columnCount);
  const metaLen = r.packed();
  const metaEnd = r.pos + metaLen;
  r.need(metaLen);
  const metas = new Array<number>(columnCount);
  for (let i = 0; i < columnCount; i++) {
    const t = types[i] as number;
    switch (t) {
      case T.FLOAT:
      case T.DOUBLE:
      case T.BLOB:
      case T.TINY_BLOB:
      case T.MEDIUM_BLOB:
      case T.LONG_BLOB:
      case T.BLOB_COMPRESSED:
      case T.GEOMETRY:
      case T.JSON:
      case T.VECTOR:
      case T.TIME2:
      case T.DATETIME2:
      case T.TIMESTAMP2:
        metas[i] = r.u8();
        break;
      case T.VARCHAR:
      case T.VAR_STRING:
      case T.VARCHAR_COMPRESSED:
      case T.BIT:
        metas[i] = r.u16();
        break;
      case T.NEWDECIMAL:
      case T.STRING:
      case T.ENUM:
      case T.SET: {
        const hi = r.u8();
        metas[i] = (hi << 8) | r.u8();
        break;
      }
      default:
        metas[i] = 0;
    }
  }
  if (r.pos !== metaEnd) fail(`column metadata length mismatch (${r.pos} != ${metaEnd})`);
  const nullBitmap = r.bytes((columnCount + 7) >> 3);
  const opt = parseOptionalMeta(r, columnCount);

  const columns: ColumnInfo[] = new Array(columnCount);
  for (let i = 0; i < columnCount; i++) {
    const binlogType = types[i] as number;
    const meta = metas[i] as number;
    columns[i] = {
      index: i,
      type: realType(binlogType, meta),
      binlogType,
      meta,
      jdbcType: JdbcType.OTHER,
      nullable: ((nullBitmap[i >> 3] as number) & (1 << (i & 7))) !== 0,
      valueFormat: "text",
    };
    if (binlogType === T.VARCHAR_COMPRESSED || binlogType === T.BLOB_COMPRESSED)
      (columns[i] as ColumnInfo).compressed = true;
  }
  applyOptionalMeta(columns, opt, ctx.flavor);

  let providerUsed = false;
  const provided = ctx.schemaProvider?.getTable(schema, name, columnCount);
  if (provided && provided.columns.length === columnCount) {
    providerUsed = true;
    for (let i = 0; i < columnCount; i++)
      applyProvided(columns[i] as ColumnInfo, provided.columns[i] as ProvidedColumn, ctx.flavor);
  }
  for (const c of columns) finishColumn(c, ctx);
  if (ctx.flavor === "mariadb" && !providerUsed) {
    for (const c of columns) {
      if (c.type === T.TIME || c.type === T.DATETIME || c.type === T.TIMESTAMP) c.precisionUnknown = true;
    }
  }

  const primaryKey: number[] = [];
  for (const c of columns) if (c.isKey) primaryKey.push(c.index);
  return {
    tableId,
    schema,
    name,
    columnCount,
    columns,
    primaryKey,
    flags,
    metadataSource: opt.full ? "binlog-full" : opt.any ? "binlog-minimal" : "binlog-none",
    providerUsed,
  };
}

/**
 * STRING columns carry the real type (ENUM/SET/STRING) in their metadata; MariaDB's compressed
 * types hold a VARCHAR or a BLOB (its size in the metadata, as for BLOB).
 */
export function realType(binlogType: number, meta: number): number {
  if (binlogType === T.STRING && meta >= 256) {
    const b0 = meta >> 8;
    if ((b0 & 0x30) !== 0x30) return b0 | 0x30;
    if (b0 === T.ENUM || b0 === T.SET) return b0;
    return T.STRING;
  }
  if (binlogType === T.NEWDATE) return T.DATE;
  if (binlogType === T.VARCHAR_COMPRESSED) return T.VARCHAR;
  if (binlogType === T.BLOB_COMPRESSED) return T.BLOB;
  return binlogType;
}

/** Max byte length of a CHAR column from its metadata. */
export function stringMaxLength(meta: number): number {
  if (meta >= 256) {
    const b0 = meta >> 8;
    const b1 = meta & 0xff;
    if ((b0 & 0x30) !== 0x30) return b1 | (((b0 & 0x30) ^ 0x30) << 4);
    return b1;
  }
  return meta;
}

function parseOptionalMeta(r: BufferReader, n: number): OptionalMeta {
  const o: OptionalMeta = { any: false, full: false };
  while (r.remaining > 0) {
    const type = r.u8();
    const len = r.packed();
    const v = r.bytes(len);
    o.any = true;
    switch (type) {
      case 1:
        o.signedness = v;
        break;
      case 2:
        o.defaultCharset = intSeq(v);
        break;
      case 3:
        o.columnCharset = intSeq(v);
        break;
      case 4: {
        const names: string[] = [];
        let p = 0;
        while (p < v.length) {
          let l: number;
          [l, p] = readPacked(v, p, v.length);
          if (p + l > v.length) fail("column name out of bounds");
          names.push(v.toString("utf8", p, p + l));
          p += l;
        }
        if (names.length !== n) fail(`expected ${n} column names, got ${names.length}`);
        o.columnNames = names;
        o.full = true;
        break;
      }
      case 5:
        o.setValues = strValues(v);
        o.full = true;
        break;
      case 6:
        o.enumValues = strValues(v);
        o.full = true;
        break;
      case 7:
        o.geometryTypes = intSeq(v);
        break;
      case 8:
        o.primaryKey = intSeq(v);
        o.primaryKeyPrefix = o.primaryKey.map(() => 0);
        o.full = true;
        break;
      case 9: {
        const seq = intSeq(v);
        o.primaryKey = [];
        o.primaryKeyPrefix = [];
        for (let i = 0; i + 1 < seq.length; i += 2) {
          o.primaryKey.push(seq[i] as number);
          o.primaryKeyPrefix.push(seq[i + 1] as number);
        }
        o.full = true;
        break;
      }
      case 10:
        o.enumSetDefaultCharset = intSeq(v);
        break;
      case 11:
        o.enumSetColumnCharset = intSeq(v);
        break;
      case 12:
        o.visibility = v;
        break;
      default:
        // unknown field: skipped (TLV), for forward compatibility
        break;
    }
  }
  return o;
}

function intSeq(v: Buffer): number[] {
  const out: number[] = [];
  let p = 0;
  while (p < v.length) {
    let x: number;
    [x, p] = readPacked(v, p, v.length);
    out.push(x);
  }
  return out;
}

function strValues(v: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  let p = 0;
  while (p < v.length) {
    let count: number;
    [count, p] = readPacked(v, p, v.length);
    const vals: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      let l: number;
      [l, p] = readPacked(v, p, v.length);
      if (p + l > v.length) fail("ENUM/SET value out of bounds");
      vals.push(v.subarray(p, p + l));
      p += l;
    }
    out.push(vals);
  }
  return out;
}

/**
 * Numeric columns, in the sense of the SIGNEDNESS bitmap. MySQL 8.4 counts YEAR (verified on
 * the mysql84 fixture: bitmap 0x22 = u_big and y); MariaDB does too (verified live on 10.11).
 */
function isNumeric(type: number): boolean {
  switch (type) {
    case T.YEAR:
    case T.TINY:
    case T.SHORT:
    case T.INT24:
    case T.LONG:
    case T.LONGLONG:
    case T.NEWDECIMAL:
    case T.DECIMAL:
    case T.FLOAT:
    case T.DOUBLE:
      return true;
    default:
      return false;
  }
}

/** Character columns, in the sense of the (DEFAULT_|COLUMN_)CHARSET metadata. */
function isCharacter(c: ColumnInfo, flavor: Flavor): boolean {
  switch (c.type) {
    case T.STRING:
    case T.VAR_STRING:
    case T.VARCHAR:
    case T.BLOB:
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
      return true;
    case T.GEOMETRY:
      return flavor === "mariadb";
    default:
      return false;
  }
}

function isEnumOrSet(c: ColumnInfo): boolean {
  return c.type === T.ENUM || c.type === T.SET;
}

function collations(
  columns: ColumnInfo[],
  include: (c: ColumnInfo) => boolean,
  def: number[] | undefined,
  per: number[] | undefined,
): Map<number, number> | undefined {
  if (def && def.length > 0) {
    const overrides = new Map<number, number>();
    for (let i = 1; i + 1 < def.length; i += 2) overrides.set(def[i] as number, def[i + 1] as number);
    const out = new Map<number, number>();
    let k = 0;
    for (const c of columns) {
      if (!include(c)) continue;
      out.set(c.index, overrides.get(k) ?? (def[0] as number));
      k++;
    }
    return out;
  }
  if (per && per.length > 0) {
    const out = new Map<number, number>();
    let k = 0;
    for (const c of columns) {
      if (!include(c)) continue;
      if (k < per.length) out.set(c.index, per[k] as number);
      k++;
    }
    return out;
  }
  return undefined;
}

function applyOptionalMeta(columns: ColumnInfo[], o: OptionalMeta, flavor: Flavor): void {
  if (o.signedness) {
    let k = 0;
    for (const c of columns) {
      if (!isNumeric(c.type)) continue;
      const byte = o.signedness[k >> 3];
      if (byte !== undefined) c.unsigned = (byte & (0x80 >> (k & 7))) !== 0;
      k++;
    }
  }
  const cs = collations(columns, (c) => isCharacter(c, flavor), o.defaultCharset, o.columnCharset);
  const es = collations(columns, isEnumOrSet, o.enumSetDefaultCharset, o.enumSetColumnCharset);
  for (const map of [cs, es]) {
    if (!map) continue;
    for (const [i, id] of map) {
      const c = columns[i] as ColumnInfo;
      c.collationId = id;
      const name = charsetOfCollation(id);
      if (name !== undefined) c.charset = name;
    }
  }
  if (o.columnNames)
    for (let i = 0; i < columns.length; i++) (columns[i] as ColumnInfo).name = o.columnNames[i];
  const labelsOf = (c: ColumnInfo, raw: Buffer[]): string[] => {
    const codec = c.charset ? textCodec(c.charset) : undefined;
    return raw.map((b) =>
      codec && codec.kind !== TextKind.BINARY ? decodeText(codec, b, 0, b.length) : b.toString("utf8"),
    );
  };
  if (o.enumValues) {
    let k = 0;
    for (const c of columns) {
      if (c.type !== T.ENUM) continue;
      const raw = o.enumValues[k++];
      if (raw) c.enumValues = labelsOf(c, raw);
    }
  }
  if (o.setValues) {
    let k = 0;
    for (const c of columns) {
      if (c.type !== T.SET) continue;
      const raw = o.setValues[k++];
      if (raw) c.setValues = labelsOf(c, raw);
    }
  }
  if (o.geometryTypes) {
    let k = 0;
    for (const c of columns) {
      if (c.type !== T.GEOMETRY) continue;
      const g = o.geometryTypes[k++];
      if (g !== undefined) c.geometryType = g;
    }
  }
  if (o.primaryKey) {
    for (const c of columns) c.isKey = false;
    o.primaryKey.forEach((idx, j) => {
      const c = columns[idx];
      if (c) {
        c.isKey = true;
        c.keyPrefix = o.primaryKeyPrefix?.[j] ?? 0;
      }
    });
  }
  if (o.visibility) {
    for (const c of columns) {
      const byte = o.visibility[c.index >> 3];
      if (byte !== undefined) c.visible = (byte & (0x80 >> (c.index & 7))) !== 0;
    }
  }
}

function applyProvided(c: ColumnInfo, p: ProvidedColumn, flavor: Flavor): void {
  if (p.name !== undefined && c.name === undefined) c.name = p.name;
  const parsed = p.columnType
    ? parseColumnType(p.columnType)
    : p.dataType
      ? parseColumnType(p.dataType)
      : undefined;
  // Only a fallback: finishColumn() derives typeName from the binlog's type and metadata (and
  // what the provider filled in below) whenever it can, so that a lookup never changes it.
  if (p.columnType) c.typeName = normalizeTypeName(p.columnType);
  if (c.unsigned === undefined) {
    if (p.unsigned !== undefined) c.unsigned = p.unsigned;
    else if (parsed && isNumeric(c.type)) c.unsigned = parsed.unsigned;
  }
  if (c.charset === undefined) {
    // information_schema has no charset for BINARY, VARBINARY and BLOB types: binary.
    const cs =
      normalizeCharset(p.charset) ??
      charsetOfCollationName(p.collation) ??
      (parsed && BINARY_TYPE_NAMES.has(parsed.base) ? "binary" : undefined);
    if (cs !== undefined) c.charset = cs;
  }
  if (p.isKey !== undefined && c.isKey === undefined) c.isKey = p.isKey;
  if (c.type === T.ENUM && c.enumValues === undefined) c.enumValues = p.enumValues ?? parsed?.labels;
  if (c.type === T.SET && c.setValues === undefined) c.setValues = p.setValues ?? parsed?.labels;
  if (parsed && c.type === T.STRING) {
    if (parsed.base === "uuid") c.extendedType = "uuid";
    else if (parsed.base === "inet4") c.extendedType = "inet4";
    else if (parsed.base === "inet6") c.extendedType = "inet6";
  }
  if (
    parsed &&
    (c.type === T.TIME || c.type === T.DATETIME || c.type === T.TIMESTAMP) &&
    (parsed.args[0] ?? 0) > 0 &&
    flavor === "mariadb"
  ) {
    c.fsp = parsed.args[0];
    c.mariadbHires = true;
  }
  if (parsed && c.type === T.GEOMETRY && c.geometryType === undefined) {
    const g = GEOMETRY_NAMES.indexOf(parsed.base);
    if (g >= 0) c.geometryType = g;
  }
  if (parsed && (c.type === T.FLOAT || c.type === T.DOUBLE) && parsed.args.length === 2) {
    c.scale = parsed.args[1];
    c.precision = parsed.args[0];
  }
}

const BINARY_TYPE_NAMES: ReadonlySet<string> = new Set([
  "binary",
  "varbinary",
  "tinyblob",
  "blob",
  "mediumblob",
  "longblob",
]);

/** Maximum bytes per character (for "varchar(N)" from a byte length). */
const MBMAXLEN: Record<string, number> = {
  utf8mb4: 4,
  utf8mb3: 3,
  ucs2: 2,
  utf16: 4,
  utf16le: 4,
  utf32: 4,
  gbk: 2,
  gb2312: 2,
  gb18030: 4,
  big5: 2,
  sjis: 2,
  cp932: 2,
  ujis: 3,
  eucjpms: 3,
  euckr: 2,
};

/**
 * Fills in typeName, jdbcType, length and valueFormat from the type and what is known of it.
 *
 * jdbcType is canal's Column.sqlType (RowsLogBuffer.mysqlToJavaType, then LogEventConvert):
 * binary data of any kind (BINARY, VARBINARY, BLOB, GEOMETRY) is BLOB, text types CLOB, YEAR
 * and JSON VARCHAR, an ENUM's index INTEGER and a SET's bitmask BIT. Where sluice differs,
 * on purpose: UNSIGNED integers are one size up for the column, not only for the values past
 * the signed range (canal's sqlType changes from row to row); an ENUM or SET whose labels are
 * known is VARCHAR, because its value is the label, not the number canal sends (its adapters
 * parse an INTEGER value as a number); MySQL's VECTOR, which canal does not know (OTHER), is
 * binary data, BLOB. docs/api.md has the table; test/unit/binlog/sql-types.test.ts holds the
 * two together.
 */
function finishColumn(c: ColumnInfo, ctx: TableMapContext): void {
  const m = c.meta;
  const textual =
    c.type === T.STRING ||
    c.type === T.VARCHAR ||
    c.type === T.VAR_STRING ||
    isBlob(c.type) ||
    isEnumOrSet(c);
  if (textual && c.charset === undefined && ctx.assumeCharset !== undefined && !isEnumOrSet(c)) {
    c.charset = normalizeCharset(ctx.assumeCharset);
  }
  const binary = c.charset === "binary";
  const codecOk = c.charset !== undefined && textCodec(c.charset) !== undefined;
  let name: string | undefined;
  const uns = c.unsigned ? " unsigned" : "";
  switch (c.type) {
    case T.TINY:
      name = `tinyint${uns}`;
      c.jdbcType = c.unsigned ? JdbcType.SMALLINT : JdbcType.TINYINT;
      break;
    case T.SHORT:
      name = `smallint${uns}`;
      c.jdbcType = c.unsigned ? JdbcType.INTEGER : JdbcType.SMALLINT;
      break;
    case T.INT24:
      name = `mediumint${uns}`;
      c.jdbcType = JdbcType.INTEGER;
      break;
    case T.LONG:
      name = `int${uns}`;
      c.jdbcType = c.unsigned ? JdbcType.BIGINT : JdbcType.INTEGER;
      break;
    case T.LONGLONG:
      name = `bigint${uns}`;
      c.jdbcType = c.unsigned ? JdbcType.DECIMAL : JdbcType.BIGINT;
      break;
    case T.NEWDECIMAL:
    case T.DECIMAL:
      c.precision = m >> 8;
      c.scale = m & 0xff;
      name = `decimal(${c.precision},${c.scale})${uns}`;
      c.jdbcType = JdbcType.DECIMAL;
      break;
    case T.FLOAT:
      name = c.scale !== undefined ? `float(${c.precision},${c.scale})${uns}` : `float${uns}`;
      c.jdbcType = JdbcType.REAL;
      break;
    case T.DOUBLE:
      name = c.scale !== undefined ? `double(${c.precision},${c.scale})${uns}` : `double${uns}`;
      c.jdbcType = JdbcType.DOUBLE;
      break;
    case T.BIT: {
      const bits = (m >> 8) * 8 + (m & 0xff);
      c.length = (bits + 7) >> 3;
      name = `bit(${bits})`;
      c.jdbcType = JdbcType.BIT;
      break;
    }
    case T.YEAR:
      name = "year";
      c.jdbcType = JdbcType.VARCHAR;
      break;
    case T.DATE:
      name = "date";
      c.jdbcType = JdbcType.DATE;
      break;
    case T.TIME:
    case T.TIME2:
      c.fsp = c.type === T.TIME2 ? m : (c.fsp ?? 0);
      name = c.fsp ? `time(${c.fsp})` : "time";
      c.jdbcType = JdbcType.TIME;
      break;
    case T.DATETIME:
    case T.DATETIME2:
      c.fsp = c.type === T.DATETIME2 ? m : (c.fsp ?? 0);
      name = c.fsp ? `datetime(${c.fsp})` : "datetime";
      c.jdbcType = JdbcType.TIMESTAMP;
      break;
    case T.TIMESTAMP:
    case T.TIMESTAMP2:
      c.fsp = c.type === T.TIMESTAMP2 ? m : (c.fsp ?? 0);
      name = c.fsp ? `timestamp(${c.fsp})` : "timestamp";
      c.jdbcType = JdbcType.TIMESTAMP;
      break;
    case T.VARCHAR:
    case T.VAR_STRING: {
      // A compressed VARCHAR's metadata counts the compression header byte too.
      const bytes = c.compressed ? Math.max(m - 1, 0) : m;
      c.length = bytes;
      const chars = binary ? bytes : c.charset ? Math.floor(bytes / (MBMAXLEN[c.charset] ?? 1)) : undefined;
      name = binary ? `varbinary(${bytes})` : chars !== undefined ? `varchar(${chars})` : undefined;
      c.jdbcType = binary ? JdbcType.BLOB : JdbcType.VARCHAR;
      break;
    }
    case T.STRING: {
      const len = stringMaxLength(m);
      c.length = len;
      const chars = binary ? len : c.charset ? Math.floor(len / (MBMAXLEN[c.charset] ?? 1)) : undefined;
      name = binary ? `binary(${len})` : chars !== undefined ? `char(${chars})` : undefined;
      c.jdbcType = binary ? JdbcType.BLOB : JdbcType.CHAR;
      if (c.extendedType) {
        name = c.extendedType;
        c.jdbcType = JdbcType.CHAR;
      }
      break;
    }
    case T.BLOB:
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB: {
      c.length = m;
      const size = ["tiny", "", "medium", "long"][m - 1] ?? "";
      name = c.charset === undefined ? undefined : binary ? `${size}blob` : `${size}text`;
      c.jdbcType = binary || c.charset === undefined ? JdbcType.BLOB : JdbcType.CLOB;
      break;
    }
    case T.ENUM:
      name = c.enumValues ? `enum(${c.enumValues.map(sqlQuote).join(",")})` : "enum";
      c.jdbcType = c.enumValues ? JdbcType.VARCHAR : JdbcType.INTEGER;
      break;
    case T.SET:
      name = c.setValues ? `set(${c.setValues.map(sqlQuote).join(",")})` : "set";
      c.jdbcType = c.setValues ? JdbcType.VARCHAR : JdbcType.BIT;
      break;
    case T.JSON:
      name = "json";
      c.jdbcType = JdbcType.VARCHAR;
      break;
    case T.GEOMETRY:
      name = GEOMETRY_NAMES[c.geometryType ?? 0] ?? "geometry";
      c.jdbcType = JdbcType.BLOB;
      break;
    case T.VECTOR:
      name = "vector";
      c.jdbcType = JdbcType.BLOB;
      break;
    case T.NULL:
      name = "null";
      break;
  }
  if (name !== undefined) c.typeName = name;
  // How values are spelled
  if (c.type === T.GEOMETRY || c.type === T.VECTOR || c.type === T.BIT) {
    c.valueFormat = c.type === T.BIT ? "text" : "base64";
  } else if (c.type === T.STRING || c.type === T.VARCHAR || c.type === T.VAR_STRING || isBlob(c.type)) {
    c.valueFormat = c.extendedType ? "text" : binary || !codecOk ? "base64" : "text";
  }
  if (c.type === T.GEOMETRY) c.charset = undefined;
}

const GEOMETRY_NAMES = [
  "geometry",
  "point",
  "linestring",
  "polygon",
  "multipoint",
  "multilinestring",
  "multipolygon",
  "geometrycollection",
];

/**
 * A provider's COLUMN_TYPE in typeName's spelling (for the few columns whose type the binlog
 * cannot name): lower-case type words, no integer display width, no ZEROFILL, no MariaDB
 * comment, e.g. "INT(11) UNSIGNED ZEROFILL" -> "int unsigned", "year(4)" -> "year",
 * "varchar(20) /*M!100301 COMPRESSED*\/" -> "varchar(20)".
 */
export function normalizeTypeName(columnType: string): string {
  const t = columnType
    .replace(/\s*\/\*[^'*]*\*\/\s*$/, "")
    .trim()
    .replace(/\s+/g, " ");
  const paren = t.indexOf("(");
  const base = (paren < 0 ? t : t.slice(0, paren)).toLowerCase();
  let out = paren < 0 ? base : base + t.slice(paren);
  if (/^(tinyint|smallint|mediumint|int|integer|bigint|year)\(/.test(out)) out = out.replace(/\(\d*\)/, "");
  return out.replace(/ zerofill\b/i, "").replace(/ unsigned\b/i, " unsigned");
}

function sqlQuote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function isBlob(t: number): boolean {
  return t === T.BLOB || t === T.TINY_BLOB || t === T.MEDIUM_BLOB || t === T.LONG_BLOB;
}
