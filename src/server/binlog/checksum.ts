// Binlog event checksums. binlog_checksum=CRC32 appends the zlib CRC-32 of the whole event
// (header included, checksum excluded) as 4 little-endian bytes.
import { crc32 } from "node:zlib";
import { fail } from "./errors.js";

export const CHECKSUM_LENGTH = 4;

/** binlog_checksum algorithm codes (FORMAT_DESCRIPTION's trailing byte). */
export const ChecksumAlgorithm = {
  OFF: 0,
  CRC32: 1,
  UNDEFINED: 255,
} as const;

/** CRC-32 of buf[start, end). */
export function crc32Of(buf: Buffer, start: number, end: number): number {
  return crc32(buf.subarray(start, end)) >>> 0;
}

/**
 * True when the last 4 bytes of event[0, length) hold the CRC-32 of the bytes before them.
 */
export function hasValidChecksum(event: Buffer, length = event.length): boolean {
  if (length < CHECKSUM_LENGTH + 1) return false;
  // The CRC-32 of data followed by its own CRC-32 (little-endian) is always CRC_RESIDUE: one
  // pass over the event as it is, without cutting a view of all but its last 4 bytes.
  if (length === event.length) return crc32(event) === CRC_RESIDUE;
  const stored = event.readUInt32LE(length - CHECKSUM_LENGTH);
  return crc32Of(event, 0, length - CHECKSUM_LENGTH) === stored;
}

/** CRC-32 of any bytes followed by their CRC-32 in little-endian order. */
const CRC_RESIDUE = 0x2144df1c;

/** The stored and computed checksums of an event, for error messages. */
export function checksumPair(event: Buffer, length = event.length): { stored: number; computed: number } {
  return {
    stored: event.readUInt32LE(length - CHECKSUM_LENGTH),
    computed: crc32Of(event, 0, length - CHECKSUM_LENGTH),
  };
}

/** Throws unless the event's last 4 bytes are the CRC-32 of the bytes before them. */
export function verifyChecksum(event: Buffer): void {
  if (!hasValidChecksum(event)) {
    const { stored, computed } = checksumPair(event);
    fail(
      `CRC32 mismatch: stored 0x${stored.toString(16).padStart(8, "0")}, computed 0x${computed.toString(16).padStart(8, "0")}`,
    );
  }
}
