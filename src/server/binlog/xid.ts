// XID_EVENT: the commit of a transaction on a transactional engine.
import type { BufferReader } from "./buffer-reader.js";

export function parseXid(r: BufferReader): bigint {
  return r.u64();
}
