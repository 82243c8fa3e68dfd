// Field writers shared by the entry encoders of this folder: proto3 defaults left out, as
// protobuf-es's toBinary leaves them out.
import type { Header, Pair } from "../../gen/sluice/v1/entry_pb.js";
import { type ProtoWriter, WIRE_LEN, WIRE_VARINT } from "./proto-writer.js";

/** A nested message's length prefix reserved before it is written (moved when off). */
export const GUESS_SMALL = 1;

export function writeHeader(w: ProtoWriter, h: Header): void {
  int32Field(w, 1, h.version);
  stringField(w, 2, h.logfileName);
  int64Field(w, 3, h.logfileOffset);
  int64Field(w, 4, h.serverId);
  stringField(w, 5, h.serverEncoding);
  int64Field(w, 6, h.executeTime);
  int32Field(w, 7, h.sourceType);
  stringField(w, 8, h.schemaName);
  stringField(w, 9, h.tableName);
  int64Field(w, 10, h.eventLength);
  int32Field(w, 11, h.eventType);
  pairs(w, 12, h.props);
  stringField(w, 13, h.gtid);
}

export function pairs(w: ProtoWriter, field: number, list: readonly Pair[]): void {
  for (let i = 0; i < list.length; i++) {
    const p = list[i] as Pair;
    w.tag(field, WIRE_LEN);
    const at = w.fork(GUESS_SMALL);
    stringField(w, 1, p.key);
    stringField(w, 2, p.value);
    w.join(at, GUESS_SMALL);
  }
}

export function stringField(w: ProtoWriter, field: number, s: string): void {
  if (s === "") return;
  w.tag(field, WIRE_LEN);
  w.string(s);
}

export function int32Field(w: ProtoWriter, field: number, n: number): void {
  if (n === 0) return;
  w.tag(field, WIRE_VARINT);
  w.int32(n);
}

export function int64Field(w: ProtoWriter, field: number, n: bigint): void {
  if (n === 0n) return;
  w.tag(field, WIRE_VARINT);
  w.int64(n);
}

export function boolField(w: ProtoWriter, field: number, b: boolean): void {
  if (!b) return;
  w.tag(field, WIRE_VARINT);
  w.ensure(1);
  w.buf[w.pos++] = 1;
}
