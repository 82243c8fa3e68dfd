// FORMAT_DESCRIPTION_EVENT: binlog version, server version (-> flavour), header length,
// per-event-type post-header lengths and the checksum algorithm.
import { BufferReader } from "./buffer-reader.js";
import { ChecksumAlgorithm } from "./checksum.js";
import { fail } from "./errors.js";
import type { Flavor } from "./table-map.js";

export interface FormatDescription {
  binlogVersion: number;
  serverVersion: string;
  /** "mariadb" when the server version says so, else "mysql". */
  flavor: Flavor;
  /** [major, minor, patch] parsed from serverVersion. */
  version: [number, number, number];
  createTimestamp: number;
  headerLength: number;
  /** Post-header length of event type t at index t-1. */
  postHeaderLengths: Uint8Array;
  /** "crc32", "off", or "undefined" (server too old to have checksums). */
  checksum: "crc32" | "off" | "undefined";
}

export function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

function atLeast(v: [number, number, number], a: number, b: number, c: number): boolean {
  if (v[0] !== a) return v[0] > a;
  if (v[1] !== b) return v[1] > b;
  return v[2] >= c;
}

/** Parses an FDE body: `body` excludes the 19-byte header but includes any checksum bytes. */
export function parseFormatDescription(body: Buffer): FormatDescription {
  const r = new BufferReader(body);
  const binlogVersion = r.u16();
  if (binlogVersion !== 4) fail(`unsupported binlog version ${binlogVersion}`);
  const raw = r.bytes(50);
  const nul = raw.indexOf(0);
  const serverVersion = raw.toString("latin1", 0, nul < 0 ? 50 : nul);
  const createTimestamp = r.u32();
  const headerLength = r.u8();
  if (headerLength !== 19) fail(`unsupported event header length ${headerLength}`);
  const flavor: Flavor = /mariadb/i.test(serverVersion) ? "mariadb" : "mysql";
  const version = parseVersion(serverVersion);
  const hasChecksum = flavor === "mariadb" ? atLeast(version, 5, 3, 0) : atLeast(version, 5, 6, 1);
  let postHeaderLengths: Uint8Array;
  let checksum: FormatDescription["checksum"] = "undefined";
  if (hasChecksum) {
    if (r.remaining < 5) fail("format description too short for its checksum fields");
    const alg = body[body.length - 5] as number;
    checksum =
      alg === ChecksumAlgorithm.CRC32 ? "crc32" : alg === ChecksumAlgorithm.OFF ? "off" : "undefined";
    if (checksum === "undefined") fail(`unknown binlog checksum algorithm ${alg}`);
    postHeaderLengths = Uint8Array.from(body.subarray(r.pos, body.length - 5));
  } else {
    postHeaderLengths = Uint8Array.from(body.subarray(r.pos));
  }
  return {
    binlogVersion,
    serverVersion,
    flavor,
    version,
    createTimestamp,
    headerLength,
    postHeaderLengths,
    checksum,
  };
}

/** Post-header length for an event type (0 when the FDE does not list it). */
export function postHeaderLength(fd: FormatDescription | undefined, type: number, fallback: number): number {
  if (!fd) return fallback;
  const v = fd.postHeaderLengths[type - 1];
  return v === undefined ? fallback : v;
}
