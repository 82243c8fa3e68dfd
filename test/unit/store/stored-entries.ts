// Stored entries for the store's unit tests (only their bytes and size matter there), and a
// position for entries whose position does not matter (those tests, bench/delivery/codec).
import type { EntryPosition } from "../../../src/server/entry/positions.js";
import type { SlabMemory } from "../../../src/server/store/entry-memory.js";
import type { StoredEntry } from "../../../src/server/store/entry-ring.js";

/**
 * A stored entry of `bytes`, counted as `size` bytes (default: its bytes' length); with `slab`,
 * its memory counts until the slab is collected.
 */
export function storedEntry(bytes: Buffer, size = bytes.length, slab?: SlabMemory): StoredEntry {
  return {
    ...(slab ? { slab } : {}),
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

/** A binlog position for entries whose position does not matter. */
export const POSITION: EntryPosition = {
  file: "mysql-bin.000001",
  offset: 4,
  after: undefined,
  before: { file: "mysql-bin.000001", position: 4, gtid: "", timestamp: 0 },
  timestamp: 0,
  gtid: "",
  serverId: 1,
};
