// One gRPC call sent as raw bytes on a node:http2 session (for requests no gRPC client would
// send, such as a frame that is not protobuf): resolves with the grpc-status of the answer, from
// its headers (trailers-only) or its trailers.
import type * as http2 from "node:http2";

export function rawGrpcStatus(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const r = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let status: string | undefined;
    r.on("response", (h) => {
      status ??= h["grpc-status"] as string | undefined;
    });
    r.on("trailers", (t) => {
      status = t["grpc-status"] as string | undefined;
    });
    r.on("data", () => {});
    r.on("error", reject);
    r.on("close", () => resolve(status));
    r.end(body);
  });
}
