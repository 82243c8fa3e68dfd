// grpc.reflection.v1 on the gateway, so that `grpcurl -plaintext HOST:PORT list` and
// `buf curl --reflect` can explore the API. Answers from the file descriptors compiled into
// the generated code (src/gen). A bidirectional stream: gRPC over HTTP/2 only.
import { createRegistry, type DescFile, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type {
  ServerReflection,
  ServerReflectionRequest,
  ServerReflectionResponse,
} from "../gen/grpc/reflection/v1/reflection_pb.js";

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/** Reflection over `services` (typeName → the file that defines it). */
export function createReflectionService(
  services: { typeName: string; file: DescFile }[],
): ServiceImpl<typeof ServerReflection> {
  const files = new Map<string, DescFile>();
  const add = (f: DescFile) => {
    if (files.has(f.name)) return;
    files.set(f.name, f);
    for (const d of f.dependencies) add(d);
  };
  for (const s of services) add(s.file);
  const registry = createRegistry(...files.values());

  /** The file and, after it, every file it depends on (what grpcurl expects). */
  const withDeps = (f: DescFile): Uint8Array[] => {
    const out: DescFile[] = [];
    const visit = (x: DescFile) => {
      if (out.includes(x)) return;
      out.push(x);
      for (const d of x.dependencies) visit(d);
    };
    visit(f);
    return out.map((x) => toBinary(FileDescriptorProtoSchema, x.proto));
  };

  const fileOfSymbol = (symbol: string): DescFile | undefined => {
    const direct = registry.get(symbol) ?? registry.getService(symbol);
    if (direct) return direct.file;
    const dot = symbol.lastIndexOf(".");
    if (dot > 0) return registry.getService(symbol.slice(0, dot))?.file; // a method
    return undefined;
  };

  function answer(req: ServerReflectionRequest): ServerReflectionResponse["messageResponse"] {
    const m = req.messageRequest;
    const error = (code: number, message: string): ServerReflectionResponse["messageResponse"] => ({
      case: "errorResponse",
      value: { $typeName: "grpc.reflection.v1.ErrorResponse", errorCode: code, errorMessage: message },
    });
    const fileResponse = (
      f: DescFile | undefined,
      what: string,
    ): ServerReflectionResponse["messageResponse"] =>
      f
        ? {
            case: "fileDescriptorResponse",
            value: {
              $typeName: "grpc.reflection.v1.FileDescriptorResponse",
              fileDescriptorProto: withDeps(f),
            },
          }
        : error(NOT_FOUND, `${what} not found`);
    switch (m.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: {
            $typeName: "grpc.reflection.v1.ListServiceResponse",
            service: services.map((s) => ({
              $typeName: "grpc.reflection.v1.ServiceResponse",
              name: s.typeName,
            })),
          },
        };
      case "fileByFilename":
        return fileResponse(files.get(m.value), `file ${m.value}`);
      case "fileContainingSymbol":
        return fileResponse(fileOfSymbol(m.value), `symbol ${m.value}`);
      case "fileContainingExtension":
      case "allExtensionNumbersOfType":
        // sluice's API declares no extensions.
        return m.case === "allExtensionNumbersOfType" && registry.getMessage(m.value)
          ? {
              case: "allExtensionNumbersResponse",
              value: {
                $typeName: "grpc.reflection.v1.ExtensionNumberResponse",
                baseTypeName: m.value,
                extensionNumber: [],
              },
            }
          : error(NOT_FOUND, "no extensions are declared");
      default:
        return error(UNIMPLEMENTED, "unknown request");
    }
  }

  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: answer(req) };
      }
    },
  };
}
