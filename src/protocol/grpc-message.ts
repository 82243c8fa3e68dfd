// The `grpc-message` trailer is percent-encoded (gRPC over HTTP/2 spec: bytes outside
// 0x20-0x7E, and "%", as %XX of their UTF-8). connect-es encodes it with encodeURIComponent,
// which also escapes ":", "/", ",", "=", "@"... and @grpc/grpc-js decodes it with decodeURI,
// which leaves those escapes alone: a grpc-js client would read "destination%3A must not be
// empty". The server re-encodes the trailer the spec's way, which every decoder reads right.

/** Percent-encodes a status message as the gRPC spec says. */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
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
