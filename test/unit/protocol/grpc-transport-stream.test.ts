// The TypeScript client's gRPC streams (src/protocol/client/grpc-transport.ts: connect-es's call
// with messages cut from the bytes by ChunkedFrameReader) against connect-node's: the same
// server behaviours give the same messages and the same errors, however the bytes are cut.
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  CanalService,
  StreamRequestSchema,
  StreamResponseSchema,
} from "../../../src/gen/sluice/v1/canal_service_pb.js";
import { createSluiceGrpcTransport } from "../../../src/protocol/client/grpc-transport.js";
import { encodeFrame } from "../../../src/protocol/frame.js";

let server: http2.Http2Server;
let baseUrl: string;
let seenTimeout: string | undefined;
const sessions = new Set<http2.ServerHttp2Session>();

/** A StreamResponse batch whose id carries `pad` (to make it as large as wanted). */
const batch = (id: string, pad = 0) =>
  encodeFrame(
    toBinary(
      StreamResponseSchema,
      create(StreamResponseSchema, {
        message: { case: "batch", value: { batchId: `${id}${"x".repeat(pad)}` } },
      }),
    ),
  );

const notFound = new ConnectError("destination x is not known (see list)", Code.NotFound, {
  "retry-after-ms": "250",
});
function trailersOf(err: ConnectError): Record<string, string> {
  const h = new Headers();
  setTrailerStatus(h, err);
  return Object.fromEntries(h.entries());
}

/** Writes `bytes` in pieces of `size`, one per turn of the event loop. */
async function writeCut(stream: http2.ServerHttp2Stream, bytes: Buffer, size: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += size) {
    stream.write(bytes.subarray(at, at + size));
    await new Promise((r) => setImmediate(r));
  }
}

before(async () => {
  server = http2.createServer();
  server.on("session", (session) => sessions.add(session.on("close", () => sessions.delete(session))));
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", async () => {
      const req = fromBinary(StreamRequestSchema, Buffer.concat(chunks).subarray(5));
      seenTimeout = headers["grpc-timeout"] as string | undefined;
      const grpc = { ":status": 200, "content-type": "application/grpc+proto" };
      const ok = () => stream.sendTrailers({ "grpc-status": "0", "x-answer": "trailer" });
      // Byte by byte a small body; in pieces of an odd size (as HTTP/2 frames may cut it) a large one.
      const body =
        req.clientId === "cut-small"
          ? Buffer.concat([batch("a"), batch("b", 40), batch("c"), batch("d", 20)])
          : Buffer.concat([batch("a"), batch("b", 3_000_000), batch("c"), batch("d", 70_000)]);
      switch (req.clientId) {
        case "cut-small":
        case "cut-odd":
        case "whole":
          stream.respond({ ...grpc, "x-answer": "header" }, { waitForTrailers: true });
          stream.on("wantTrailers", ok);
          if (req.clientId === "whole") stream.end(body);
          else {
            await writeCut(stream, body, req.clientId === "cut-small" ? 1 : 16_381);
            stream.end();
          }
          return;
        case "error-in-trailers":
          stream.respond(grpc, { waitForTrailers: true });
          stream.on("wantTrailers", () => stream.sendTrailers(trailersOf(notFound)));
          stream.end(batch("a"));
          return;
        case "trailers-only":
          stream.respond({ ...grpc, ...trailersOf(notFound) }, { endStream: true });
          return;
        case "no-status":
          stream.respond(grpc);
          stream.end(batch("a"));
          return;
        case "incomplete":
          stream.respond(grpc, { waitForTrailers: true });
          stream.on("wantTrailers", ok);
          stream.end(batch("a", 100).subarray(0, 50));
          return;
        case "rst-after-one":
          stream.respond(grpc);
          stream.write(batch("a"), () =>
            setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 20),
          );
          return;
        case "http-503":
          stream.respond({ ":status": 503, "content-type": "text/plain" });
          stream.end("busy");
          return;
        default:
          stream.respond(grpc);
          stream.write(batch("a")); // "silent": one message, then nothing
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(() => {
  server.close();
  for (const s of sessions) s.destroy();
});

/** What a caller sees of a Stream call: the batch ids (lengths for the padded ones), then how it ended. */
async function streamOutcome(
  transport: Transport,
  clientId: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<unknown[]> {
  const client = createClient(CanalService, transport);
  const seen: unknown[] = [];
  let header: string | null = null;
  let trailer: string | null = null;
  try {
    for await (const res of client.stream(
      { destination: "d", clientId },
      {
        ...opts,
        onHeader: (h) => {
          header = h.get("x-answer");
        },
        onTrailer: (t) => {
          trailer = t.get("x-answer");
        },
      },
    )) {
      const id = res.message.case === "batch" ? res.message.value.batchId : "?";
      seen.push(id.length > 10 ? `${id[0]}+${id.length}` : id);
    }
    seen.push({ ok: true, header, trailer });
  } catch (err) {
    const e = ConnectError.from(err);
    seen.push({ code: Code[e.code], message: e.rawMessage, retryAfter: e.metadata.get("retry-after-ms") });
  }
  return seen;
}

describe("gRPC streams: messages cut from the bytes by the client's own reader", () => {
  const lean = () => createSluiceGrpcTransport({ baseUrl });
  const connect = () => createGrpcTransport({ baseUrl });

  for (const scenario of [
    "whole",
    "cut-small",
    "cut-odd",
    "error-in-trailers",
    "trailers-only",
    "no-status",
    "incomplete",
    "rst-after-one",
    "http-503",
  ]) {
    test(`${scenario}: the same messages and end as connect-node`, async () => {
      const mine = await streamOutcome(lean(), scenario);
      assert.deepEqual(mine, await streamOutcome(connect(), scenario));
      const done = { ok: true, header: "header", trailer: "trailer" };
      if (scenario === "cut-small") assert.deepEqual(mine, ["a", "b+41", "c", "d+21", done]);
      if (scenario === "whole" || scenario === "cut-odd")
        assert.deepEqual(mine, ["a", "b+3000001", "c", "d+70001", done]);
    });
  }

  test("a deadline and the caller's abort end a stream as with connect-node", async () => {
    const mine = await streamOutcome(lean(), "silent", { timeoutMs: 200 });
    assert.equal(seenTimeout, "200m");
    assert.deepEqual(mine, await streamOutcome(connect(), "silent", { timeoutMs: 200 }));
    assert.deepEqual(mine[0], "a");
    const during = (transport: Transport) => {
      const c = new AbortController();
      setTimeout(() => c.abort(), 150);
      return streamOutcome(transport, "silent", { signal: c.signal });
    };
    const aborted = await during(lean());
    assert.deepEqual(aborted, await during(connect()));
    assert.deepEqual(aborted[1], {
      code: "Canceled",
      message: "This operation was aborted",
      retryAfter: null,
    });
  });
});
