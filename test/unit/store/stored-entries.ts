// Stored entries for the store's unit tests: only their bytes and size matter there.
import type { StoredEntry } from "../../../src/server/store/entry-ring.js";

/** A stored entry of `bytes`, counted as `size` bytes (default: its bytes' length). */
export function storedEntry(bytes: Buffer, size = bytes.length): StoredEntry {
  return {
    seq: 0,
    bytes,
    entryType: 0,
    subject: undefined,
    position: {
      file: "bin.000001",
      offset: 4,
      after: undefined,
      before: { file: "bin.000001", position: 4, gtid: "", timestamp: 0 },
      timestamp: 0,
      gtid: "",
      serverId: 1,
    },
    size,
  };
}
