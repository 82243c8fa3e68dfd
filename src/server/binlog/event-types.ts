// Binlog event type codes and column type codes, for MySQL (5.6 – 9.x) and MariaDB (10.x – 11.x).
// Sources: MySQL libs/mysql/binlog/event/binlog_event.h, MariaDB sql/log_event.h, include/mysql_com.h.

/** Event type codes (header byte 4). */
export const EventType = {
  UNKNOWN: 0,
  START_V3: 1,
  QUERY: 2,
  STOP: 3,
  ROTATE: 4,
  INTVAR: 5,
  LOAD: 6,
  SLAVE: 7,
  CREATE_FILE: 8,
  APPEND_BLOCK: 9,
  EXEC_LOAD: 10,
  DELETE_FILE: 11,
  NEW_LOAD: 12,
  RAND: 13,
  USER_VAR: 14,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  BEGIN_LOAD_QUERY: 17,
  EXECUTE_LOAD_QUERY: 18,
  TABLE_MAP: 19,
  PRE_GA_WRITE_ROWS: 20,
  PRE_GA_UPDATE_ROWS: 21,
  PRE_GA_DELETE_ROWS: 22,
  WRITE_ROWS_V1: 23,
  UPDATE_ROWS_V1: 24,
  DELETE_ROWS_V1: 25,
  INCIDENT: 26,
  HEARTBEAT: 27,
  IGNORABLE: 28,
  ROWS_QUERY: 29,
  WRITE_ROWS_V2: 30,
  UPDATE_ROWS_V2: 31,
  DELETE_ROWS_V2: 32,
  GTID: 33,
  ANONYMOUS_GTID: 34,
  PREVIOUS_GTIDS: 35,
  TRANSACTION_CONTEXT: 36,
  VIEW_CHANGE: 37,
  XA_PREPARE: 38,
  PARTIAL_UPDATE_ROWS: 39,
  TRANSACTION_PAYLOAD: 40,
  HEARTBEAT_V2: 41,
  GTID_TAGGED: 42,
  // MariaDB
  MARIADB_ANNOTATE_ROWS: 160,
  MARIADB_BINLOG_CHECKPOINT: 161,
  MARIADB_GTID: 162,
  MARIADB_GTID_LIST: 163,
  MARIADB_START_ENCRYPTION: 164,
  MARIADB_QUERY_COMPRESSED: 165,
  MARIADB_WRITE_ROWS_COMPRESSED_V1: 166,
  MARIADB_UPDATE_ROWS_COMPRESSED_V1: 167,
  MARIADB_DELETE_ROWS_COMPRESSED_V1: 168,
  MARIADB_WRITE_ROWS_COMPRESSED: 169,
  MARIADB_UPDATE_ROWS_COMPRESSED: 170,
  MARIADB_DELETE_ROWS_COMPRESSED: 171,
} as const;

const EVENT_NAMES: Record<number, string> = {};
for (const [name, code] of Object.entries(EventType)) EVENT_NAMES[code] = `${name}_EVENT`;

/** "WRITE_ROWS_V2_EVENT", "MARIADB_GTID_EVENT", or "EVENT_<code>" for codes we do not know. */
export function eventTypeName(code: number): string {
  return EVENT_NAMES[code] ?? `EVENT_${code}`;
}

/** Header flags (LOG_EVENT_*_F). */
export const EventFlag = {
  BINLOG_IN_USE: 0x0001,
  FORCED_ROTATE: 0x0002,
  THREAD_SPECIFIC: 0x0004,
  SUPPRESS_USE: 0x0008,
  UPDATE_TABLE_MAP_VERSION: 0x0010,
  ARTIFICIAL: 0x0020,
  RELAY_LOG: 0x0040,
  IGNORABLE: 0x0080,
  NO_FILTER: 0x0100,
  MTS_ISOLATE: 0x0200,
} as const;

/** Column type codes (enum_field_types) as they appear in TABLE_MAP events. */
export const ColumnType = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  TYPED_ARRAY: 20,
  /** MariaDB TINYBLOB/TEXT/BLOB/.../LONGTEXT ... COMPRESSED (binlog only; metadata: pack length). */
  BLOB_COMPRESSED: 140,
  /** MariaDB VARCHAR/VARBINARY(n) ... COMPRESSED (binlog only; metadata: max bytes + 1). */
  VARCHAR_COMPRESSED: 141,
  VECTOR: 242,
  INVALID: 243,
  BOOL: 244,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

const COLUMN_TYPE_NAMES: Record<number, string> = {};
for (const [name, code] of Object.entries(ColumnType)) COLUMN_TYPE_NAMES[code] = name;

/** "VARCHAR", "NEWDECIMAL", … or "TYPE_<code>". */
export function columnTypeName(code: number): string {
  return COLUMN_TYPE_NAMES[code] ?? `TYPE_${code}`;
}

/** java.sql.Types codes used in ColumnInfo.jdbcType (canal's Column.sqlType; docs/api.md). */
export const JdbcType = {
  BIT: -7,
  TINYINT: -6,
  SMALLINT: 5,
  INTEGER: 4,
  BIGINT: -5,
  REAL: 7,
  DOUBLE: 8,
  DECIMAL: 3,
  CHAR: 1,
  VARCHAR: 12,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  OTHER: 1111,
  BLOB: 2004,
  CLOB: 2005,
} as const;
