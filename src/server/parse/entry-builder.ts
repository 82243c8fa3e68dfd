// Decoded binlog events → canal entries (proto sluice.v1.Entry), like canal's LogEventConvert:
//   - a transaction opens with TRANSACTION_BEGIN (MySQL: the BEGIN query; MariaDB: its GTID
//     event) and closes with TRANSACTION_END (XID, or a COMMIT query for non-transactional
//     engines);
//   - each rows event becomes one ROWDATA entry holding all its rows;
//   - DDL becomes one ROWDATA entry with is_ddl, canal's event type (CREATE, ALTER, ERASE,
//     TRUNCATE, RENAME, CINDEX, DINDEX, QUERY) and the SQL; it is not framed (it commits itself);
//   - other statements (GRANT, CREATE USER...) become QUERY entries, as in canal.
// A statement's kind and tables come from its classification on the SourceEvent (made once by
// the binlog reader, parse/ddl.ts); the filter subject made from the same classification
// (entry/filter-subject.ts) carries it on to the filters.
// Heartbeats, table maps, rotates and GTID bookkeeping produce no entry; the GTID of a
// transaction travels in every entry's header.
//
// Entries are built as plain objects of the generated types (protobuf-es messages are plain
// objects), not with create(), which would cost a reflection pass per column. For the store,
// a rows event's entry is RowChanges (entry/row-changes.ts): the table's column specs, made
// once per table definition, and the decoder's row images, with no object per column.

import { type Entry, EntryType, EventType, type Header, SourceType } from "../../gen/sluice/v1/entry_pb.js";
import {
  type BinlogEvent,
  type ColumnInfo,
  ColumnType,
  type RowsEvent,
  type TableInfo,
} from "../binlog/index.js";
import { type ColumnSpec, isRowChanges, type RowChanges, rowChangesEntry } from "../entry/row-changes.js";
import type { DdlKind } from "../entry/statement.js";
import type { SourceEvent } from "./binlog-reader.js";
import { classifyStatement } from "./ddl.js";

export interface EntryBuilderOptions {
  flavor: "mysql" | "mariadb";
}

const DDL_EVENT_TYPES: Record<DdlKind, EventType> = {
  CREATE: EventType.CREATE,
  ALTER: EventType.ALTER,
  ERASE: EventType.ERASE,
  TRUNCATE: EventType.TRUNCATE,
  RENAME: EventType.RENAME,
  CINDEX: EventType.CINDEX,
  DINDEX: EventType.DINDEX,
  QUERY: EventType.QUERY,
};

// VARCHAR, VAR_STRING, STRING: the types whose declared byte length Column.length reports.
const STRING_TYPES: ReadonlySet<number> = new Set([
  ColumnType.VARCHAR,
  ColumnType.VAR_STRING,
  ColumnType.STRING,
]);

const ROW_EVENT_TYPES = {
  insert: EventType.INSERT,
  update: EventType.UPDATE,
  delete: EventType.DELETE,
} as const;

export class EntryBuilder {
  readonly #sourceType: SourceType;
  /** Column specs per table definition (the decoder keeps one TableInfo per TABLE_MAP it holds). */
  readonly #specs = new WeakMap<TableInfo, { of: readonly ColumnInfo[]; specs: readonly ColumnSpec[] }>();

  constructor(opts: EntryBuilderOptions) {
    this.#sourceType = opts.flavor === "mariadb" ? SourceType.MARIADB : SourceType.MYSQL;
  }

  /** The entry for one event, as objects, or undefined when the event makes none. */
  build(e: SourceEvent): Entry | undefined {
    const built = this.buildForStore(e);
    return built && isRowChanges(built) ? rowChangesEntry(built) : built;
  }

  /**
   * The entry for one event as the store takes it: a rows event's as RowChanges (its values,
   * no object per column), any other as an Entry; undefined when the event makes none.
   */
  buildForStore(e: SourceEvent): Entry | RowChanges | undefined {
    const event = e.event;
    switch (event.type) {
      case "mariadb_gtid":
        // A standalone group (DDL, or a non-transactional statement) has no BEGIN/COMMIT.
        if (event.standalone) return undefined;
        return this.#entry(e, EntryType.TRANSACTION_BEGIN, EventType.UNSPECIFIED, "", "", {
          case: "transactionBegin",
          value: { $typeName: "sluice.v1.TransactionBegin", threadId: 0n, props: [] },
        });
      case "query":
        return this.#query(e, event);
      case "xid":
        return this.#end(e, event.xid.toString());
      case "rows":
        return this.#rows(e, event);
      default:
        return undefined;
    }
  }

  #query(e: SourceEvent, event: Extract<BinlogEvent, { type: "query" }>): Entry | undefined {
    switch (event.statement) {
      case "begin":
        return this.#entry(e, EntryType.TRANSACTION_BEGIN, EventType.UNSPECIFIED, event.schema, "", {
          case: "transactionBegin",
          value: { $typeName: "sluice.v1.TransactionBegin", threadId: BigInt(event.threadId), props: [] },
        });
      case "commit":
      case "rollback":
        return this.#end(e, "");
      case "savepoint":
      case "xa":
        return undefined;
      default: {
        // Classified once as the event was read; events made elsewhere (tests) may come without.
        const info = e.statement ?? classifyStatement(event.sql, event.schema);
        const first = info.tables[0];
        const schema = first?.schema ?? info.schemaOnly ?? event.schema;
        const eventType = info.isDdl ? DDL_EVENT_TYPES[info.kind] : EventType.QUERY;
        return this.#entry(e, EntryType.ROWDATA, eventType, schema, first?.table ?? "", {
          case: "rowChange",
          value: {
            $typeName: "sluice.v1.RowChange",
            tableId: 0n,
            eventType,
            isDdl: info.isDdl,
            sql: event.sql,
            rowDatas: [],
            props: [],
            ddlSchemaName: event.schema,
          },
        });
      }
    }
  }

  #end(e: SourceEvent, transactionId: string): Entry {
    return this.#entry(e, EntryType.TRANSACTION_END, EventType.UNSPECIFIED, "", "", {
      case: "transactionEnd",
      value: { $typeName: "sluice.v1.TransactionEnd", transactionId, props: [] },
    });
  }

  #rows(e: SourceEvent, event: RowsEvent): RowChanges {
    const table = event.table;
    return {
      kind: "rowChanges",
      header: this.#header(e, ROW_EVENT_TYPES[event.kind], table.schema, table.name),
      tableId: BigInt(event.tableId),
      eventType: ROW_EVENT_TYPES[event.kind],
      columns: this.#columnSpecs(table),
      change: event,
    };
  }

  /** The column specs of a table definition, made once per definition the decoder holds. */
  #columnSpecs(table: TableInfo): readonly ColumnSpec[] {
    const known = this.#specs.get(table);
    if (known && known.of === table.columns) return known.specs;
    const specs = table.columns.map(columnSpec);
    this.#specs.set(table, { of: table.columns, specs });
    return specs;
  }

  #entry(
    e: SourceEvent,
    entryType: EntryType,
    eventType: EventType,
    schemaName: string,
    tableName: string,
    payload: Entry["payload"],
  ): Entry {
    const header = this.#header(e, eventType, schemaName, tableName);
    return { $typeName: "sluice.v1.Entry", header, entryType, payload };
  }

  #header(e: SourceEvent, eventType: EventType, schemaName: string, tableName: string): Header {
    const h = e.event.header;
    return {
      $typeName: "sluice.v1.Header",
      version: 1,
      logfileName: e.file,
      logfileOffset: BigInt(e.offset),
      serverId: BigInt(e.serverId),
      serverEncoding: "UTF-8",
      executeTime: BigInt(h.timestamp) * 1000n,
      sourceType: this.#sourceType,
      schemaName,
      tableName,
      eventLength: BigInt(h.eventSize),
      eventType,
      props: [],
      gtid: e.gtid,
    };
  }
}

function columnSpec(info: ColumnInfo, i: number): ColumnSpec {
  return {
    index: i,
    sqlType: info.jdbcType,
    name: info.name ?? "",
    isKey: info.isKey ?? false,
    length: STRING_TYPES.has(info.type) ? (info.length ?? 0) : 0,
    mysqlType: info.typeName ?? "",
    base64: info.valueFormat === "base64",
  };
}
