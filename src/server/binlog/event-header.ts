// The 19-byte common header of every v4 binlog event.
import { fail } from "./errors.js";

export const EVENT_HEADER_LENGTH = 19;

export interface EventHeader {
  /** Seconds since the epoch when the statement started. */
  timestamp: number;
  typeCode: number;
  serverId: number;
  /** Whole event length: header + body (+ checksum). */
  eventSize: number;
  /** Position of the next event in the source binlog (0 for artificial events). */
  logPos: number;
  flags: number;
}

export function parseEventHeader(buf: Buffer): EventHeader {
  if (buf.length < EVENT_HEADER_LENGTH) fail(`event shorter than its header (${buf.length} bytes)`);
  return {
    timestamp: buf.readUInt32LE(0),
    typeCode: buf[4] as number,
    serverId: buf.readUInt32LE(5),
    eventSize: buf.readUInt32LE(9),
    logPos: buf.readUInt32LE(13),
    flags: buf.readUInt16LE(17),
  };
}
