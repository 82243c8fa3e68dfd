// The entries of a batch as the client holds them. Over a binary transport they stay the bytes
// that came (EncodedEntries): `rows()` reads flat rows straight from them (wire/row-reader.ts),
// which costs a fraction of decoding the entries, and `entries` decodes them with protobuf-es
// on first use. Over JSON the transport has decoded them already (DecodedEntries).
import { fromBinary } from "@bufbuild/protobuf";
import { type Entry, EntrySchema } from "../../gen/sluice/v1/entry_pb.js";
import { type FlatRow, flatRows } from "./rows.js";
import { RowReader } from "./wire/row-reader.js";

/** A batch's entries: as flat rows, or as protobuf-es messages. */
export interface BatchEntries {
  /** The entries as protobuf-es messages. */
  readonly entries: Entry[];
  /** The row changes and statements as flat rows, as flatRows(entries) gives them. */
  rows(): FlatRow[];
}

/** One reader for all batches: its caches of names and header strings carry over. */
const reader = new RowReader();

/** Entries as their encoded bytes (sluice.v1.Entry each). */
export class EncodedEntries implements BatchEntries {
  readonly #bytes: readonly Uint8Array[];
  #entries: Entry[] | undefined;

  constructor(bytes: readonly Uint8Array[]) {
    this.#bytes = bytes;
  }

  /** Each entry's encoded bytes. */
  get bytes(): readonly Uint8Array[] {
    return this.#bytes;
  }

  /** Decoded on first use. */
  get entries(): Entry[] {
    this.#entries ??= this.#bytes.map((b) => fromBinary(EntrySchema, b));
    return this.#entries;
  }

  rows(): FlatRow[] {
    return reader.rows(this.#bytes);
  }
}

/** Entries a transport decoded (the JSON format, or a generated client's answer). */
export class DecodedEntries implements BatchEntries {
  constructor(readonly entries: Entry[]) {}

  rows(): FlatRow[] {
    return flatRows(this.entries);
  }
}
