// CanalService as the client reads its batches over a binary transport: the same service,
// methods and wire, except that Batch.entries and GetResponse.entries are declared `repeated
// bytes`. An embedded message and a bytes field share the wire type, so protobuf-es hands over
// each entry's bytes (a view into the response, no copy) instead of an object graph per entry;
// the client decodes them when asked (batch-entries.ts). Built at run time from the generated
// descriptor, so it follows the proto without a second copy of it. JSON cannot be read this
// way (an entry is a JSON object there, not base64 text).
import {
  clearField,
  clone,
  createFileRegistry,
  type DescFile,
  type DescMessage,
  type DescService,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { CanalService, file_sluice_v1_canal_service } from "../../../gen/sluice/v1/canal_service_pb.js";

/** sluice.v1.Batch with its entries as bytes (what a StreamResponse's batch is read as). */
export function rawBatchSchema(): DescMessage {
  const batch = rawCanalService()
    .methods.find((m) => m.name === "Stream")
    ?.output.fields.find((f) => f.name === "batch")?.message;
  if (batch === undefined) throw new Error("sluice.v1.StreamResponse has no batch");
  return batch;
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
