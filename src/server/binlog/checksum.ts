// Binlog event checksums. binlog_checksum=CRC32 appends the zlib CRC-32 of the whole event
// (header included, checksum excluded) as 4 little-endian bytes.
//
// Every event's CRC-32 is verified, so its speed is the decoder's. Node's zlib.crc32 runs
// Node's bundled zlib without its carry-less-multiply (PCLMUL) path: 1.4-2.8 GB/s on 4-64 KiB
// here, about 10% of decoding a binlog. @node-rs/crc32 (crc32fast, SIMD) does the same CRC at
// 6.7 GB/s on 4 KB and 8.8 GB/s on 8 KB (rows events are up to 8 KiB by default), but costs
// more per call than zlib under ~256 bytes (most non-rows events). So: the native one for
// longer inputs when its prebuilt binary loads on this platform, zlib otherwise.
import { createRequire } from "node:module";
import { crc32 as zlibCrc32 } from "node:zlib";
import { fail } from "./errors.js";

type Crc32 = (data: Uint8Array) => number;

function loadSimdCrc32(): Crc32 | undefined {
  try {
    const mod = createRequire(import.meta.url)("@node-rs/crc32") as { crc32?: (d: Uint8Array) => number };
    const f = mod.crc32;
    // Refuse it unless it agrees with zlib (a wrong checksum routine would refuse every event).
    const probe = Buffer.from(
      "sluice: binlog event checksum probe, long enough to take the SIMD path ".repeat(8),
    );
    if (typeof f !== "function" || f(probe) >>> 0 !== zlibCrc32(probe) >>> 0) return undefined;
    return f;
  } catch {
    return undefined; // no prebuilt binary for this platform: zlib does it
  }
}

const simdCrc32 = loadSimdCrc32();
/** Below this many bytes zlib's call is cheaper than the native module's. */
const SIMD_MIN_BYTES = 256;

/** The CRC-32 of data, by the faster routine for its length. */
function crc32(data: Uint8Array): number {
  return simdCrc32 !== undefined && data.length >= SIMD_MIN_BYTES
    ? simdCrc32(data) >>> 0
    : zlibCrc32(data) >>> 0;
}

/** Which routine computes long checksums ("simd" or "zlib"), for logs and benchmarks. */
export const CHECKSUM_IMPLEMENTATION: "simd" | "zlib" = simdCrc32 !== undefined ? "simd" : "zlib";

export const CHECKSUM_LENGTH = 4;

/** binlog_checksum algorithm codes (FORMAT_DESCRIPTION's trailing byte). */
export const ChecksumAlgorithm = {
  OFF: 0,
  CRC32: 1,
  UNDEFINED: 255,
} as const;

/** CRC-32 of buf[start, end). */
export function crc32Of(buf: Buffer, start: number, end: number): number {
  return crc32(buf.subarray(start, end));
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
