// One gRPC unary call on a bare node:http2 session (no connect-es): the benches' lean client.
import type * as http2 from "node:http2";

/** Sends `body` (an enveloped message) to `path`; resolves on grpc-status 0, rejects otherwise. */
export function bareGrpcCall(session: http2.ClientHttp2Session, path: string, body: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const r = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
    });
    let status: unknown;
    // Trailers-only answers (errors) carry the status in the headers.
    r.on("response", (h) => {
      status ??= h["grpc-status"];
    });
    r.on("trailers", (t) => {
      status = t["grpc-status"];
    });
    r.on("data", () => {});
    r.on("error", reject);
    r.on("close", () => (status === "0" ? resolve() : reject(new Error(`grpc-status ${String(status)}`))));
    r.end(body);
  });
}
