// The flat, JSON-friendly form of a row change, as canal's FlatMessage builds it
// (MQMessageUtils.messageConverter): one message per ROWDATA entry, values by column name.
import type { JsonObject } from "@bufbuild/protobuf";
import { type Column, type Entry, EntryType, EventType } from "../../gen/sluice/v1/entry_pb.js";
import type { FlatMessage } from "../../gen/sluice/v1/flat_message_pb.js";

/** The flat message of a ROWDATA entry; undefined for transaction begin/end entries. */
export function toFlatMessage(
  entry: Entry,
  id: bigint,
  now: bigint = BigInt(Date.now()),
): FlatMessage | undefined {
  if (entry.entryType !== EntryType.ROWDATA || entry.payload.case !== "rowChange") return undefined;
  const header = entry.header;
  const change = entry.payload.value;
  const sqlType: Record<string, number> = {};
  const mysqlType: Record<string, string> = {};
  const pkNames: string[] = [];
  const base64Columns: string[] = [];
  const data: JsonObject[] = [];
  const old: JsonObject[] = [];
  let describedColumns = false;
  for (const row of change.rowDatas) {
    const image = change.eventType === EventType.DELETE ? row.beforeColumns : row.afterColumns;
    if (!describedColumns) {
      describe(image.length > 0 ? image : row.beforeColumns, sqlType, mysqlType, pkNames, base64Columns);
      describedColumns = true;
    }
    data.push(values(image));
    if (change.eventType === EventType.UPDATE) {
      const changed: JsonObject = {};
      const before = row.beforeColumns;
      for (const col of row.afterColumns) {
        if (!col.updated) continue;
        const prev = before[col.index];
        if (prev === undefined || prev.omitted) continue;
        changed[col.name || `col_${col.index}`] = prev.isNull ? null : prev.value;
      }
      old.push(changed);
    }
  }
  return {
    $typeName: "sluice.v1.FlatMessage",
    id,
    database: header?.schemaName ?? "",
    table: header?.tableName ?? "",
    pkNames,
    isDdl: change.isDdl,
    type: EventType[change.eventType] ?? "UNSPECIFIED",
    es: header?.executeTime ?? 0n,
    ts: now,
    sql: change.sql,
    sqlType,
    mysqlType,
    data,
    old,
    gtid: header?.gtid ?? "",
    logfileName: header?.logfileName ?? "",
    logfileOffset: header?.logfileOffset ?? 0n,
    base64Columns,
  };
}

function describe(
  columns: Column[],
  sqlType: Record<string, number>,
  mysqlType: Record<string, string>,
  pkNames: string[],
  base64Columns: string[],
): void {
  for (const c of columns) {
    const name = c.name || `col_${c.index}`;
    sqlType[name] = c.sqlType;
    mysqlType[name] = c.mysqlType;
    if (c.isKey) pkNames.push(name);
    if (c.base64) base64Columns.push(name);
  }
}

function values(columns: Column[]): JsonObject {
  const out: JsonObject = {};
  for (const c of columns) {
    if (c.omitted) continue;
    out[c.name || `col_${c.index}`] = c.isNull ? null : c.value;
  }
  return out;
}
