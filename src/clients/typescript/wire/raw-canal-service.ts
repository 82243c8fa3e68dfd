// CanalService as the client reads its batches: the same service, methods and wire, except that
// Batch.entries and GetResponse.entries are declared `repeated bytes`. An embedded message and
// a bytes field share the wire type, so protobuf-es hands over each entry's bytes (a view into
// the response, no copy) instead of an object graph per entry; the client decodes them when
// asked (encoded-entries.ts). Built at run time from the generated descriptor, so it follows
// the proto without a second copy of it.
import {
  clearField,
  clone,
  createFileRegistry,
  type DescFile,
  type DescMessage,
  type DescService,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { type CallOptions, type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  CanalService,
  file_sluice_v1_canal_service,
  type GetRequestSchema,
  type StreamRequestSchema,
  type Subscribed,
} from "../../../gen/sluice/v1/canal_service_pb.js";
import { type Entry, EntrySchema } from "../../../gen/sluice/v1/entry_pb.js";
import type { FlatMessage } from "../../../gen/sluice/v1/flat_message_pb.js";

/** A Batch with its entries as bytes. */
export interface RawBatch {
  batchId: string;
  entries: Uint8Array[];
  flatMessages: FlatMessage[];
}

/** A StreamResponse with its batch's entries as bytes. */
export interface RawStreamResponse {
  message:
    | { case: "subscribed"; value: Subscribed }
    | { case: "batch"; value: RawBatch }
    | { case: undefined };
}

/** A GetResponse with its entries as bytes. */
export interface RawGetResponse extends RawBatch {
  epoch: bigint;
}

/** The two calls that carry entries, answered with each entry's bytes. */
export interface RawBatchCalls {
  stream(
    request: MessageInitShape<typeof StreamRequestSchema>,
    options?: CallOptions,
  ): AsyncIterable<RawStreamResponse>;
  get(request: MessageInitShape<typeof GetRequestSchema>, options?: CallOptions): Promise<RawGetResponse>;
}

/** sluice.v1.Batch with its entries as bytes (what a StreamResponse's batch is read as). */
export function rawBatchSchema(): DescMessage {
  const batch = rawCanalService()
    .methods.find((m) => m.name === "Stream")
    ?.output.fields.find((f) => f.name === "batch")?.message;
  if (batch === undefined) throw new Error("sluice.v1.StreamResponse has no batch");
  return batch;
}

/** Stream and Get over the transport, with the entries as bytes. */
export function rawBatchCalls(transport: Transport): RawBatchCalls {
  return createClient(rawCanalService(), transport) as unknown as RawBatchCalls;
}

/**
 * Stream and Get through a generated client that decodes entries (a client made by the caller):
 * each entry is encoded again, so that batches read the same way whatever made them.
 */
export function reencodedBatchCalls(canal: Client<typeof CanalService>): RawBatchCalls {
  return {
    async *stream(request, options) {
      for await (const res of canal.stream(request, options)) {
        const m = res.message;
        if (m.case === "batch")
          yield { message: { case: "batch", value: { ...m.value, entries: bytesOf(m.value.entries) } } };
        else yield { message: m };
      }
    },
    async get(request, options) {
      const res = await canal.get(request, options);
      return {
        batchId: res.batchId,
        entries: bytesOf(res.entries),
        flatMessages: res.flatMessages,
        epoch: res.epoch,
      };
    },
  };
}

function bytesOf(entries: Entry[]): Uint8Array[] {
  return entries.map((e) => toBinary(EntrySchema, e));
}

let rawService: DescService | undefined;

/** CanalService with Batch.entries and GetResponse.entries as `repeated bytes`. */
export function rawCanalService(): DescService {
  rawService ??= buildRawService();
  return rawService;
}

function buildRawService(): DescService {
  const file = clone(FileDescriptorProtoSchema, file_sluice_v1_canal_service.proto);
  for (const name of ["Batch", "GetResponse"]) {
    const entries = file.messageType.find((m) => m.name === name)?.field.find((f) => f.name === "entries");
    if (entries === undefined) throw new Error(`sluice.v1.${name}.entries is not in canal_service.proto`);
    entries.type = FieldDescriptorProto_Type.BYTES;
    clearField(entries, FieldDescriptorProtoSchema.field.typeName);
  }
  const imports = new Map<string, DescFile>();
  const collect = (f: DescFile) => {
    for (const dep of f.dependencies) {
      imports.set(`${dep.name}.proto`, dep);
      collect(dep);
    }
  };
  collect(file_sluice_v1_canal_service);
  const service = createFileRegistry(file, (name) => imports.get(name)).getService(CanalService.typeName);
  if (service === undefined) throw new Error(`${CanalService.typeName} is not in canal_service.proto`);
  return service;
}
