// Sluice binlog event decoder: MySQL/MariaDB binlog event bytes in, typed events out, with
// every column value as the exact text the source server's own client prints.
//
// Why hand-written: values must be exact (64-bit integers, DECIMAL scale, FLOAT/DOUBLE as
// my_gcvt prints them, fractional seconds, TIMESTAMP time zones, cp1252 latin1, MySQL's JSON
// text form) and decoding must be fast (hundreds of thousands of rows per second on one core).
// No maintained JavaScript decoder gets the values exact, so this one reads the Buffer
// directly with per-table decoders compiled once per TABLE_MAP. It knows nothing of the
// network, RPC, ZooKeeper or storage. Model: go-mysql's `replication` package and canal's
// dbsync LogDecoder/RowsLogBuffer; rendering rules from the MySQL/MariaDB sources.
export {
  BINLOG_MAGIC,
  type DecodedFileEvent,
  type RawBinlogEvent,
  readBinlogEvents,
  readBinlogFile,
} from "./binlog-file.js";
export { charsetOfCollation, charsetOfCollationName } from "./charsets.js";
export type { ColumnValue, RowImage } from "./column-values.js";
export { BinlogDecoder, type DecoderOptions } from "./decoder.js";
export { BinlogDecodeError, type BinlogPosition } from "./errors.js";
export { type ChainBreak, describeBreak, EventChain } from "./event-chain.js";
export type { EventHeader } from "./event-header.js";
export { ColumnType, EventFlag, EventType, eventTypeName, JdbcType } from "./event-types.js";
export type * from "./events.js";
export type { FormatDescription } from "./format-description.js";
export type { JsonDiff } from "./json-binary.js";
export { ParallelDecoder, type ParallelDecoderOptions } from "./parallel/parallel-decoder.js";
export type { ParsedColumnType, ProvidedColumn, ProvidedTable, SchemaProvider } from "./schema-provider.js";
export { parseColumnType } from "./schema-provider.js";
export type { ColumnInfo, Flavor, TableInfo } from "./table-map.js";
export type { TimeZoneOffset } from "./temporal.js";
