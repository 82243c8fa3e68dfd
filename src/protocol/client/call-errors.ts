// What a unary call's failures on node:http and node:http2 become, the same as connect-node's
// (grpc-transport.ts, connect-transport.ts): callers and the retry rules cannot tell the transports apart.
import { constants as h2 } from "node:http2";
import { type DescMessage, fromBinary, fromJsonString, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** A response message in protobuf binary; a bad one fails as connect-es's does (internal). */
export function parseBinary<O extends DescMessage>(schema: O, data: Uint8Array): MessageShape<O> {
  try {
    return fromBinary(schema, data);
  } catch (e) {
    throw new ConnectError(`parse binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
  }
}

/**
 * A response message in protobuf JSON, unknown fields ignored (a newer server may add some);
 * a bad one fails as connect-es's does (invalid_argument).
 */
export function parseJson<O extends DescMessage>(schema: O, text: string): MessageShape<O> {
  try {
    return fromJsonString(schema, text, { ignoreUnknownFields: true });
  } catch (e) {
    throw ConnectError.from(e, Code.InvalidArgument);
  }
}

const H2_CODE_NAMES: Record<number, string> = {
  1: "PROTOCOL_ERROR",
  2: "INTERNAL_ERROR",
  3: "FLOW_CONTROL_ERROR",
  4: "SETTINGS_TIMEOUT",
  6: "FRAME_SIZE_ERROR",
  7: "REFUSED_STREAM",
  8: "CANCEL",
  9: "COMPRESSION_ERROR",
  10: "CONNECT_ERROR",
  11: "ENHANCE_YOUR_CALM",
  12: "INADEQUATE_SECURITY",
  13: "HTTP_1_1_REQUIRED",
};

/**
 * An HTTP/2 RST_STREAM code as a gRPC status, by the mapping in gRPC's PROTOCOL-HTTP2.md
 * (undefined: none, or NO_ERROR). connect-node maps the same way, but for most codes Node's
 * stream error reaches it first and the call ends `internal`; REFUSED_STREAM is the case that
 * matters: the server did not process the call, so it is `unavailable` and safe to retry.
 */
export function resetError(code: number | undefined): ConnectError | undefined {
  if (code === undefined || code === h2.NGHTTP2_NO_ERROR || code === h2.NGHTTP2_STREAM_CLOSED)
    return undefined;
  const text = `http/2 stream closed with error code ${H2_CODE_NAMES[code] ?? code} (0x${code.toString(16)})`;
  switch (code) {
    case h2.NGHTTP2_REFUSED_STREAM:
      return new ConnectError(text, Code.Unavailable);
    case h2.NGHTTP2_CANCEL:
      return new ConnectError(text, Code.Canceled);
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return new ConnectError(text, Code.ResourceExhausted);
    case h2.NGHTTP2_INADEQUATE_SECURITY:
    case h2.NGHTTP2_HTTP_1_1_REQUIRED:
      return new ConnectError(text, Code.PermissionDenied);
    default:
      return new ConnectError(text, Code.Internal);
  }
}

/** connect-node's mapping of Node's own errors (connection refused, reset, destroyed). */
export function nodeError(err: unknown): ConnectError {
  const codes: string[] = [];
  for (let e = err, n = 0; e instanceof Error && n < 10; e = (e as Error & { cause?: unknown }).cause, n++) {
    const c = (e as Error & { code?: unknown }).code;
    if (typeof c === "string") codes.push(c);
  }
  let code = Code.Internal;
  if (
    codes.some((c) => c === "ERR_STREAM_DESTROYED" || c === "ERR_HTTP2_INVALID_STREAM" || c === "ECONNRESET")
  ) {
    code = Code.Aborted;
  } else if (
    codes.some((c) => c === "ETIMEDOUT" || c === "ENOTFOUND" || c === "EAI_AGAIN" || c === "ECONNREFUSED")
  ) {
    code = Code.Unavailable;
  }
  return ConnectError.from(err, code);
}
