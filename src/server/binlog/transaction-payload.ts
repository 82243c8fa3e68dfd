// TRANSACTION_PAYLOAD_EVENT (40, MySQL 8.0.20+ binlog_transaction_compression=ON): a header
// of TLV fields (type, length, value as packed integers; 0 ends the header) followed by the
// compressed events of one transaction. The inner events carry no checksums.
import { decompress } from "fzstd";
import type { BufferReader } from "./buffer-reader.js";
import { readPacked } from "./buffer-reader.js";
import { BinlogDecodeError, fail } from "./errors.js";

export interface TransactionPayload {
  compression: "zstd" | "none";
  payloadSize: number;
  uncompressedSize: number;
  /** The uncompressed bytes: events back to back. */
  data: Buffer;
}

export function parseTransactionPayload(r: BufferReader): TransactionPayload {
  let payloadSize = -1;
  let compressionType = 0;
  let uncompressedSize = -1;
  for (;;) {
    const type = r.packed();
    if (type === 0) break;
    const len = r.packed();
    const value = r.bytes(len);
    const [v] = readPacked(value, 0, value.length);
    if (type === 1) payloadSize = v;
    else if (type === 2) compressionType = v;
    else if (type === 3) uncompressedSize = v;
  }
  const payload = r.rest();
  if (payloadSize >= 0 && payloadSize !== payload.length) {
    fail(`transaction payload is ${payload.length} bytes, header says ${payloadSize}`);
  }
  let data: Buffer;
  if (compressionType === 0) {
    let out: Uint8Array;
    try {
      out = decompress(payload);
    } catch (err) {
      throw new BinlogDecodeError(`zstd: ${(err as Error).message}`, {}, { cause: err });
    }
    data = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  } else if (compressionType === 255) {
    data = payload;
  } else {
    return fail(`unsupported transaction payload compression ${compressionType}`);
  }
  if (uncompressedSize >= 0 && data.length !== uncompressedSize) {
    fail(`transaction payload decompressed to ${data.length} bytes, header says ${uncompressedSize}`);
  }
  return {
    compression: compressionType === 0 ? "zstd" : "none",
    payloadSize: payload.length,
    uncompressedSize: data.length,
    data,
  };
}

/** Splits back-to-back events (each with a 19-byte header carrying its size). */
export function splitEvents(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (pos + 19 > data.length) fail("truncated inner event header in transaction payload");
    const size = data.readUInt32LE(pos + 9);
    if (size < 19 || pos + size > data.length)
      fail(`inner event size ${size} out of bounds in transaction payload`);
    out.push(data.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}
