// A connection closed under a call (a gateway or server killed) is `unavailable` to the
// TypeScript client, which retries it; only the caller's own abort is `canceled`. Node's HTTP/2
// client closes a stream with CANCEL when its connection closes, which connect-node reports as
// `canceled`: a CI run saw an ack cut that way end a stream loop instead of resubscribing.
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { after, before, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createSluiceClient } from "../../../src/clients/typescript/node.js";
import { encodeFrame } from "../../../src/protocol/frame.js";

let server: http2.Http2Server;
let baseUrl: string;
/** Set by a call whose request arrived, to let the test close its connection at that moment. */
let arrived: (() => void) | undefined;
/** The server's connections, to close them as a killed process would. */
const sockets = new Set<Socket>();

before(async () => {
  server = http2.createServer();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    stream.resume();
    stream.on("end", () => {
      if (headers[":path"]?.endsWith("/Stream")) {
        // One message (an empty StreamResponse), then nothing: the connection will be closed.
        stream.respond({ ":status": 200, "content-type": "application/grpc+proto" });
        stream.write(encodeFrame(new Uint8Array(0)));
      }
      arrived?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
  for (const s of sockets) s.destroy();
});

/** Closes the connection of the next call once its request is in, as a killed process would. */
function closeConnectionOnArrival(): void {
  arrived = () => {
    arrived = undefined;
    // A moment later, so that what was written (a stream's first message) reaches the client.
    setTimeout(() => {
      for (const s of sockets) s.end();
    }, 50);
  };
}
const ACK = { destination: "d", clientId: "c", batchId: "1", session: "s" };

test("a unary call whose connection closes is unavailable, not canceled", async () => {
  const client = createSluiceClient({ baseUrl, transport: "grpc" });
  closeConnectionOnArrival();
  const err = await client.canal.ack(ACK).catch((e: unknown) => e);
  assert.ok(err instanceof ConnectError, String(err));
  assert.equal(err.code, Code.Unavailable, err.message);
});

test("a stream whose connection closes mid-way is unavailable, not canceled", async () => {
  const client = createSluiceClient({ baseUrl, transport: "grpc" });
  closeConnectionOnArrival();
  let messages = 0;
  const err = await (async () => {
    for await (const _ of client.canal.stream({ destination: "d", clientId: "c" })) messages++;
  })().catch((e: unknown) => e);
  assert.equal(messages, 1);
  assert.ok(err instanceof ConnectError, String(err));
  assert.equal(err.code, Code.Unavailable, err.message);
});

test("the caller's own abort stays canceled", async () => {
  const client = createSluiceClient({ baseUrl, transport: "grpc" });
  const ctl = new AbortController();
  arrived = () => {
    arrived = undefined;
    ctl.abort();
  };
  const err = await client.canal.ack(ACK, { signal: ctl.signal }).catch((e: unknown) => e);
  assert.ok(err instanceof ConnectError, String(err));
  assert.equal(err.code, Code.Canceled, err.message);
});
