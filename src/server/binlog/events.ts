// The decoded event union returned by BinlogDecoder.decode().
import type { RowImage } from "./column-values.js";
import type { BinlogPosition } from "./errors.js";
import type { EventHeader } from "./event-header.js";
import type { FormatDescription } from "./format-description.js";
import type { JsonDiff } from "./json-binary.js";
import type { TableInfo } from "./table-map.js";

interface Base {
  header: EventHeader;
  /** The position the caller passed to decode(), if any. */
  position?: BinlogPosition;
}

export interface FormatDescriptionEvent extends Base, FormatDescription {
  type: "format_description";
}

export interface RotateEvent extends Base {
  type: "rotate";
  /** Position in the next file where reading continues (usually 4). */
  nextPosition: number;
  nextFile: string;
  /** Fake rotate sent by the dump thread at connect (timestamp 0 / ARTIFICIAL flag). */
  artificial: boolean;
}

export type QueryStatement = "begin" | "commit" | "rollback" | "xa" | "savepoint" | "ddl" | "dml" | "other";

export interface QueryEvent extends Base {
  type: "query";
  threadId: number;
  executionTime: number;
  errorCode: number;
  /** Default database of the statement ("" when none). */
  schema: string;
  sql: string;
  /** Rough statement class, from the first keyword (no regex on the hot path). */
  statement: QueryStatement;
  /** Status variables that were present. */
  flags2?: number;
  sqlMode?: bigint;
  catalog?: string;
  autoIncrementIncrement?: number;
  autoIncrementOffset?: number;
  /** character_set_client / collation_connection / collation_server ids. */
  charsetClient?: number;
  collationConnection?: number;
  collationServer?: number;
  /** Session time_zone, e.g. "+00:00" or "SYSTEM". */
  timeZone?: string;
  lcTimeNames?: number;
  collationDatabase?: number;
  tableMapForUpdate?: bigint;
  invokerUser?: string;
  invokerHost?: string;
  updatedDbNames?: string[];
  microseconds?: number;
  ddlXid?: bigint;
  defaultCollationForUtf8mb4?: number;
  /** MariaDB Q_XID (XA/DDL). */
  xid?: bigint;
  /** MariaDB compressed query event (165). */
  compressed?: boolean;
}

export interface XidEvent extends Base {
  type: "xid";
  xid: bigint;
}

export interface GtidEvent extends Base {
  type: "gtid";
  /** ANONYMOUS_GTID_EVENT (gtid_mode=OFF). */
  anonymous: boolean;
  /** "uuid:gno" or, for tagged GTIDs (MySQL 8.3+), "uuid:tag:gno". */
  gtid: string;
  sid: string;
  tag?: string;
  gno: bigint;
  /** GTID flags (bit 0: may have been committed in a different order). */
  flags: number;
  lastCommitted?: bigint;
  sequenceNumber?: bigint;
  /** Microseconds since the epoch. */
  immediateCommitTimestamp?: bigint;
  originalCommitTimestamp?: bigint;
  transactionLength?: bigint;
  immediateServerVersion?: number;
  originalServerVersion?: number;
  commitGroupTicket?: bigint;
}

export interface PreviousGtidsEvent extends Base {
  type: "previous_gtids";
  /** GTID set text, e.g. "3e11fa47-…:1-5,4f22…:1-3". */
  gtidSet: string;
}

export interface MariadbGtidEvent extends Base {
  type: "mariadb_gtid";
  domainId: number;
  serverId: number;
  sequence: bigint;
  /** "domain-server-sequence", e.g. "0-1-42". */
  gtid: string;
  flags: number;
  /** FL_STANDALONE: a single statement without BEGIN/COMMIT (e.g. DDL). */
  standalone: boolean;
  transactional: boolean;
  ddl: boolean;
  commitId?: bigint;
  /** XA transaction id for FL_PREPARED_XA / FL_COMPLETED_XA. */
  xa?: { formatId: number; gtrid: string; bqual: string };
  flagsExtra?: number;
}

export interface MariadbGtidListEvent extends Base {
  type: "mariadb_gtid_list";
  gtids: { domainId: number; serverId: number; sequence: bigint }[];
  /** "0-1-42,1-2-7" */
  gtidSet: string;
  flags: number;
}

export interface BinlogCheckpointEvent extends Base {
  type: "binlog_checkpoint";
  file: string;
}

export interface TableMapEvent extends Base {
  type: "table_map";
  table: TableInfo;
}

interface RowsBase extends Base {
  type: "rows";
  table: TableInfo;
  tableId: number;
  /** Rows event flags (bit 0 STMT_END_F: last rows event of the statement). */
  flags: number;
  /** 1 (MariaDB / MySQL 5.1–5.5 style) or 2 (with extra data). */
  version: 1 | 2;
  /** MariaDB compressed rows event. */
  compressed?: boolean;
  /** Partition extra data (MySQL v2). */
  partitionId?: number;
  sourcePartitionId?: number;
}

export interface InsertRowsEvent extends RowsBase {
  kind: "insert";
  rows: RowImage[];
}

export interface DeleteRowsEvent extends RowsBase {
  kind: "delete";
  rows: RowImage[];
}

export interface UpdateRow {
  before: RowImage;
  after: RowImage;
  /**
   * PARTIAL_UPDATE_ROWS: JSON columns whose diffs could not be applied (the before image
   * lacked the document, or a path was not understood): column ordinal -> diffs. Those columns
   * are undefined in `after`.
   */
  jsonDiffs?: Record<number, JsonDiff[]>;
}

export interface UpdateRowsEvent extends RowsBase {
  kind: "update";
  rows: UpdateRow[];
  /** PARTIAL_UPDATE_ROWS_EVENT (MySQL binlog_row_value_options=PARTIAL_JSON). */
  partial?: boolean;
}

export type RowsEvent = InsertRowsEvent | UpdateRowsEvent | DeleteRowsEvent;

/**
 * A TABLE_MAP or rows event the decoder passed over without decoding its columns or rows
 * (DecoderOptions.includeTable, tableErrors, BinlogDecoder.skipTable).
 */
export interface SkippedTableEvent extends Base {
  type: "skipped_table";
  /** Which event was passed over. */
  of: "table_map" | "rows";
  tableId: number;
  schema: string;
  table: string;
  /**
   * filtered: the table filter excludes the table; table_error: the table's definition or rows
   * could not be decoded (`error` says why); skipped: the caller asked to pass over this table's
   * rows (skipTable).
   */
  reason: "filtered" | "table_error" | "skipped";
  /** Why the table's events could not be decoded, with the event's position (table_error only). */
  error?: string;
}

export interface RowsQueryEvent extends Base {
  type: "rows_query";
  /** The statement text (MySQL ROWS_QUERY or MariaDB ANNOTATE_ROWS). */
  query: string;
}

export interface HeartbeatEvent extends Base {
  type: "heartbeat";
  version: 1 | 2;
  file: string;
  /** Only in HEARTBEAT_LOG_EVENT_V2. */
  offset?: number;
}

export interface TransactionPayloadEvent extends Base {
  type: "transaction_payload";
  compression: "zstd" | "none";
  payloadSize: number;
  uncompressedSize: number;
  /** The events of the transaction, decoded. */
  events: BinlogEvent[];
}

export interface IntvarEvent extends Base {
  type: "intvar";
  /** 1 LAST_INSERT_ID, 2 INSERT_ID */
  kind: number;
  value: bigint;
}

export interface RandEvent extends Base {
  type: "rand";
  seed1: bigint;
  seed2: bigint;
}

export interface UserVarEvent extends Base {
  type: "user_var";
  name: string;
  isNull: boolean;
  /** 0 STRING, 1 REAL, 2 INT, 4 DECIMAL */
  valueType?: number;
  charset?: number;
  /** base64 of the raw value bytes */
  value?: string;
}

export interface IncidentEvent extends Base {
  type: "incident";
  incident: number;
  message: string;
}

export interface XaPrepareEvent extends Base {
  type: "xa_prepare";
  onePhase: boolean;
  formatId: number;
  gtrid: string;
  bqual: string;
}

export interface SimpleEvent extends Base {
  type: "stop" | "ignorable" | "start_encryption" | "transaction_context" | "view_change";
}

export interface UnknownEvent extends Base {
  type: "unknown";
  code: number;
}

export type BinlogEvent =
  | FormatDescriptionEvent
  | RotateEvent
  | QueryEvent
  | XidEvent
  | GtidEvent
  | PreviousGtidsEvent
  | MariadbGtidEvent
  | MariadbGtidListEvent
  | BinlogCheckpointEvent
  | TableMapEvent
  | RowsEvent
  | SkippedTableEvent
  | RowsQueryEvent
  | HeartbeatEvent
  | TransactionPayloadEvent
  | IntvarEvent
  | RandEvent
  | UserVarEvent
  | IncidentEvent
  | XaPrepareEvent
  | SimpleEvent
  | UnknownEvent;
