// Which stream requests the gateway can relay as bytes, and the deadline each carries.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HttpRequest } from "../../../src/protocol/index.js";
import { streamWireOf } from "../../../src/protocol/server/stream-wire.js";

const request = (httpVersionMajor: number, headers: Record<string, string>) =>
  ({ httpVersionMajor, headers }) as unknown as HttpRequest;

test("gRPC over HTTP/2 and binary Connect over HTTP/1.1 or 2, uncompressed, are relayed as bytes", () => {
  for (const type of ["application/grpc", "application/grpc+proto", "Application/GRPC+proto"]) {
    const wire = streamWireOf(request(2, { "content-type": type }));
    assert.equal(wire?.protocol, "grpc", type);
    assert.equal(wire?.contentType, "application/grpc+proto");
  }
  for (const v of [1, 2]) {
    const wire = streamWireOf(request(v, { "content-type": "application/connect+proto" }));
    assert.equal(wire?.protocol, "connect", `HTTP/${v}`);
    assert.equal(wire?.contentType, "application/connect+proto");
    assert.equal(wire?.timeoutMs, undefined);
  }
  assert.ok(streamWireOf(request(2, { "content-type": "application/grpc", "grpc-encoding": "identity" })));
  assert.ok(
    streamWireOf(
      request(1, { "content-type": "application/connect+proto", "connect-content-encoding": "identity" }),
    ),
  );
});

test("everything else takes the typed path", () => {
  for (const [v, headers] of [
    [1, { "content-type": "application/grpc" }],
    [2, { "content-type": "application/grpc+json" }],
    [2, { "content-type": "application/grpc", "grpc-encoding": "gzip" }],
    [2, { "content-type": "application/grpc-web+proto" }],
    [1, { "content-type": "application/connect+json" }],
    [1, { "content-type": "application/connect+proto", "connect-content-encoding": "gzip" }],
    [1, { "content-type": "application/connect+proto", "connect-timeout-ms": "soon" }],
    [1, { "content-type": "application/connect+proto", "connect-timeout-ms": "12345678901" }],
    [1, { "content-type": "application/proto" }],
    [1, {}],
  ] as const) {
    assert.equal(streamWireOf(request(v, headers)), undefined, `HTTP/${v} ${JSON.stringify(headers)}`);
  }
});

test("the deadline: grpc-timeout as sent, connect-timeout-ms as a valid grpc-timeout", () => {
  const grpc = streamWireOf(request(2, { "content-type": "application/grpc", "grpc-timeout": "2S" }));
  assert.deepEqual([grpc?.timeoutMs, grpc?.grpcTimeout], [2000, "2S"]);
  const connect = (ms: string) =>
    streamWireOf(request(1, { "content-type": "application/connect+proto", "connect-timeout-ms": ms }));
  assert.deepEqual([connect("1500")?.timeoutMs, connect("1500")?.grpcTimeout], [1500, "1500m"]);
  // More digits than grpc-timeout takes (8): in seconds.
  assert.deepEqual(
    [connect("2147483647")?.timeoutMs, connect("2147483647")?.grpcTimeout],
    [2147483647, "2147483S"],
  );
});
