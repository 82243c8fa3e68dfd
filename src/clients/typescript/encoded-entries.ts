// The entries of a batch as the client received them: each entry's bytes, decoded when asked
// for. `entries` decodes them all with protobuf-es (once); `rows()` reads flat rows straight
// from the bytes (wire/row-reader.ts), which costs a fraction of decoding the entries.
import { fromBinary } from "@bufbuild/protobuf";
import { type Entry, EntrySchema } from "../../gen/sluice/v1/entry_pb.js";
import type { FlatRow } from "./rows.js";
import { RowReader } from "./wire/row-reader.js";

/** One reader for all batches: its caches of names and header strings carry over. */
const reader = new RowReader();

export class EncodedEntries {
  readonly #bytes: readonly Uint8Array[];
  #entries: Entry[] | undefined;

  constructor(bytes: readonly Uint8Array[]) {
    this.#bytes = bytes;
  }

  /** Each entry's encoded bytes (sluice.v1.Entry). */
  get bytes(): readonly Uint8Array[] {
    return this.#bytes;
  }

  /** The entries as protobuf-es messages, decoded on first use. */
  get entries(): Entry[] {
    this.#entries ??= this.#bytes.map((b) => fromBinary(EntrySchema, b));
    return this.#entries;
  }

  /** The row changes and statements as flat rows, as flatRows(entries) gives them. */
  rows(): FlatRow[] {
    return reader.rows(this.#bytes);
  }
}
