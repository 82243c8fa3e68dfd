// startConnectServer's compressResponses (src/protocol/server/server.ts): by default a response
// is gzipped when the client accepts gzip (the gateway's behaviour); with false (the server's:
// its batches are written from stored bytes, and gzip cost more CPU than the rest) it never
// is, while compressed requests are still read. Connect unary and gRPC streams, on loopback.
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { AdminService, GetDestinationRequestSchema } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { encodeFrame, splitFrames } from "../../src/protocol/frame.js";
import { type ConnectServer, startConnectServer } from "../../src/protocol/index.js";

// A few KB of JSON and protobuf: over connect-es's 1 KiB threshold for compressing.
const NAMES = Array.from({ length: 100 }, (_, i) => `destination-number-${i}`);

function routes(router: ConnectRouter): void {
  router.service(AdminService, {
    listDestinations: () => ({ destinations: NAMES.map((name) => ({ name })) }),
    getDestination: (req) => ({ destination: { name: req.destination, standbys: NAMES } }),
  });
  router.service(CanalService, {
    async *stream() {
      yield { message: { case: "subscribed", value: { session: "s".repeat(4000) } } };
    },
  });
}

interface Answer {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function post(url: string, path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, ...headers });
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => {
      responseHeaders = h;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      session.close();
      resolve({ headers: responseHeaders, body: Buffer.concat(chunks) });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const listJson = (url: string) =>
  post(
    url,
    "/sluice.v1.AdminService/ListDestinations",
    { "content-type": "application/json", "accept-encoding": "gzip" },
    Buffer.from("{}"),
  );

const streamGrpc = (url: string) =>
  post(
    url,
    "/sluice.v1.CanalService/Stream",
    { "content-type": "application/grpc", te: "trailers", "grpc-accept-encoding": "gzip" },
    encodeFrame(new Uint8Array(0)),
  );

describe("response compression", () => {
  let compressing: ConnectServer;
  let plain: ConnectServer;
  before(async () => {
    compressing = await startConnectServer({ host: "127.0.0.1", port: 0, routes });
    plain = await startConnectServer({ host: "127.0.0.1", port: 0, routes, compressResponses: false });
  });
  after(async () => {
    await Promise.all([compressing.close(), plain.close()]);
  });

  test("Connect unary: gzipped by default when accepted, never with compressResponses false", async () => {
    const zipped = await listJson(compressing.url);
    assert.equal(zipped.headers["content-encoding"], "gzip");
    const answer = await listJson(plain.url);
    assert.equal(answer.headers["content-encoding"], undefined);
    assert.equal(JSON.parse(answer.body.toString()).destinations.length, NAMES.length);
  });

  test("gRPC stream: messages flagged compressed by default, never with compressResponses false", async () => {
    const flags = async (url: string) => splitFrames((await streamGrpc(url)).body).map((f) => f.flags);
    assert.deepEqual(await flags(compressing.url), [1]);
    assert.deepEqual(await flags(plain.url), [0]);
  });

  test("with compressResponses false, a gzipped request is still read", async () => {
    const request = toBinary(
      GetDestinationRequestSchema,
      create(GetDestinationRequestSchema, { destination: "d1" }),
    );
    const answer = await post(
      plain.url,
      "/sluice.v1.AdminService/GetDestination",
      { "content-type": "application/proto", "content-encoding": "gzip", "accept-encoding": "gzip" },
      gzipSync(request),
    );
    assert.equal(answer.headers[":status"], 200);
    assert.equal(answer.headers["content-encoding"], undefined);
    assert.ok(answer.body.includes(Buffer.from("destination-number-99")));
  });
});
