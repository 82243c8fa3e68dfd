// Errors on the wire: a ConnectError as each protocol carries it, and back. The forms are
// connect-es's own (its exported protocol helpers), so that sluice's hand-written paths answer
// byte for byte as its typed paths do:
// - gRPC: `grpc-status`, `grpc-message`, `grpc-status-details-bin` (a google.rpc.Status with
//   the error's details) and the error's metadata, in the trailers or, for an answer without a
//   message, in the headers (trailers-only);
// - gRPC-Web: the same fields as HTTP/1 header lines in a last frame flagged 0x80;
// - Connect unary: an HTTP status from the code and a JSON body {"code","message","details"},
//   the metadata as response headers;
// - Connect streams: a last frame flagged 0x02 with {"error":{...},"metadata":{...}}.
// The error's metadata (e.g. `retry-after-ms`) travels along in every form.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  codeFromHttpStatus,
  codeToHttpStatus,
  endStreamFromJson,
  endStreamToJson,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { encodeFrame, FLAG_END_STREAM, FLAG_TRAILER } from "./frame.js";
import { boundStatusDetails, decodeGrpcMessage, encodeGrpcMessage } from "./grpc-message.js";

/** Header fields as Node gives them (pseudo-headers are skipped). */
export type NodeHeaders = Record<string, string | string[] | number | undefined>;

/** Node's header fields as fetch Headers, without HTTP/2 pseudo-headers. */
export function webHeaders(h: NodeHeaders): Headers {
  const out = new Headers();
  for (const key of Object.keys(h)) {
    if (key.startsWith(":")) continue;
    const v = h[key];
    if (Array.isArray(v)) for (const x of v) out.append(key, x);
    else if (v !== undefined) out.set(key, String(v));
  }
  return out;
}

/** Headers as a plain object (one value per name: the last). */
export function headerRecord(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

// gRPC ---------------------------------------------------------------------------------------

/**
 * The status fields of a gRPC answer: `grpc-status` 0 without an error; with one, its code,
 * message (percent-encoded as the gRPC spec says, see grpc-message.ts), details and metadata.
 */
export function grpcStatusFields(err: ConnectError | undefined): Record<string, string> {
  const fields = headerRecord(setTrailerStatus(new Headers(), err));
  if (err !== undefined) fields["grpc-message"] = encodeGrpcMessage(err.rawMessage);
  boundStatusDetails(fields);
  return fields;
}

/** The gRPC status in headers (a trailers-only answer) or trailers: its code as sent, or undefined. */
export function grpcStatusCode(fields: NodeHeaders | Headers): string | undefined {
  const v = fields instanceof Headers ? fields.get("grpc-status") : fields["grpc-status"];
  return v === null || v === undefined ? undefined : String(v);
}

/**
 * The error a gRPC status carries (undefined for status 0 or none), with its details and, as
 * metadata, every field beside it (such as `retry-after-ms`).
 */
export function errorFromGrpcStatus(fields: NodeHeaders | Headers): ConnectError | undefined {
  const h = fields instanceof Headers ? new Headers(fields) : webHeaders(fields);
  const message = h.get("grpc-message");
  // connect-es decodes with decodeURIComponent, which throws on a stray "%": decode tolerantly.
  if (message !== null) h.set("grpc-message", encodeURIComponent(decodeGrpcMessage(message)));
  return findTrailerError(h);
}

// gRPC-Web ------------------------------------------------------------------------------------

/** The last frame of a gRPC-Web answer: the status fields (and `trailers`) as header lines. */
export function grpcWebTrailerFrame(err: ConnectError | undefined, trailers = new Headers()): Buffer {
  const fields = new Headers(trailers);
  for (const [k, v] of Object.entries(grpcStatusFields(err))) fields.set(k, v);
  return encodeFrame(trailerSerialize(fields), FLAG_TRAILER);
}

/** The trailers of a gRPC-Web answer's last frame, and the error they carry. */
export function fromGrpcWebTrailer(message: Uint8Array): {
  trailers: Headers;
  error: ConnectError | undefined;
} {
  const trailers = trailerParse(message);
  return { trailers, error: errorFromGrpcStatus(trailers) };
}

// Connect unary ------------------------------------------------------------------------------

export interface ConnectUnaryError {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A Connect unary error answer: HTTP status, headers (JSON, the error's metadata) and body. */
export function connectUnaryError(err: ConnectError): ConnectUnaryError {
  const body = Buffer.from(errorToJsonBytes(err, {}));
  const headers: Record<string, string> = {};
  if (!err.isWireError) {
    err.metadata.forEach((v, k) => {
      if (!PROTOCOL_HEADERS.has(k)) headers[k] = v;
    });
  }
  headers["content-type"] = "application/json";
  headers["content-length"] = String(body.length);
  return { status: codeToHttpStatus(err.code), headers, body };
}

/** The error of a Connect unary answer with a status other than 200, as connect-es reads it. */
export function errorFromConnectUnary(status: number, headers: Headers, body: Uint8Array): ConnectError {
  // Without a JSON body, the code is the HTTP status's.
  const fallback = new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status), headers);
  try {
    return errorFromJsonBytes(body, headers, fallback);
  } catch {
    return fallback;
  }
}

// Connect streams ----------------------------------------------------------------------------

/** The last frame of a Connect stream: the error if any, and the trailers as metadata. */
export function connectEndStreamFrame(err: ConnectError | undefined, trailers = new Headers()): Buffer {
  const json = JSON.stringify(endStreamToJson(new Headers(trailers), err, {}));
  return encodeFrame(Buffer.from(json, "utf8"), FLAG_END_STREAM);
}

/** The error and trailers of a Connect stream's end-of-stream message. */
export function fromConnectEndStream(message: Uint8Array): {
  trailers: Headers;
  error: ConnectError | undefined;
} {
  const { metadata, error } = endStreamFromJson(message);
  return { trailers: metadata, error };
}

/** A Connect code's name as the protocol writes it ("ok", "unavailable", "failed_precondition"). */
export function codeName(code: number): string {
  if (code === 0) return "ok";
  const name = Code[code];
  return name ? name.replace(/[A-Z]/g, (c, i: number) => (i ? "_" : "") + c.toLowerCase()) : String(code);
}

/** Header names the protocols reserve: never copied from an error's metadata. */
const PROTOCOL_HEADERS = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "host",
  "user-agent",
  "trailer",
  "date",
  "accept-encoding",
  "connect-protocol-version",
  "connect-timeout-ms",
  "connect-content-encoding",
  "connect-accept-encoding",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-timeout",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
]);
