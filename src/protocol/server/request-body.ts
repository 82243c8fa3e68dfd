// The body of a gRPC request that carries one message (unary calls, a server stream's request;
// a Connect stream's request is the same envelope), read whole: shared by the server's lean
// path (grpc-unary.ts) and the gateway's byte relays; and the body of a Connect unary request,
// for the gateway's relay of those.
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { FRAME_HEADER_BYTES, singleMessage } from "../frame.js";

type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;

/**
 * Resolves with the whole body, its 5-byte prefix included, once it is one uncompressed
 * message of at most `maxMessageBytes`. A larger one rejects with resource_exhausted as soon
 * as it passes the limit; what follows is read and dropped, not kept, so that the caller can
 * still answer and the client can finish sending.
 */
export async function readGrpcRequest(req: HttpRequest, maxMessageBytes: number): Promise<Buffer> {
  const body = await readBody(req, maxMessageBytes + FRAME_HEADER_BYTES, maxMessageBytes);
  if (singleMessage(body) === undefined) {
    throw new ConnectError("request: expected one uncompressed gRPC message", Code.InvalidArgument);
  }
  return body;
}

/** A request message in protobuf binary; one that does not decode is the caller's mistake: invalid_argument. */
export function decodeRequest<T extends DescMessage>(schema: T, bytes: Uint8Array): MessageShape<T> {
  try {
    return fromBinary(schema, bytes);
  } catch (err) {
    throw new ConnectError(
      `request: cannot decode ${schema.typeName}: ${(err as Error).message}`,
      Code.InvalidArgument,
    );
  }
}

/** The whole body of a request that is one message without an envelope (Connect unary). */
export function readRequestBody(req: HttpRequest, maxMessageBytes: number): Promise<Buffer> {
  return readBody(req, maxMessageBytes, maxMessageBytes);
}

/** The body, up to `limit` bytes; beyond that, resource_exhausted naming `maxMessageBytes`. */
function readBody(req: HttpRequest, limit: number, maxMessageBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (size > limit) {
        refused = true;
        chunks.length = 0;
        reject(
          new ConnectError(`request: message larger than ${maxMessageBytes} bytes`, Code.ResourceExhausted),
        );
        return;
      }
      chunks.push(c);
    });
    req.once("end", () => {
      if (refused) return;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.once("error", reject);
  });
}
