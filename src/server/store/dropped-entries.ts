// Entries a store drops (acked, or a catch-up reader's ring let go) hold their bytes until V8
// collects them, and it collects them late: they lived long enough to reach the old
// generation, and V8 starts a full collection there when its heap grows (an entry is small
// there: its bytes live outside the heap) or when memory outside the heap has grown by 64 MiB
// or more since the last one. Until then the process holds what the store dropped beside what
// it holds (measured: 100 MB of array buffers beside a store of 8 MB, with a consumer that fell
// behind), and malloc keeps such a peak resident.
//
// So once the stores have dropped `threshold` bytes since the last time, V8 is asked for a full
// collection, run as a task of its own (execution "async": the caller does not wait). A
// collection of this heap takes a few ms: with the default threshold, one per 16 MiB of
// entries delivered, about 0.05 µs a row.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export const DROPPED_BYTES_PER_COLLECTION = 16 << 20;

/** Counts bytes the stores drop; every `threshold` of them, calls `collect`. */
export class DroppedEntries {
  #dropped = 0;
  /** Collections asked for. */
  collections = 0;

  constructor(
    readonly threshold: number,
    private readonly collect: (() => void) | undefined,
  ) {}

  /** Told of every drop: the bytes the dropped entries held (StoredEntry.size). */
  dropped(bytes: number): void {
    if (!this.collect) return;
    this.#dropped += bytes;
    if (this.#dropped < this.threshold) return;
    this.#dropped = 0;
    this.collections++;
    this.collect();
  }
}

type Gc = (options?: { type?: "major" | "minor"; execution?: "sync" | "async" }) => void;

/** V8's full collection as a task, without exposing gc() to the process's code. */
function v8FullCollection(): (() => void) | undefined {
  let gc = (globalThis as { gc?: Gc }).gc;
  if (!gc) {
    try {
      // The flag decides whether a new context gets gc(): on for one context, then off again.
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as Gc | undefined;
      setFlagsFromString("--no-expose-gc");
    } catch {
      return undefined;
    }
  }
  const collect = gc;
  return typeof collect === "function" ? () => collect({ type: "major", execution: "async" }) : undefined;
}

/** The process's: every ring tells it what it drops. */
export const droppedEntries = new DroppedEntries(DROPPED_BYTES_PER_COLLECTION, v8FullCollection());
