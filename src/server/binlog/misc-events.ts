// Small statement-based and control events: INTVAR, RAND, USER_VAR, INCIDENT, XA_PREPARE.
import type { BufferReader } from "./buffer-reader.js";
import type { IncidentEvent, IntvarEvent, RandEvent, UserVarEvent, XaPrepareEvent } from "./events.js";

type Body<T> = Omit<T, "type" | "header" | "position">;

export function parseIntvar(r: BufferReader): Body<IntvarEvent> {
  return { kind: r.u8(), value: r.u64() };
}

export function parseRand(r: BufferReader): Body<RandEvent> {
  return { seed1: r.u64(), seed2: r.u64() };
}

export function parseUserVar(r: BufferReader): Body<UserVarEvent> {
  const nameLen = r.u32();
  const name = r.str(nameLen);
  const isNull = r.u8() !== 0;
  if (isNull) return { name, isNull };
  const valueType = r.u8();
  const charset = r.u32();
  const len = r.u32();
  const value = r.bytes(len).toString("base64");
  return { name, isNull, valueType, charset, value };
}

export function parseIncident(r: BufferReader): Body<IncidentEvent> {
  const incident = r.u16();
  const message = r.remaining > 0 ? r.str(r.u8()) : "";
  return { incident, message };
}

export function parseXaPrepare(r: BufferReader): Body<XaPrepareEvent> {
  const onePhase = r.u8() !== 0;
  const formatId = r.i32();
  const gl = r.u32();
  const bl = r.u32();
  const data = r.bytes(gl + bl);
  return {
    onePhase,
    formatId,
    gtrid: data.toString("latin1", 0, gl),
    bqual: data.toString("latin1", gl, gl + bl),
  };
}
