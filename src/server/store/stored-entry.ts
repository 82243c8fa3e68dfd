// An entry as the store keeps it: encoded once, when it enters the store, as the bytes every
// batch that carries it is made of (src/server/encode), with beside them only what the
// store, the clients' filters (the subject the parse stage made) and the cursors read. No object graph per entry lives on: the
// garbage collector has little to trace or promote, and `store.maxBytes` counts what is held.
import { type Entry, EntryType } from "../../gen/sluice/v1/entry_pb.js";
import { EntryEncoder } from "../encode/entry-encoder.js";
import type { FilterSubject } from "../entry/filter-subject.js";
import type { EntryPosition } from "../entry/positions.js";
import { isRowChanges, type RowChanges } from "../entry/row-changes.js";
import { followSlab, type SlabMemory } from "./entry-memory.js";

export interface StoredEntry {
  seq: number;
  /** The entry as one `entries` field of Batch and GetResponse (EntryEncoder.encodeField). */
  bytes: Buffer;
  entryType: EntryType;
  /** What client filters look at (undefined: the entry always passes them). */
  subject: FilterSubject | undefined;
  position: EntryPosition;
  /** Memory held: the bytes and the objects around them. */
  size: number;
  /** The slab its bytes live in, followed until V8 collects it (none: counted freed when dropped). */
  slab?: SlabMemory;
}

/**
 * Heap of a stored entry besides its bytes: this object, its Buffer view, its position and
 * filter subject (strings mostly shared with the schema cache). Measured with --expose-gc on
 * row changes of the bench's shape (330-380 bytes); counted so that many small entries fill
 * the store too.
 */
export const STORED_ENTRY_OVERHEAD = 400;

/** Room of one slab of entry bytes; entries over an eighth of it get a buffer of their own. */
const SLAB_BYTES = 256 * 1024;

const encoder = new EntryEncoder();

/**
 * Makes the stored form of one ring's entries. Their bytes go into slabs shared by consecutive
 * entries of the ring, which drops entries in the order it took them, so a slab is freed soon
 * after its last entry: Node's own pool (8 KiB slabs, for buffers under 4 KiB) wasted a sixth
 * of the room on the bench's entries, and a buffer of its own costs each entry an ArrayBuffer.
 */
export class EntryStorer {
  #slab = Buffer.allocUnsafeSlow(0);
  #slabMemory: SlabMemory | undefined;
  /** The slab of the last allocation. */
  #lastSlab: SlabMemory | undefined;
  #used = 0;
  readonly #alloc = (size: number): Buffer => this.#allocate(size);

  /** The stored form of `entry` (its sequence is the ring's to set). */
  store(entry: Entry | RowChanges, subject: FilterSubject | undefined, position: EntryPosition): StoredEntry {
    const bytes = encoder.encodeField(entry, this.#alloc);
    return {
      seq: 0,
      bytes,
      entryType: isRowChanges(entry) ? EntryType.ROWDATA : entry.entryType,
      subject,
      position,
      size: bytes.length + STORED_ENTRY_OVERHEAD,
      slab: this.#lastSlab,
    };
  }

  #allocate(size: number): Buffer {
    if (size > SLAB_BYTES / 8) {
      const own = Buffer.allocUnsafeSlow(size);
      this.#lastSlab = followSlab(own.buffer);
      return own;
    }
    if (this.#used + size > this.#slab.length) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.#slabMemory = followSlab(this.#slab.buffer);
      this.#used = 0;
    }
    this.#lastSlab = this.#slabMemory;
    const out = this.#slab.subarray(this.#used, this.#used + size);
    this.#used += size;
    return out;
  }
}
