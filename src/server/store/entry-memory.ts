// The memory an entry's bytes live in, followed until V8 collects it. A store that drops an
// entry does not free its bytes: the slab they sit in (stored-entry.ts) is freed by V8's next
// full collection after its last entry is dropped, and V8 starts one late (when memory
// outside its heap has grown by 64 MiB since the last). Counted as held until then, a store
// of store.maxBytes cannot occupy twice that while its readers refill what consumers drop
// (measured: 65 MiB of entries and 64 MiB dropped awaiting collection, a consumer catching up).
//
// Each slab is registered with a FinalizationRegistry; the ring that drops an entry adds its
// size to the slab's dropped bytes and to its budget's uncollected bytes, and the registry's
// callback, once V8 collected the slab, takes them off again (store-budget.ts).

/** What a budget is told when the slab of bytes it counted as dropped was collected. */
export interface CollectedListener {
  collected(bytes: number): void;
}

/** One slab (or an entry's own buffer): what its dropped entries counted, and whose they were. */
export class SlabMemory {
  /** Sizes (StoredEntry.size) of its entries dropped so far. */
  dropped = 0;
  /** The budget that counted them (the ring's, set at the first drop). */
  owner: CollectedListener | undefined;
}

const collectedSlabs = new FinalizationRegistry<SlabMemory>((slab) => {
  slab.owner?.collected(slab.dropped);
});

/** A SlabMemory for `memory`, told to its owner once V8 has collected `memory`. */
export function followSlab(memory: ArrayBufferLike): SlabMemory {
  const slab = new SlabMemory();
  collectedSlabs.register(memory, slab);
  return slab;
}
