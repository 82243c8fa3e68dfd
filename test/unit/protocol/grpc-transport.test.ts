// The TypeScript client's own gRPC unary calls (src/protocol/client/grpc-transport.ts) against connect-node's: the same
// server behaviours must give the same results and the same errors (code, message, metadata,
// details), so that callers and the retry rules cannot tell them apart.
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GetRequestSchema, GetResponseSchema } from "../../../src/gen/sluice/v1/canal_service_pb.js";
import { createSluiceGrpcTransport } from "../../../src/protocol/client/grpc-transport.js";
import { encodeFrame } from "../../../src/protocol/frame.js";
import { outcome } from "./unary-outcome.js";

let server: http2.Http2Server;
let baseUrl: string;
/** What the server saw of the last request. */
let seen: { path?: string; timeout?: string; clientId?: string; custom?: string } = {};

const ok = encodeFrame(
  toBinary(GetResponseSchema, create(GetResponseSchema, { batchId: "b-42", epoch: 7n })),
);

function trailersOf(err: ConnectError): Record<string, string> {
  const h = new Headers();
  setTrailerStatus(h, err);
  return Object.fromEntries(h.entries());
}

const notFound = new ConnectError("destination x is not known (see list)", Code.NotFound, {
  "retry-after-ms": "250",
});
notFound.details.push({ desc: GetResponseSchema, value: { batchId: "detail" } });

before(async () => {
  server = http2.createServer();
  server.on("session", (session) => sessions.add(session.on("close", () => sessions.delete(session))));
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      const req = fromBinary(GetRequestSchema, body.subarray(5));
      seen = {
        path: headers[":path"],
        timeout: headers["grpc-timeout"] as string | undefined,
        clientId: req.clientId,
        custom: headers["x-custom"] as string | undefined,
      };
      const grpc = { ":status": 200, "content-type": "application/grpc+proto" };
      switch (req.clientId) {
        case "ok":
          stream.respond({ ...grpc, "x-answer": "header" }, { waitForTrailers: true });
          stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "x-answer": "trailer" }));
          stream.end(ok);
          return;
        case "trailers-only":
          stream.respond({ ...grpc, ...trailersOf(notFound) }, { endStream: true });
          return;
        case "error-in-trailers":
          stream.respond(grpc, { waitForTrailers: true });
          stream.on("wantTrailers", () => stream.sendTrailers(trailersOf(notFound)));
          stream.end();
          return;
        case "http-503":
          stream.respond({ ":status": 503, "content-type": "text/plain" });
          stream.end("busy");
          return;
        case "rst-cancel":
          stream.close(http2.constants.NGHTTP2_CANCEL);
          return;
        case "rst-refused":
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          return;
        case "two-messages":
          stream.respond(grpc, { waitForTrailers: true });
          stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
          stream.end(Buffer.concat([ok, ok]));
          return;
        case "no-message":
          stream.respond(grpc, { waitForTrailers: true });
          stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
          stream.end();
          return;
        case "no-trailers":
          stream.respond(grpc);
          stream.end(ok);
          return;
        default:
          return; // "silent": never answers
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

// The transports keep their connections for reuse: close them from the server's side, or the
// process waits for their idle timeouts.
const sessions = new Set<http2.ServerHttp2Session>();
after(() => {
  server.close();
  for (const s of sessions) s.destroy();
});

describe("gRPC unary calls without connect-es's pipeline", () => {
  const lean = () => createSluiceGrpcTransport({ baseUrl });
  const connect = () => createGrpcTransport({ baseUrl });

  for (const scenario of [
    "ok",
    "trailers-only",
    "error-in-trailers",
    "http-503",
    "rst-cancel",
    "two-messages",
    "no-message",
    "no-trailers",
  ]) {
    test(`${scenario}: the same outcome as connect-node`, async () => {
      const mine = await outcome(lean(), scenario);
      const mineSeen = seen;
      const theirs = await outcome(connect(), scenario);
      assert.deepEqual(mine, theirs);
      assert.equal(mineSeen.path, "/sluice.v1.CanalService/Get");
      assert.equal(mineSeen.clientId, scenario);
      assert.equal(mineSeen.custom, "yes");
    });
  }

  test("rst-refused: unavailable, as gRPC maps REFUSED_STREAM (connect-node: internal)", async () => {
    // Node's stream error reaches connect-node before the reset code and it answers `internal`;
    // a refused stream was never processed, so `unavailable` (retryable) is the truthful answer.
    assert.deepEqual(await outcome(lean(), "rst-refused"), {
      ok: false,
      code: Code.Unavailable,
      message: "http/2 stream closed with error code REFUSED_STREAM (0x7)",
      retryAfter: null,
      details: 0,
    });
  });

  test("ok: the message, a response header and a trailer", async () => {
    assert.deepEqual(await outcome(lean(), "ok"), {
      ok: true,
      batchId: "b-42",
      epoch: 7n,
      header: "header",
      trailer: "trailer",
    });
  });

  test("an error's code, message, metadata and details", async () => {
    assert.deepEqual(await outcome(lean(), "trailers-only"), {
      ok: false,
      code: Code.NotFound,
      message: "destination x is not known (see list)",
      retryAfter: "250",
      details: 1,
    });
  });

  test("timeoutMs: grpc-timeout is sent and the call ends deadline_exceeded", async () => {
    const mine = await outcome(lean(), "silent", { timeoutMs: 150 });
    assert.equal(seen.timeout, "150m");
    assert.deepEqual(mine, await outcome(connect(), "silent", { timeoutMs: 150 }));
    assert.equal(mine.ok === false && mine.code, Code.DeadlineExceeded);
  });

  test("the caller's abort ends the call canceled, before or during it", async () => {
    const before = new AbortController();
    before.abort();
    const a = await outcome(lean(), "silent", { signal: before.signal });
    assert.deepEqual(a, await outcome(connect(), "silent", { signal: before.signal }));
    const during = (transport: Transport) => {
      const c = new AbortController();
      setTimeout(() => c.abort(), 100);
      return outcome(transport, "silent", { signal: c.signal });
    };
    const b = await during(lean());
    assert.deepEqual(b, await during(connect()));
    assert.equal(b.ok === false && b.code, Code.Canceled);
  });

  test("a server that is not there: unavailable, as with connect-node", async () => {
    const probe = http2.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const mine = await outcome(createSluiceGrpcTransport({ baseUrl: url }), "ok");
    const theirs = await outcome(createGrpcTransport({ baseUrl: url }), "ok");
    assert.equal(mine.ok === false && mine.code, Code.Unavailable);
    assert.equal(mine.ok === false && mine.code, theirs.ok === false && theirs.code);
  });
});
