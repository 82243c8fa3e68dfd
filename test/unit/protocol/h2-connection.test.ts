// The gateway's own HTTP/2 client against node:http2's server (nghttp2): answers, trailers,
// flow control both ways, queueing under the server's stream limit, cancellation, resets,
// GOAWAY and a server that goes away. Loopback only.
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { after, test } from "node:test";
import { encodeFrame } from "../../../src/protocol/frame.js";
import { H2Connection, H2RequestError } from "../../../src/protocol/h2/connection.js";
import { H2Pool } from "../../../src/protocol/h2/pool.js";

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

const servers: http2.Http2Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function serve(
  handler: Handler,
  settings: http2.Settings = {},
): Promise<{ server: http2.Http2Server; port: number; sessions: http2.ServerHttp2Session[] }> {
  const server = http2.createServer({ settings });
  const sessions: http2.ServerHttp2Session[] = [];
  server.on("session", (s) => sessions.push(s));
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => handler(stream, headers, Buffer.concat(chunks)));
    stream.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port, sessions };
}

function connect(port: number): H2Connection {
  return new H2Connection(net.connect({ host: "127.0.0.1", port, noDelay: true }));
}

const fields = (path: string, extra: [string, string][] = []): [string, string][] => [
  [":method", "POST"],
  [":scheme", "http"],
  [":authority", "127.0.0.1"],
  [":path", path],
  ["content-type", "application/grpc+proto"],
  ["te", "trailers"],
  ...extra,
];

/** Echoes the request with headers naming what arrived, then trailers. */
const echo: Handler = (stream, headers, body) => {
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc+proto",
      "x-path": String(headers[":path"]),
      "x-epoch": String(headers["sluice-client-epoch"] ?? ""),
      "x-bytes": String(body.length),
    },
    { waitForTrailers: true },
  );
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "ok%20done" }));
  stream.end(body);
};

test("a call gets the answer's headers, body and trailers; many calls share the connection", async () => {
  const { port } = await serve(echo);
  const c = connect(port);
  await c.ready();
  for (let i = 0; i < 50; i++) {
    const body = Buffer.from(`request ${i}`);
    const a = await c.request(fields(`/x/${i}`, [["sluice-client-epoch", String(i)]]), body);
    assert.equal(a.headers[":status"], "200");
    assert.equal(a.headers["x-path"], `/x/${i}`);
    assert.equal(a.headers["x-epoch"], String(i));
    assert.deepEqual(Buffer.concat(a.body), body);
    assert.deepEqual(a.trailers, { "grpc-status": "0", "grpc-message": "ok%20done" });
  }
  const parallel = await Promise.all(
    Array.from({ length: 200 }, (_, i) => c.request(fields("/p"), Buffer.from(String(i)))),
  );
  for (const [i, a] of parallel.entries()) assert.equal(Buffer.concat(a.body).toString(), String(i));
  c.destroy();
});

test("trailers-only answers end the call with headers alone", async () => {
  const { port } = await serve((stream) =>
    stream.respond(
      { ":status": 200, "grpc-status": "5", "grpc-message": "not%20found" },
      { endStream: true },
    ),
  );
  const c = connect(port);
  const a = await c.request(fields("/t"), encodeFrame(new Uint8Array(0)));
  assert.equal(a.headers["grpc-status"], "5");
  assert.deepEqual(a.body, []);
  assert.deepEqual(a.trailers, {});
  c.destroy();
});

test("bodies larger than the windows and frames flow both ways", async () => {
  // The server's windows stay at the protocol's 65,535 bytes: the client must wait for them.
  const { port } = await serve(echo);
  const c = connect(port);
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
  const answers = await Promise.all([1, 2, 3].map(() => c.request(fields("/big"), big)));
  for (const a of answers) {
    assert.equal(a.headers["x-bytes"], String(big.length));
    assert.ok(Buffer.concat(a.body).equals(big));
  }
  await assert.rejects(c.request(fields("/big"), big, undefined, 1024 * 1024), /larger than 1048576 bytes/);
  // The connection still works after a call it gave up.
  const a = await c.request(fields("/after"), Buffer.from("x"));
  assert.equal(Buffer.concat(a.body).toString(), "x");
  c.destroy();
});

test("frames cut anywhere across reads are put together (headers, DATA, trailers)", async () => {
  // A proxy passes the server's bytes on in pieces of 1 to 40,000 bytes, one write each after a
  // pause, so the client reads frames cut at every kind of place: in the 9-byte header, in the
  // payload, a frame completed by the start of a read whose rest holds more frames.
  const { port } = await serve(echo);
  const sizes = [1, 3, 5, 9, 10, 17, 100, 16_384, 16_393, 40_000, 2, 8];
  const proxy = net.createServer((down) => {
    const up = net.connect({ host: "127.0.0.1", port });
    down.pipe(up);
    let queue = Buffer.alloc(0);
    let k = 0;
    let sending = false;
    const pump = () => {
      if (queue.length === 0 || down.destroyed) {
        sending = false;
        return;
      }
      sending = true;
      const n = Math.min(queue.length, sizes[k++ % sizes.length] as number);
      down.write(queue.subarray(0, n));
      queue = queue.subarray(n);
      setTimeout(pump, 1);
    };
    up.on("data", (c: Buffer) => {
      queue = Buffer.concat([queue, c]);
      if (!sending) pump();
    });
    up.on("error", () => down.destroy());
    down.on("error", () => up.destroy());
    down.on("close", () => up.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  try {
    const c = connect((proxy.address() as AddressInfo).port);
    const body = Buffer.alloc(200_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 255;
    for (let round = 0; round < 3; round++) {
      const a = await c.request(fields("/cut"), body);
      assert.equal(a.headers["x-bytes"], String(body.length));
      assert.ok(Buffer.concat(a.body).equals(body), `round ${round}: the body`);
      assert.equal(a.trailers["grpc-status"], "0");
    }
    c.destroy();
  } finally {
    proxy.close();
  }
});

test("calls beyond the server's stream limit wait their turn", async () => {
  let open = 0;
  let most = 0;
  const { port } = await serve(
    (stream, _h, body) => {
      open++;
      most = Math.max(most, open);
      setTimeout(() => {
        open--;
        stream.respond({ ":status": 200 });
        stream.end(body);
      }, 5);
    },
    { maxConcurrentStreams: 3 },
  );
  const c = connect(port);
  await c.ready();
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) => c.request(fields("/q"), Buffer.from(String(i)))),
  );
  for (const [i, a] of answers.entries()) assert.equal(Buffer.concat(a.body).toString(), String(i));
  assert.ok(most <= 3, `at most 3 streams at once, saw ${most}`);
  c.destroy();
});

test("an aborted call is cancelled on the server and rejects with the signal's reason", async () => {
  let cancelled: () => void;
  const sawCancel = new Promise<void>((r) => {
    cancelled = r;
  });
  const { server, port } = await serve((stream, headers) => {
    if (headers[":path"] === "/t")
      stream.respond({ ":status": 200, "grpc-status": "0" }, { endStream: true });
  });
  server.on("stream", (stream, headers) => {
    if (headers[":path"] === "/slow") stream.on("close", () => cancelled());
  });
  const c = connect(port);
  const ac = new AbortController();
  const call = c.request(fields("/slow"), Buffer.from("x"), ac.signal);
  setTimeout(() => ac.abort(new Error("deadline")), 50);
  await assert.rejects(call, /deadline/);
  await sawCancel;
  const again = await c.request(fields("/t"), Buffer.alloc(0));
  assert.equal(again.headers["grpc-status"], "0", "the connection stays usable");
  c.destroy();
});

test("resets fail the call; REFUSED_STREAM says the server did not process it", async () => {
  const { port } = await serve((stream, headers) =>
    stream.close(
      headers[":path"] === "/refuse"
        ? http2.constants.NGHTTP2_REFUSED_STREAM
        : http2.constants.NGHTTP2_INTERNAL_ERROR,
    ),
  );
  const c = connect(port);
  const refused = await c.request(fields("/refuse"), Buffer.alloc(1)).catch((e: H2RequestError) => e);
  assert.ok(refused instanceof H2RequestError);
  assert.equal(refused.notProcessed, true);
  const internal = await c.request(fields("/other"), Buffer.alloc(1)).catch((e: H2RequestError) => e);
  assert.ok(internal instanceof H2RequestError);
  assert.equal(internal.notProcessed, false);
  assert.match(internal.message, /reset the call \(HTTP\/2 error 2\)/);
  c.destroy();
});

test("GOAWAY: calls the server did not take fail as not processed, and the pool reconnects", async () => {
  const { port, sessions } = await serve(echo);
  const pool = new H2Pool((address) => {
    const [host, p] = address.split(":");
    return net.connect({ host, port: Number(p), noDelay: true });
  });
  const address = `127.0.0.1:${port}`;
  const first = await pool.connected(address);
  await first.request(fields("/a"), Buffer.from("a"));
  for (const s of sessions) s.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(first.usable, false);
  const late = await first.request(fields("/late"), Buffer.from("x")).catch((e: H2RequestError) => e);
  assert.ok(late instanceof H2RequestError && late.notProcessed);
  const second = await pool.connected(address);
  assert.notEqual(second, first);
  const a = await second.request(fields("/b"), Buffer.from("b"));
  assert.equal(Buffer.concat(a.body).toString(), "b");
  pool.close();
});

test("a server that goes away fails open calls, and a missing one fails ready()", async () => {
  const { port, sessions } = await serve(() => {});
  const c = connect(port);
  await c.ready();
  const call = c.request(fields("/hang"), Buffer.from("x"));
  await new Promise((r) => setTimeout(r, 30));
  for (const s of sessions) s.destroy();
  const err = await call.catch((e: H2RequestError) => e);
  assert.ok(err instanceof H2RequestError);
  assert.equal(err.notProcessed, false);
  let closed = false;
  c.onClose(() => {
    closed = true;
  });
  assert.equal(closed, true);

  const unused = net.createServer();
  await new Promise<void>((r) => unused.listen(0, "127.0.0.1", r));
  const freePort = (unused.address() as AddressInfo).port;
  await new Promise((r) => unused.close(r));
  await assert.rejects(connect(freePort).ready());
});

test("a silent server is noticed: open calls fail by ping, a handshake by its timeout", async () => {
  // A TCP server that accepts and reads, and never answers anything.
  const silent = net.createServer((socket) => socket.on("data", () => {}));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as AddressInfo).port;
  const c = new H2Connection(net.connect({ host: "127.0.0.1", port, noDelay: true }), {
    pingIdleMs: 100,
    pingTimeoutMs: 200,
  });
  const started = performance.now();
  const err = await c.request(fields("/hang"), Buffer.from("x")).catch((e: Error) => e);
  assert.match(String(err), /did not answer a ping within 200 ms/);
  assert.ok(performance.now() - started < 2000);
  await assert.rejects(c.ready());

  // Waiting for the handshake alone (the pool does) is bounded too.
  const pool = new H2Pool(() => net.connect({ host: "127.0.0.1", port, noDelay: true }), {
    handshakeTimeoutMs: 300,
  });
  const t = performance.now();
  await assert.rejects(
    pool.connected(`127.0.0.1:${port}`),
    /did not start HTTP\/2 \(no SETTINGS\) within 300 ms/,
  );
  assert.ok(performance.now() - t < 2000);
  pool.close();
  silent.close();
});
