// QUERY_EVENT (and MariaDB QUERY_COMPRESSED_EVENT): a statement, its default database and
// session status variables (schema, charsets, time zone, sql_mode, …). BEGIN / COMMIT /
// ROLLBACK / DDL are recognised from the first keyword.
import { inflateSync } from "node:zlib";
import { BufferReader } from "./buffer-reader.js";
import { charsetOfCollation, decodeText, TextKind, textCodec } from "./charsets.js";
import { BinlogDecodeError, fail } from "./errors.js";
import type { QueryEvent, QueryStatement } from "./events.js";

type QueryBody = Omit<QueryEvent, "type" | "header" | "position">;

export function parseQuery(r: BufferReader, postHeaderLength: number, compressed: boolean): QueryBody {
  const threadId = r.u32();
  const executionTime = r.u32();
  const schemaLength = r.u8();
  const errorCode = r.u16();
  let statusLength = 0;
  if (postHeaderLength >= 13) statusLength = r.u16();
  if (postHeaderLength > 13) r.skip(postHeaderLength - 13);
  const out: QueryBody = {
    threadId,
    executionTime,
    errorCode,
    schema: "",
    sql: "",
    statement: "other",
  };
  const statusEnd = r.pos + statusLength;
  r.need(statusLength);
  parseStatusVars(new BufferReader(r.buf, r.pos, statusEnd), out);
  r.pos = statusEnd;
  out.schema = r.str(schemaLength);
  r.skip(1);
  let sqlBytes = r.rest();
  if (compressed) {
    sqlBytes = decompressMariadb(sqlBytes);
    out.compressed = true;
  }
  const cs = out.charsetClient !== undefined ? charsetOfCollation(out.charsetClient) : undefined;
  const codec = cs ? textCodec(cs) : undefined;
  out.sql =
    codec && codec.kind !== TextKind.BINARY
      ? decodeText(codec, sqlBytes, 0, sqlBytes.length)
      : sqlBytes.toString("utf8");
  out.statement = classifyStatement(out.sql);
  return out;
}

function parseStatusVars(r: BufferReader, out: QueryBody): void {
  while (r.remaining > 0) {
    const code = r.u8();
    switch (code) {
      case 0:
        out.flags2 = r.u32();
        break;
      case 1:
        out.sqlMode = r.u64();
        break;
      case 2: {
        const len = r.u8();
        out.catalog = r.str(len);
        r.skip(1);
        break;
      }
      case 3:
        out.autoIncrementIncrement = r.u16();
        out.autoIncrementOffset = r.u16();
        break;
      case 4:
        out.charsetClient = r.u16();
        out.collationConnection = r.u16();
        out.collationServer = r.u16();
        break;
      case 5:
        out.timeZone = r.str(r.u8());
        break;
      case 6:
        out.catalog = r.str(r.u8());
        break;
      case 7:
        out.lcTimeNames = r.u16();
        break;
      case 8:
        out.collationDatabase = r.u16();
        break;
      case 9:
        out.tableMapForUpdate = r.u64();
        break;
      case 10:
        r.skip(4);
        break;
      case 11:
        out.invokerUser = r.str(r.u8());
        out.invokerHost = r.str(r.u8());
        break;
      case 12: {
        const count = r.u8();
        if (count !== 254) {
          const names: string[] = [];
          for (let i = 0; i < count; i++) names.push(r.nulStr());
          out.updatedDbNames = names;
        }
        break;
      }
      case 13:
        out.microseconds = r.u24();
        break;
      case 16: // explicit_defaults_for_timestamp
      case 19: // sql_require_primary_key
      case 20: // default_table_encryption
        r.skip(1);
        break;
      case 17:
        out.ddlXid = r.u64();
        break;
      case 18:
        out.defaultCollationForUtf8mb4 = r.u16();
        break;
      case 128: // MariaDB Q_HRNOW
        out.microseconds = r.u24();
        break;
      case 129: // MariaDB Q_XID
        out.xid = r.u64();
        break;
      case 130: // MariaDB Q_GTID_FLAGS3
        r.skip(1);
        break;
      default:
        // Unknown status variable: its length is unknown, so stop here (the statement text
        // is located by the status block length, not by this walk).
        return;
    }
  }
}

/** MariaDB compressed payload: header byte (0x80 | algorithm << 4 | n), n-byte big-endian length, zlib. */
export function decompressMariadb(data: Buffer): Buffer {
  if (data.length < 1) fail("empty compressed payload");
  const header = data[0] as number;
  const lenBytes = header & 0x07;
  const algorithm = (header >> 4) & 0x07;
  if (algorithm !== 0) fail(`unsupported MariaDB compression algorithm ${algorithm}`);
  if (lenBytes < 1 || lenBytes > 4 || data.length < 1 + lenBytes) fail("corrupt compressed payload header");
  const expected = data.readUIntBE(1, lenBytes);
  let out: Buffer;
  try {
    out = inflateSync(data.subarray(1 + lenBytes));
  } catch (err) {
    throw new BinlogDecodeError(`zlib: ${(err as Error).message}`, {}, { cause: err });
  }
  if (out.length !== expected) fail(`decompressed ${out.length} bytes, header says ${expected}`);
  return out;
}

const KEYWORDS: Record<string, QueryStatement> = {
  BEGIN: "begin",
  START: "begin",
  COMMIT: "commit",
  ROLLBACK: "rollback",
  XA: "xa",
  SAVEPOINT: "savepoint",
  RELEASE: "savepoint",
  CREATE: "ddl",
  ALTER: "ddl",
  DROP: "ddl",
  RENAME: "ddl",
  TRUNCATE: "ddl",
  INSERT: "dml",
  UPDATE: "dml",
  DELETE: "dml",
  REPLACE: "dml",
  LOAD: "dml",
};

/** Class of a statement from its first keyword (comments and version comments skipped). */
export function classifyStatement(sql: string): QueryStatement {
  let i = 0;
  const n = sql.length;
  for (;;) {
    while (i < n && sql.charCodeAt(i) <= 32) i++;
    if (sql.startsWith("/*!", i)) {
      i += 3;
      while (i < n && sql.charCodeAt(i) >= 48 && sql.charCodeAt(i) <= 57) i++;
      continue;
    }
    if (sql.startsWith("/*", i)) {
      const e = sql.indexOf("*/", i + 2);
      if (e < 0) return "other";
      i = e + 2;
      continue;
    }
    if (sql.startsWith("--", i) || sql.startsWith("#", i)) {
      const e = sql.indexOf("\n", i);
      if (e < 0) return "other";
      i = e + 1;
      continue;
    }
    break;
  }
  let j = i;
  while (j < n && j - i < 12) {
    const c = sql.charCodeAt(j) | 0x20;
    if (c < 97 || c > 122) break;
    j++;
  }
  return KEYWORDS[sql.slice(i, j).toUpperCase()] ?? "other";
}
