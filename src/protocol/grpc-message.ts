// The `grpc-message` trailer is percent-encoded (gRPC over HTTP/2 spec: bytes outside
// 0x20-0x7E, and "%", as %XX of their UTF-8). connect-es encodes it with encodeURIComponent,
// which also escapes ":", "/", ",", "=", "@"... and @grpc/grpc-js decodes it with decodeURI,
// which leaves those escapes alone: a grpc-js client would read "destination%3A must not be
// empty". The server re-encodes the trailer the spec's way, which every decoder reads right.

//
// The trailer is also bounded (MAX_GRPC_MESSAGE): a message that quotes a long request field
// (a clientId of 60 KiB, a filter of megabytes) would otherwise make a header block larger
// than clients accept (node:http2 resets the stream with FRAME_SIZE_ERROR past 64 KiB,
// grpc-java refuses 8 KiB of metadata), and the client would see `internal` instead of the
// error. Connect's JSON errors and gRPC-Web's trailer frame are in the body and keep it whole.

/** Longest `grpc-message` written, encoded: a longer message is cut, and ends in "...". */
export const MAX_GRPC_MESSAGE = 2048;

/**
 * Longest `grpc-status-details-bin` written. It holds the whole message again (a
 * google.rpc.Status) and the details: one larger than this is left out, so that the status
 * still reaches the client (its code and cut message; without the details, a NotApplied
 * among them, a client does not know the call safe to send again: the cautious reading).
 */
export const MAX_STATUS_DETAILS = 8192;

/** Bounds the status fields of a gRPC answer in place: the details left out when over MAX_STATUS_DETAILS. */
export function boundStatusDetails(fields: Record<string, unknown>): void {
  const details = fields["grpc-status-details-bin"];
  if (typeof details === "string" && details.length > MAX_STATUS_DETAILS)
    delete fields["grpc-status-details-bin"];
}

/** Percent-encodes a status message as the gRPC spec says, cut to MAX_GRPC_MESSAGE. */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const ch of message) {
    const c = ch.codePointAt(0) as number;
    let piece = "";
    if (c >= 0x20 && c <= 0x7e && c !== 0x25) piece = ch;
    else
      for (const byte of Buffer.from(ch, "utf8"))
        piece += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    if (out.length + piece.length > MAX_GRPC_MESSAGE - 3) return `${out}...`;
    out += piece;
  }
  return out;
}

/** Decodes a percent-encoded `grpc-message` (any %XX), keeping malformed escapes as they are. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      bytes.push(...Buffer.from(value[i] as string, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Rewrites a connect-es `grpc-message` value (encodeURIComponent) to the spec's encoding. */
export function reencodeGrpcMessage(value: string): string {
  return encodeGrpcMessage(decodeGrpcMessage(value));
}
