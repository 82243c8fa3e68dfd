// HEARTBEAT_LOG_EVENT (27): body = current binlog file name; header logPos = position.
// HEARTBEAT_LOG_EVENT_V2 (41, MySQL 8.0.26+): TLV fields (1 file name, 2 position).
import { type BufferReader, readPacked } from "./buffer-reader.js";
import { fail } from "./errors.js";

export function parseHeartbeatV1(r: BufferReader): { file: string } {
  return { file: r.rest().toString("utf8") };
}

export function parseHeartbeatV2(r: BufferReader): { file: string; offset?: number } {
  let file = "";
  let offset: number | undefined;
  while (r.remaining > 0) {
    const type = r.u8();
    if (type === 0) continue; // end mark
    const len = r.packed();
    const value = r.bytes(len);
    if (type === 1) file = value.toString("utf8");
    else if (type === 2) {
      const [v, p] = readPacked(value, 0, value.length);
      if (p !== value.length) fail("corrupt heartbeat position field");
      offset = v;
    }
  }
  return { file, offset };
}
