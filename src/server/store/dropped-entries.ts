// Entries a store drops (acked, or a catch-up reader's ring let go) hold their bytes until V8
// collects them, and it collects them late: they lived long enough to reach the old
// generation, and V8 starts a full collection there when its heap grows (an entry is small
// there: its bytes live outside the heap) or when memory outside the heap has grown by 64 MiB
// or more since the last one. Until then the process holds what the store dropped beside what
// it holds (measured: 100 MB of array buffers beside a store of 8 MB, with a consumer that fell
// behind), and malloc keeps such a peak resident.
//
// So when a store drops `threshold` bytes or more at once (a client that fell behind moved off
// the shared ring, which then lets go of what only it needed; a catch-up reader's ring let go;
// a destination started again), V8 is asked for a full collection, run as a task of its own
// (the caller does not wait), at most one per `minIntervalMs`. Not for the small drops of
// every ack: a full collection takes 15-30 ms of CPU here, and one per 16 MiB acked cost 2-3 µs
// a row (bench/delivery --phases throughput); V8's own collections take care of those, and of
// bulk drops that come more often than the interval. The interval is short
// because bulk drops come close together: a slow consumer moved off the shared ring, which
// refilled in a quarter of a second and dropped again, and with one collection a second the
// second drop's 65 MB waited for V8 (bench/delivery --phases memory, a slow consumer: peak
// RSS 176 MB with a 1 s interval, 162 MB with 250 ms).
//
// Requests made in one turn of the event loop are one collection (`coalesced`): a bulk drop and
// the budget of the same store (store-budget.ts), or several stores, often ask in the same
// turn of the event loop, and each was a full collection of its own, the second freeing
// nothing (bench/delivery with --trace-gc: 43 + 39 ms for one drop).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export const DROPPED_BYTES_PER_COLLECTION = 16 << 20;
export const MIN_COLLECTION_INTERVAL_MS = 250;

/** Calls `collect` when `threshold` bytes or more are dropped at once, at most every `minIntervalMs`. */
export class DroppedEntries {
  /** Collections asked for. */
  collections = 0;
  #last = Number.NEGATIVE_INFINITY;

  constructor(
    readonly threshold: number,
    private readonly collect: (() => void) | undefined,
    readonly minIntervalMs = MIN_COLLECTION_INTERVAL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Told of every drop: the bytes the dropped entries held (StoredEntry.size). */
  dropped(bytes: number): void {
    if (!this.collect || bytes < this.threshold) return;
    const now = this.now();
    if (now - this.#last < this.minIntervalMs) return;
    this.#last = now;
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
  return typeof collect === "function"
    ? coalesced(() => collect({ type: "major", execution: "async" }))
    : undefined;
}

/**
 * `collect`, called on the next turn of the event loop (the caller does not wait for it): every
 * call until then asks for that one call.
 */
export function coalesced(collect: () => void, defer: (run: () => void) => void = setImmediate): () => void {
  let asked = false;
  return () => {
    if (asked) return;
    asked = true;
    defer(() => {
      asked = false;
      collect();
    });
  };
}

/**
 * V8's full collection, asked for on the next turn of the event loop and run as a task
 * (undefined where it cannot be had).
 */
export const fullCollection = v8FullCollection();

/** The process's: every ring tells it what it drops. */
export const droppedEntries = new DroppedEntries(DROPPED_BYTES_PER_COLLECTION, fullCollection);
