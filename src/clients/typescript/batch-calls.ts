// Stream and Get as the client's batches need them: each batch's entries as BatchEntries. Over
// a binary transport the calls go through the raw CanalService (wire/raw-canal-service.ts) and
// keep each entry's bytes; over JSON, or through a generated client the caller made, they go
// through the generated client and keep its decoded entries.

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallOptions, Client, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import type {
  CanalService,
  GetRequestSchema,
  StreamRequestSchema,
  Subscribed,
} from "../../gen/sluice/v1/canal_service_pb.js";
import type { FlatMessage } from "../../gen/sluice/v1/flat_message_pb.js";
import { type BatchEntries, DecodedEntries, EncodedEntries } from "./batch-entries.js";
import { rawCanalService } from "./wire/raw-canal-service.js";

/** A Batch (or a GetResponse's batch) with its entries as BatchEntries. */
export interface ClientBatch {
  batchId: string;
  entries: BatchEntries;
  flatMessages: FlatMessage[];
}

/** A StreamResponse carrying a ClientBatch. */
export interface ClientStreamResponse {
  message:
    | { case: "subscribed"; value: Subscribed }
    | { case: "batch"; value: ClientBatch }
    | { case: undefined };
}

/** A GetResponse carrying its entries as BatchEntries. */
export interface ClientGetResponse extends ClientBatch {
  epoch: bigint;
}

/** The two calls that carry entries. */
export interface BatchCalls {
  stream(
    request: MessageInitShape<typeof StreamRequestSchema>,
    options?: CallOptions,
  ): AsyncIterable<ClientStreamResponse>;
  get(request: MessageInitShape<typeof GetRequestSchema>, options?: CallOptions): Promise<ClientGetResponse>;
}

/** The raw answers: the generated shapes with `entries: Uint8Array[]`. */
interface RawBatch {
  batchId: string;
  entries: Uint8Array[];
  flatMessages: FlatMessage[];
}
interface RawCalls {
  stream(
    request: MessageInitShape<typeof StreamRequestSchema>,
    options?: CallOptions,
  ): AsyncIterable<{
    message:
      | { case: "subscribed"; value: Subscribed }
      | { case: "batch"; value: RawBatch }
      | { case: undefined };
  }>;
  get(
    request: MessageInitShape<typeof GetRequestSchema>,
    options?: CallOptions,
  ): Promise<RawBatch & { epoch: bigint }>;
}

/** Over a transport in protobuf's binary format: each entry's bytes kept, read when asked. */
export function encodedBatchCalls(transport: Transport): BatchCalls {
  const raw = createClient(rawCanalService(), transport) as unknown as RawCalls;
  return {
    async *stream(request, options) {
      for await (const res of raw.stream(request, options)) {
        const m = res.message;
        if (m.case === "batch") yield { message: { case: "batch", value: encoded(m.value) } };
        else yield { message: m };
      }
    },
    async get(request, options) {
      const res = await raw.get(request, options);
      return { ...encoded(res), epoch: res.epoch };
    },
  };
}

/** Through a generated client (any format): the entries it decoded. */
export function decodedBatchCalls(canal: Client<typeof CanalService>): BatchCalls {
  return {
    async *stream(request, options) {
      for await (const res of canal.stream(request, options)) {
        const m = res.message;
        if (m.case === "batch") {
          const { batchId, entries, flatMessages } = m.value;
          yield {
            message: {
              case: "batch",
              value: { batchId, entries: new DecodedEntries(entries), flatMessages },
            },
          };
        } else yield { message: m };
      }
    },
    async get(request, options) {
      const { batchId, entries, flatMessages, epoch } = await canal.get(request, options);
      return { batchId, entries: new DecodedEntries(entries), flatMessages, epoch };
    },
  };
}

function encoded(b: RawBatch): ClientBatch {
  return { batchId: b.batchId, entries: new EncodedEntries(b.entries), flatMessages: b.flatMessages };
}
