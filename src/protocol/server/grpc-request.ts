// What the lean gRPC paths (grpc-unary.ts, grpc-stream.ts) take of a request: which requests
// they serve, and the request message with how the call came.
import type * as http2 from "node:http2";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { parseGrpcTimeout } from "../deadline.js";
import { FRAME_HEADER_BYTES } from "../frame.js";
import { webHeaders } from "../wire-errors.js";
import type { LeanWire } from "./lean-context.js";
import { decodeRequest, readGrpcRequest } from "./request-body.js";
import type { HttpRequest } from "./server.js";

/**
 * The deadline of a gRPC call a lean path may serve: HTTP/2, application/grpc[+proto],
 * uncompressed, a well-formed `grpc-timeout` or none. Undefined for any other request, which
 * connect-es answers (a malformed timeout included).
 */
export function leanGrpcDeadline(req: HttpRequest): { timeoutMs: number | undefined } | undefined {
  if (req.httpVersionMajor !== 2) return undefined;
  if (!/^application\/grpc(\+proto)?$/i.test(req.headers["content-type"] ?? "")) return undefined;
  const encoding = req.headers["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity") return undefined;
  const timeout = req.headers["grpc-timeout"];
  if (timeout === undefined) return { timeoutMs: undefined };
  const timeoutMs = typeof timeout === "string" ? parseGrpcTimeout(timeout) : undefined;
  return timeoutMs === undefined ? undefined : { timeoutMs };
}

/** The call's one request message, read whole and decoded, and how the call came. */
export async function readLeanGrpc<T extends DescMessage>(
  req: http2.Http2ServerRequest,
  schema: T,
  readMaxBytes: number,
): Promise<{ input: MessageShape<T>; wire: LeanWire }> {
  const body = (await readGrpcRequest(req, readMaxBytes)).subarray(FRAME_HEADER_BYTES);
  const input = decodeRequest(schema, body);
  const wire: LeanWire = {
    protocol: "grpc",
    codec: "proto",
    httpVersion: "2",
    headers: webHeaders(req.headers),
    socket: req.socket,
    url: `http://${req.authority}${req.url}`,
  };
  return { input, wire };
}
