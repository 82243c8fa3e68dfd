// A gRPC answer without a message (an error, or a status alone) as gRPC requires it:
// "trailers-only", one HEADERS frame that carries the status and ends the stream. Node's
// compat API sends `writeHead()` at once and `end()` then as an empty DATA frame that ends the
// stream: grpc-go fails such a call with "server closed the stream without sending trailers"
// (Internal) whatever the status said, and grpcio reports it as UNKNOWN. Headers set one by one
// and then `end()` go out as the one frame.
import type * as http2 from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { grpcStatusFields } from "../wire-errors.js";

/** Ends `res` with a trailers-only answer of these header fields (grpc-status among them). */
export function endTrailersOnly(res: http2.Http2ServerResponse, fields: Record<string, string>): void {
  res.statusCode = 200;
  for (const name in fields) res.setHeader(name, fields[name] as string);
  res.end();
}

/** Ends `res` with the gRPC status of `err` (ok without one), as a trailers-only answer. */
export function endWithGrpcStatus(res: http2.Http2ServerResponse, err: ConnectError | undefined): void {
  endTrailersOnly(res, { "content-type": "application/grpc+proto", ...grpcStatusFields(err) });
}
