// The delivery responses (GetResponse, and StreamResponse carrying a Batch) made from entries
// the store already holds as bytes (entry-encoder.ts): a batch is its few own fields around
// its entries' bytes, copied once into one buffer, whatever number of clients get them. The
// bytes are protobuf-es's toBinary's, field for field (test/unit/encode/responses.test.ts).
//
// connect-es serializes what a handler returns with toBinary, and has no way to be handed
// bytes. toBinary writes a message's unknown fields as they are, after its known ones; so
// `preEncoded` returns a message whose known fields are all unset and whose one unknown field
// is the whole of the bytes (the first field's tag, then everything after it): toBinary writes
// back exactly those bytes, with one copy. Only for the binary codec: protobuf-es's JSON
// writer leaves unknown fields out, so a JSON call gets the response as objects.
import { create, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { WireType } from "@bufbuild/protobuf/wire";
import type { FlatMessage } from "../../gen/sluice/v1/flat_message_pb.js";
import { FlatMessageSchema } from "../../gen/sluice/v1/flat_message_pb.js";
import { ProtoWriter, WIRE_LEN, WIRE_VARINT } from "./proto-writer.js";

// Field numbers (proto/sluice/v1/canal_service.proto).
const GET_BATCH_ID = 1;
const GET_FLAT_MESSAGES = 3;
const GET_EPOCH = 4;
const STREAM_BATCH = 2;
const BATCH_BATCH_ID = 1;
const BATCH_FLAT_MESSAGES = 3;

/**
 * GetResponse's bytes: `entries` are `entries` fields as EntryEncoder.encodeField makes them
 * (shared, not changed), `flat` the flat messages (encoded here: a rare path).
 */
export function encodeGetResponse(
  batchId: string,
  entries: readonly Uint8Array[],
  flat: readonly FlatMessage[],
  epoch: bigint,
): Buffer {
  const head = new ProtoWriter(64);
  if (batchId !== "") {
    head.tag(GET_BATCH_ID, WIRE_LEN);
    head.string(batchId);
  }
  const tail = new ProtoWriter(16);
  writeFlat(tail, GET_FLAT_MESSAGES, flat);
  if (epoch !== 0n) {
    tail.tag(GET_EPOCH, WIRE_VARINT);
    tail.int64(epoch);
  }
  return Buffer.concat([written(head), ...entries, written(tail)]);
}

/** StreamResponse's bytes with `message` a Batch (`entries` and `flat` as for GetResponse). */
export function encodeStreamBatch(
  batchId: string,
  entries: readonly Uint8Array[],
  flat: readonly FlatMessage[],
): Buffer {
  return Buffer.concat(streamBatchParts(batchId, entries, flat));
}

/** encodeStreamBatch's bytes in parts, back to back: its own fields around the entries, which are not copied. */
export function streamBatchParts(
  batchId: string,
  entries: readonly Uint8Array[],
  flat: readonly FlatMessage[],
): Uint8Array[] {
  const own = new ProtoWriter(64);
  if (batchId !== "") {
    own.tag(BATCH_BATCH_ID, WIRE_LEN);
    own.string(batchId);
  }
  const tail = new ProtoWriter(16);
  writeFlat(tail, BATCH_FLAT_MESSAGES, flat);
  let size = own.pos + tail.pos;
  for (const e of entries) size += e.length;
  const head = new ProtoWriter(16 + own.pos);
  head.tag(STREAM_BATCH, WIRE_LEN);
  head.varint(size);
  head.raw(written(own));
  const parts = [written(head), ...entries];
  if (tail.pos > 0) parts.push(written(tail));
  return parts;
}

/**
 * A message of `schema` that protobuf-es's toBinary writes as exactly `bytes` (a complete
 * encoding of a `schema` message whose first field's tag is minimal): see the top of the file.
 * Its fields read as unset: for the binary codec only.
 */
export function preEncoded<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  const message = create(schema);
  if (bytes.length === 0) return message;
  let tag = 0;
  let i = 0;
  for (let shift = 1; ; shift *= 128) {
    const b = bytes[i++] as number;
    tag += (b & 0x7f) * shift;
    if (b < 0x80) break;
  }
  message.$unknown = [{ no: Math.floor(tag / 8), wireType: (tag % 8) as WireType, data: bytes.subarray(i) }];
  return message;
}

function writeFlat(w: ProtoWriter, field: number, flat: readonly FlatMessage[]): void {
  for (const m of flat) {
    w.tag(field, WIRE_LEN);
    const bytes = toBinary(FlatMessageSchema, m);
    w.varint(bytes.length);
    w.raw(bytes);
  }
}

function written(w: ProtoWriter): Buffer {
  return w.buf.subarray(0, w.pos);
}
