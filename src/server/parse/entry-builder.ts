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
// objects), not with create(), which would cost a reflection pass per column.

import {
  type Column,
  type Entry,
  EntryType,
  EventType,
  type Header,
  type RowData,
  SourceType,
} from "../../gen/sluice/v1/entry_pb.js";
import {
  type BinlogEvent,
  type ColumnInfo,
  ColumnType,
  type RowImage,
  type RowsEvent,
  type TableInfo,
} from "../binlog/index.js";
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

  constructor(opts: EntryBuilderOptions) {
    this.#sourceType = opts.flavor === "mariadb" ? SourceType.MARIADB : SourceType.MYSQL;
  }

  /** The entry for one event, or undefined when the event makes none. */
  build(e: SourceEvent): Entry | undefined {
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

  #rows(e: SourceEvent, event: RowsEvent): Entry {
    const table = event.table;
    const eventType = ROW_EVENT_TYPES[event.kind];
    const rowDatas: RowData[] = [];
    if (event.kind === "update") {
      for (const row of event.rows) {
        rowDatas.push({
          $typeName: "sluice.v1.RowData",
          beforeColumns: columns(table, row.before, undefined, false),
          afterColumns: columns(table, row.after, row.before, true),
          props: [],
        });
      }
    } else if (event.kind === "insert") {
      for (const row of event.rows) {
        rowDatas.push({
          $typeName: "sluice.v1.RowData",
          beforeColumns: [],
          afterColumns: columns(table, row, undefined, true),
          props: [],
        });
      }
    } else {
      for (const row of event.rows) {
        rowDatas.push({
          $typeName: "sluice.v1.RowData",
          beforeColumns: columns(table, row, undefined, false),
          afterColumns: [],
          props: [],
        });
      }
    }
    return this.#entry(e, EntryType.ROWDATA, eventType, table.schema, table.name, {
      case: "rowChange",
      value: {
        $typeName: "sluice.v1.RowChange",
        tableId: BigInt(event.tableId),
        eventType,
        isDdl: false,
        sql: "",
        rowDatas,
        props: [],
        ddlSchemaName: "",
      },
    });
  }

  #entry(
    e: SourceEvent,
    entryType: EntryType,
    eventType: EventType,
    schemaName: string,
    tableName: string,
    payload: Entry["payload"],
  ): Entry {
    const h = e.event.header;
    const header: Header = {
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
    return { $typeName: "sluice.v1.Entry", header, entryType, payload };
  }
}

/**
 * One row image as columns. `updatedFlags`: the after image of an INSERT or UPDATE, where
 * canal marks changed columns; `before` is the UPDATE's before image to compare with.
 */
function columns(
  table: TableInfo,
  image: RowImage,
  before: RowImage | undefined,
  updatedFlags: boolean,
): Column[] {
  const out: Column[] = new Array(table.columns.length);
  for (let i = 0; i < table.columns.length; i++) {
    const info = table.columns[i] as ColumnInfo;
    const value = image[i];
    const omitted = value === undefined;
    const isNull = value === null;
    let updated = false;
    if (updatedFlags && !omitted) {
      if (before === undefined) updated = true;
      else {
        const old = before[i];
        updated = old === undefined || old !== value;
      }
    }
    out[i] = {
      $typeName: "sluice.v1.Column",
      index: i,
      sqlType: info.jdbcType,
      name: info.name ?? "",
      isKey: info.isKey ?? false,
      updated,
      isNull,
      props: [],
      value: typeof value === "string" ? value : "",
      length: STRING_TYPES.has(info.type) ? (info.length ?? 0) : 0,
      mysqlType: info.typeName ?? "",
      omitted,
      base64: info.valueFormat === "base64",
    };
  }
  return out;
}
