// GetResponse in proto3 JSON (what a Connect JSON `Get` answers) made from each entry's JSON
// form (entry-json.ts), made once per stored entry and shared by every JSON client: a batch is
// its few own members around its entries' JSON, in parts the server writes one after the other
// (protocol/json-answer.ts), not copied into one buffer (a megabyte per Get, and its garbage).
// The parts, back to back, are those connect-es writes for the same GetResponse (toJsonString
// with its defaults, UTF-8): test/unit/encode/json-responses.test.ts.
//
// Each entry's JSON is kept beside its stored bytes, in a WeakMap keyed by them (the Buffer
// the store holds, which every batch carrying the entry shares): made on the entry's first
// JSON delivery, it lives exactly as long as the stored bytes do (the store's ring and the
// batches still outstanding), so a server without JSON clients makes none, and one with them
// holds at most the JSON form of what its store holds besides (on the bench's rows twice the
// entries' protobuf bytes: docs/configuration.md, store.maxBytes). A pruned copy (a client's
// field filter) is a Buffer of its own and gets a JSON form of its own.
import { toJsonString } from "@bufbuild/protobuf";
import { type FlatMessage, FlatMessageSchema } from "../../gen/sluice/v1/flat_message_pb.js";
import { storedEntryJsonBytes } from "./entry-json.js";

const jsonOfStored = new WeakMap<Uint8Array, Buffer>();
let made = 0;

/** How many JSON forms of entries this process has made (tests: they are made once and shared). */
export function entryJsonFormsMade(): number {
  return made;
}

/** The JSON form of an entry stored as `field` (an `entries` field, EntryEncoder.encodeField). */
export function storedEntryJson(field: Uint8Array): Buffer {
  let json = jsonOfStored.get(field);
  if (json === undefined) {
    json = storedEntryJsonBytes(field);
    made++;
    jsonOfStored.set(field, json);
  }
  return json;
}

const COMMA = Buffer.from(",");

/**
 * GetResponse's JSON, in parts to be sent one after the other: `entries` are stored entries
 * (`entries` fields, as the store holds them), `flat` the flat messages (written here by
 * protobuf-es: a rare path).
 */
export function encodeGetResponseJson(
  batchId: string,
  entries: readonly Uint8Array[],
  flat: readonly FlatMessage[],
  epoch: bigint,
): Buffer[] {
  const parts: Buffer[] = [];
  let head = "{";
  if (batchId !== "") head += `"batchId":${JSON.stringify(batchId)}`;
  if (entries.length > 0) {
    parts.push(Buffer.from(`${head}${head.length > 1 ? "," : ""}"entries":[`, "utf8"));
    for (let i = 0; i < entries.length; i++) {
      if (i > 0) parts.push(COMMA);
      parts.push(storedEntryJson(entries[i] as Uint8Array));
    }
    head = "]";
  }
  let tail = head;
  const first = () => tail === "{";
  if (flat.length > 0) {
    tail += `${first() ? "" : ","}"flatMessages":[${flat.map((m) => toJsonString(FlatMessageSchema, m)).join(",")}]`;
  }
  if (epoch !== 0n) tail += `${first() ? "" : ","}"epoch":"${epoch}"`;
  parts.push(Buffer.from(`${tail}}`, "utf8"));
  return parts;
}
