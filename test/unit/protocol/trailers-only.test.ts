// A gRPC error answer goes out as one HEADERS frame that ends the stream ("trailers-only"):
// grpc-go fails an answer of headers and then an empty DATA frame with "server closed the
// stream without sending trailers" (Internal), whatever grpc-status the headers said.
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeHeaderBlock, HpackDecoder } from "../../../src/protocol/h2/hpack.js";
import { endWithGrpcStatus } from "../../../src/protocol/server/trailers-only.js";

/** The frames of stream 1 the server sends for one request: [type, flags, header fields]. */
async function framesOf(
  answer: (res: http2.Http2ServerResponse) => void,
): Promise<[number, number, Record<string, string>][]> {
  const server = http2.createServer((_req, res) => answer(res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const frames: [number, number, Record<string, string>][] = [];
  const decoder = new HpackDecoder();
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        const settings = Buffer.alloc(9);
        settings[3] = 0x4;
        const block = encodeHeaderBlock([
          [":method", "POST"],
          [":scheme", "http"],
          [":authority", "x"],
          [":path", "/a.B/C"],
          ["content-type", "application/grpc"],
        ]);
        const head = Buffer.alloc(9);
        head.writeUIntBE(block.length, 0, 3);
        head[3] = 0x1; // HEADERS
        head[4] = 0x5; // END_STREAM | END_HEADERS
        head.writeUInt32BE(1, 5);
        socket.write(
          Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), settings, head, block]),
        );
      });
      let buf = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
          const length = buf.readUIntBE(0, 3);
          const [type, flags, id] = [buf[3] as number, buf[4] as number, buf.readUInt32BE(5) & 0x7fffffff];
          const payload = buf.subarray(9, 9 + length);
          buf = buf.subarray(9 + length);
          if (id !== 1) continue;
          const fields: Record<string, string> = {};
          if (type === 0x1) decoder.decode(payload, fields);
          frames.push([type, flags, fields]);
          if (flags & 0x1) {
            socket.destroy();
            resolve();
          }
        }
      });
      socket.on("error", reject);
    });
  } finally {
    server.close();
  }
  return frames;
}

test("an error answer is one HEADERS frame that ends the stream, with the status in it", async () => {
  const frames = await framesOf((res) =>
    endWithGrpcStatus(res, new ConnectError("the running server went away", Code.Unavailable)),
  );
  assert.equal(frames.length, 1, JSON.stringify(frames));
  const [type, flags, fields] = frames[0] as [number, number, Record<string, string>];
  assert.equal(type, 0x1, "HEADERS");
  assert.equal(flags & 0x1, 0x1, "END_STREAM");
  assert.equal(fields["grpc-status"], String(Code.Unavailable));
  assert.equal(fields["grpc-message"], "the running server went away");
  assert.equal(fields["content-type"], "application/grpc+proto");
});

test("(why: writeHead and end send the headers, then an empty DATA frame that ends the stream)", async () => {
  const frames = await framesOf((res) => {
    res.writeHead(200, { "content-type": "application/grpc+proto", "grpc-status": "14" });
    res.end();
  });
  assert.deepEqual(
    frames.map(([type, flags]) => [type, flags & 0x1]),
    [
      [0x1, 0],
      [0x0, 0x1],
    ],
  );
});
