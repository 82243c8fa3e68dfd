// The TypeScript client's own Connect unary calls (src/protocol/client/connect-transport.ts) against connect-node's, over
// HTTP/1.1 and HTTP/2, binary and JSON: the same server behaviours must give the same results and
// the same errors (code, message, metadata, details), so that callers and the retry rules cannot
// tell them apart.
import assert from "node:assert/strict";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GetRequestSchema, GetResponseSchema } from "../../../src/gen/sluice/v1/canal_service_pb.js";
import { createSluiceConnectTransport } from "../../../src/protocol/client/connect-transport.js";
import { outcome } from "./unary-outcome.js";

/** What the server saw of the last request. */
let seen: { path?: string; timeout?: string; clientId?: string; custom?: string; type?: string } = {};

const answer = create(GetResponseSchema, { batchId: "b-42", epoch: 7n });
const notFound = new ConnectError("destination x is not known (see list)", Code.NotFound);
notFound.details.push({ desc: GetResponseSchema, value: { batchId: "detail" } });

function handle(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const json = String(req.headers["content-type"]).includes("json");
    let request: ReturnType<typeof fromBinary<typeof GetRequestSchema>>;
    try {
      request = json
        ? fromJsonString(GetRequestSchema, body.toString("utf8"))
        : fromBinary(GetRequestSchema, body);
    } catch {
      return; // a request cut off by a client that gave up on it
    }
    seen = {
      path: req.url,
      timeout: req.headers["connect-timeout-ms"] as string | undefined,
      clientId: request.clientId,
      custom: req.headers["x-custom"] as string | undefined,
      type: req.headers["content-type"],
    };
    const type = json ? "application/json" : "application/proto";
    const r = res as ServerResponse; // the compat API's common part
    switch (request.clientId) {
      case "ok":
        r.writeHead(200, { "content-type": type, "x-answer": "header", "trailer-x-answer": "trailer" });
        r.end(
          json ? toJsonString(GetResponseSchema, answer) : Buffer.from(toBinary(GetResponseSchema, answer)),
        );
        return;
      case "unknown-field":
        // A newer server's field: JSON readers ignore it.
        r.writeHead(200, { "content-type": type });
        r.end(
          json
            ? JSON.stringify({ batchId: "b-42", fieldFromTheFuture: 1 })
            : Buffer.from(toBinary(GetResponseSchema, answer)),
        );
        return;
      case "error":
        r.writeHead(404, { "content-type": "application/json", "retry-after-ms": "250" });
        r.end(Buffer.from(errorToJsonBytes(notFound, {})));
        return;
      case "error-not-json":
        r.writeHead(500, { "content-type": "application/json" });
        r.end("{not json");
        return;
      case "http-503":
        r.writeHead(503, { "content-type": "text/plain" });
        r.end("busy");
        return;
      case "wrong-type":
        r.writeHead(200, { "content-type": "text/html" });
        r.end("<html>");
        return;
      case "bad-message":
        r.writeHead(200, { "content-type": type });
        r.end(json ? "[1, 2]" : Buffer.from([0xff, 0xff, 0xff]));
        return;
      case "rst-cancel":
        if ("stream" in res) res.stream.close(http2.constants.NGHTTP2_CANCEL);
        else (req as IncomingMessage).socket.destroy();
        return;
      default:
        return; // "silent": never answers
    }
  });
}

const servers: { h1?: http.Server; h2?: http2.Http2Server } = {};
const open = new Set<Socket | http2.ServerHttp2Session>();
const urls = { "1.1": "", "2": "" };

before(async () => {
  const h1 = http.createServer(handle);
  h1.on("connection", (s) => open.add(s.on("close", () => open.delete(s))));
  const h2 = http2.createServer(handle);
  h2.on("session", (s) => open.add(s.on("close", () => open.delete(s))));
  for (const [v, server] of [
    ["1.1", h1],
    ["2", h2],
  ] as const) {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    urls[v] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }
  servers.h1 = h1;
  servers.h2 = h2;
});

// The transports keep their connections for reuse: close them from the server's side, or the
// process waits for their idle timeouts.
after(() => {
  servers.h1?.close();
  servers.h2?.close();
  for (const s of open) s.destroy();
});

for (const httpVersion of ["1.1", "2"] as const) {
  for (const useBinaryFormat of [true, false]) {
    const format = useBinaryFormat ? "binary" : "JSON";
    describe(`Connect unary calls without connect-es's pipeline, HTTP/${httpVersion}, ${format}`, () => {
      const lean = (baseUrl = urls[httpVersion]) =>
        createSluiceConnectTransport({ baseUrl, httpVersion, useBinaryFormat });
      const connect = (baseUrl = urls[httpVersion]) =>
        httpVersion === "2"
          ? createConnectTransport({ baseUrl, httpVersion, useBinaryFormat })
          : createConnectTransport({ baseUrl, httpVersion, useBinaryFormat });

      const scenarios = [
        "ok",
        "unknown-field",
        "error",
        "error-not-json",
        "http-503",
        "wrong-type",
        "bad-message",
      ];
      if (httpVersion === "2") scenarios.push("rst-cancel");
      for (const scenario of scenarios) {
        test(`${scenario}: the same outcome as connect-node`, async () => {
          const mine = await outcome(lean(), scenario);
          const mineSeen = seen;
          const theirs = await outcome(connect(), scenario);
          assert.deepEqual(mine, theirs);
          assert.equal(mineSeen.path, "/sluice.v1.CanalService/Get");
          assert.equal(mineSeen.clientId, scenario);
          assert.equal(mineSeen.custom, "yes");
          assert.equal(mineSeen.type, useBinaryFormat ? "application/proto" : "application/json");
        });
      }

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
        assert.deepEqual(await outcome(lean(), "error"), {
          ok: false,
          code: Code.NotFound,
          message: "destination x is not known (see list)",
          retryAfter: "250",
          details: 1,
        });
      });

      test("timeoutMs: connect-timeout-ms is sent and the call ends deadline_exceeded", async () => {
        const mine = await outcome(lean(), "silent", { timeoutMs: 150 });
        assert.equal(seen.timeout, "150");
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

      test("calls after a failed one reuse the transport", async () => {
        const t = lean();
        await outcome(t, "http-503");
        await outcome(t, "silent", { timeoutMs: 50 });
        assert.equal((await outcome(t, "ok")).ok, true);
        assert.equal((await outcome(t, "ok")).ok, true);
      });

      test("a server that is not there: unavailable, as with connect-node", async () => {
        const probe = http.createServer();
        await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
        const url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
        await new Promise<void>((resolve) => probe.close(() => resolve()));
        const mine = await outcome(lean(url), "ok");
        const theirs = await outcome(connect(url), "ok");
        assert.equal(mine.ok === false && mine.code, Code.Unavailable);
        assert.deepEqual(mine, theirs);
      });
    });
  }
}
