// sluice.v1.Entry (proto/sluice/v1/entry.proto) to proto3 JSON, by hand: exactly what
// protobuf-es's `toJsonString(EntrySchema, entry)` writes with connect-es's defaults (the
// server's Connect JSON codec sets no options of its own): fields in number order under their
// JSON names, proto3 defaults (0, "", false, empty lists, unset messages and oneof) left out,
// int64 as decimal strings, enums by name (a number the schema does not name as that number),
// strings as JSON.stringify writes them (lone surrogates escaped, other text as it is).
//
// Why not toJsonString: it builds an object per message and per field, then JSON.stringify
// walks them: several times this writer's CPU per row (bench/delivery/codec). The server
// makes an entry's JSON once and shares it with every JSON client (entry-json-cache.ts).
// test/unit/encode/entry-json.test.ts proves it on the decoder's fixtures and on generated
// entries with every field of every message set (fast-check), and fails when entry.proto gains
// a field that ENTRY_JSON_FIELDS below does not list.
import type { DescEnum } from "@bufbuild/protobuf";
import {
  type Column,
  type Entry,
  EntryTypeSchema,
  EventTypeSchema,
  type Header,
  type Pair,
  type RowChange,
  type RowData,
  SourceTypeSchema,
  type TransactionBegin,
  type TransactionEnd,
} from "../../gen/sluice/v1/entry_pb.js";

/**
 * The fields this writer writes, per message of entry.proto, by number (as ENTRY_FIELDS of the
 * binary encoder). The test compares it with the schema.
 */
export const ENTRY_JSON_FIELDS: Readonly<Record<string, readonly number[]>> = {
  "sluice.v1.Entry": [1, 2, 100, 101, 102],
  "sluice.v1.Header": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  "sluice.v1.RowChange": [1, 2, 10, 11, 12, 13, 14],
  "sluice.v1.RowData": [1, 2, 3],
  "sluice.v1.Column": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 101],
  "sluice.v1.TransactionBegin": [3, 4],
  "sluice.v1.TransactionEnd": [2, 3],
  "sluice.v1.Pair": [1, 2],
};

/** An enum's JSON names by number (names from the schema itself). */
function enumNames(desc: DescEnum): (n: number) => string {
  const byNumber = new Map<number, string>();
  for (const v of desc.values) byNumber.set(v.number, JSON.stringify(v.jsonName));
  return (n) => byNumber.get(n) ?? String(n);
}
const entryTypeName = enumNames(EntryTypeSchema);
const eventTypeName = enumNames(EventTypeSchema);
const sourceTypeName = enumNames(SourceTypeSchema);

/** The entry's proto3 JSON, as protobuf-es's toJsonString(EntrySchema, entry) writes it. */
export function entryJson(e: Entry): string {
  let s = "{";
  if (e.header !== undefined) s += `"header":${headerJson(e.header)}`;
  if (e.entryType !== 0) s += `${sep(s)}"entryType":${entryTypeName(e.entryType)}`;
  const p = e.payload;
  if (p.case === "rowChange") s += `${sep(s)}"rowChange":${rowChangeJson(p.value)}`;
  else if (p.case === "transactionBegin") s += `${sep(s)}"transactionBegin":${beginJson(p.value)}`;
  else if (p.case === "transactionEnd") s += `${sep(s)}"transactionEnd":${endJson(p.value)}`;
  return `${s}}`;
}

/** The comma before a member, unless it is the object's first. */
function sep(s: string): string {
  return s.length === 1 ? "" : ",";
}

function headerJson(h: Header): string {
  let s = "{";
  if (h.version !== 0) s += `"version":${h.version}`;
  if (h.logfileName !== "") s += `${sep(s)}"logfileName":${str(h.logfileName)}`;
  if (h.logfileOffset !== 0n) s += `${sep(s)}"logfileOffset":"${h.logfileOffset}"`;
  if (h.serverId !== 0n) s += `${sep(s)}"serverId":"${h.serverId}"`;
  if (h.serverEncoding !== "") s += `${sep(s)}"serverEncoding":${str(h.serverEncoding)}`;
  if (h.executeTime !== 0n) s += `${sep(s)}"executeTime":"${h.executeTime}"`;
  if (h.sourceType !== 0) s += `${sep(s)}"sourceType":${sourceTypeName(h.sourceType)}`;
  if (h.schemaName !== "") s += `${sep(s)}"schemaName":${str(h.schemaName)}`;
  if (h.tableName !== "") s += `${sep(s)}"tableName":${str(h.tableName)}`;
  if (h.eventLength !== 0n) s += `${sep(s)}"eventLength":"${h.eventLength}"`;
  if (h.eventType !== 0) s += `${sep(s)}"eventType":${eventTypeName(h.eventType)}`;
  if (h.props.length > 0) s += `${sep(s)}"props":${pairsJson(h.props)}`;
  if (h.gtid !== "") s += `${sep(s)}"gtid":${str(h.gtid)}`;
  return `${s}}`;
}

function rowChangeJson(v: RowChange): string {
  let s = "{";
  if (v.tableId !== 0n) s += `"tableId":"${v.tableId}"`;
  if (v.eventType !== 0) s += `${sep(s)}"eventType":${eventTypeName(v.eventType)}`;
  if (v.isDdl) s += `${sep(s)}"isDdl":true`;
  if (v.sql !== "") s += `${sep(s)}"sql":${str(v.sql)}`;
  if (v.rowDatas.length > 0) {
    s += `${sep(s)}"rowDatas":[`;
    for (let i = 0; i < v.rowDatas.length; i++) {
      if (i > 0) s += ",";
      s += rowDataJson(v.rowDatas[i] as RowData);
    }
    s += "]";
  }
  if (v.props.length > 0) s += `${sep(s)}"props":${pairsJson(v.props)}`;
  if (v.ddlSchemaName !== "") s += `${sep(s)}"ddlSchemaName":${str(v.ddlSchemaName)}`;
  return `${s}}`;
}

function rowDataJson(rd: RowData): string {
  let s = "{";
  if (rd.beforeColumns.length > 0) s += `"beforeColumns":${columnsJson(rd.beforeColumns)}`;
  if (rd.afterColumns.length > 0) s += `${sep(s)}"afterColumns":${columnsJson(rd.afterColumns)}`;
  if (rd.props.length > 0) s += `${sep(s)}"props":${pairsJson(rd.props)}`;
  return `${s}}`;
}

function columnsJson(list: readonly Column[]): string {
  let s = "[";
  for (let i = 0; i < list.length; i++) {
    if (i > 0) s += ",";
    s += columnJson(list[i] as Column);
  }
  return `${s}]`;
}

function columnJson(c: Column): string {
  let s = "{";
  if (c.index !== 0) s += `"index":${c.index}`;
  if (c.sqlType !== 0) s += `${sep(s)}"sqlType":${c.sqlType}`;
  if (c.name !== "") s += `${sep(s)}"name":${str(c.name)}`;
  if (c.isKey) s += `${sep(s)}"isKey":true`;
  if (c.updated) s += `${sep(s)}"updated":true`;
  if (c.isNull) s += `${sep(s)}"isNull":true`;
  if (c.props.length > 0) s += `${sep(s)}"props":${pairsJson(c.props)}`;
  if (c.value !== "") s += `${sep(s)}"value":${str(c.value)}`;
  if (c.length !== 0) s += `${sep(s)}"length":${c.length}`;
  if (c.mysqlType !== "") s += `${sep(s)}"mysqlType":${str(c.mysqlType)}`;
  if (c.omitted) s += `${sep(s)}"omitted":true`;
  if (c.base64) s += `${sep(s)}"base64":true`;
  return `${s}}`;
}

function beginJson(v: TransactionBegin): string {
  let s = "{";
  if (v.props.length > 0) s += `"props":${pairsJson(v.props)}`;
  if (v.threadId !== 0n) s += `${sep(s)}"threadId":"${v.threadId}"`;
  return `${s}}`;
}

function endJson(v: TransactionEnd): string {
  let s = "{";
  if (v.transactionId !== "") s += `"transactionId":${str(v.transactionId)}`;
  if (v.props.length > 0) s += `${sep(s)}"props":${pairsJson(v.props)}`;
  return `${s}}`;
}

function pairsJson(list: readonly Pair[]): string {
  let s = "[";
  for (let i = 0; i < list.length; i++) {
    const p = list[i] as Pair;
    if (i > 0) s += ",";
    let o = "{";
    if (p.key !== "") o += `"key":${str(p.key)}`;
    if (p.value !== "") o += `${sep(o)}"value":${str(p.value)}`;
    s += `${o}}`;
  }
  return `${s}]`;
}

/**
 * A string as JSON.stringify writes it. Text with nothing to escape (no quote, backslash,
 * control character or surrogate: most names, types and values) is quoted as it is, by a
 * loop cheaper than the call.
 */
function str(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(v);
  }
  return `"${v}"`;
}
