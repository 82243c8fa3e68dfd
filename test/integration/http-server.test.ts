// The shared Connect port (src/protocol): one TCP port speaks HTTP/1.1 and h2c, and on them
// Connect (JSON and binary), gRPC and gRPC-Web; checked with curl, connect-es's three transports
// and @grpc/grpc-js. Also deadlines, back-pressure, errors and graceful shutdown.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  type HandlerContext,
  type ServiceImpl,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  AdminService,
  GetDestinationRequestSchema,
  GetDestinationResponseSchema,
  ListDestinationsRequestSchema,
  type ListDestinationsResponse,
  ListDestinationsResponseSchema,
} from "../../src/gen/sluice/v1/admin_service_pb.js";
import {
  CanalService,
  type StreamRequest,
  StreamRequestSchema,
  type StreamResponse,
  StreamResponseSchema,
} from "../../src/gen/sluice/v1/canal_service_pb.js";
import { encodeFrame, splitFrames } from "../../src/protocol/frame.js";
import {
  alreadyExists,
  type ConnectServer,
  failedPrecondition,
  type HttpRequest,
  type HttpResponse,
  invalidArgument,
  notFound,
  permissionDenied,
  RETRY_AFTER_MS,
  retryAfterMs,
  startConnectServer,
  unauthenticated,
  unavailable,
} from "../../src/protocol/index.js";
import { CallPipeline } from "../../src/protocol/pipeline.js";
import { fromConnectEndStream, fromGrpcWebTrailer } from "../../src/protocol/wire-errors.js";
import { rawGrpcStatus } from "../harness/grpc-raw.js";

// ---- the tiny service --------------------------------------------------------------------------

const DESTINATIONS: MessageInitShape<typeof ListDestinationsResponseSchema> = {
  destinations: [
    {
      name: "example",
      running: { address: "10.0.0.1:11113", epoch: 42n, since: 1700000000000n },
      standbys: ["10.0.0.2:11113"],
      clients: [{ clientId: "1001", filter: "shop\\..*", holder: "10.0.0.9:40000", lagMs: 5n }],
    },
    { name: "orders" },
  ],
};
const EXPECTED_JSON = {
  destinations: [
    {
      name: "example",
      running: { address: "10.0.0.1:11113", epoch: "42", since: "1700000000000" },
      standbys: ["10.0.0.2:11113"],
      clients: [{ clientId: "1001", filter: "shop\\..*", holder: "10.0.0.9:40000", lagMs: "5" }],
    },
    { name: "orders" },
  ],
};

const ERRORS: Record<string, () => ConnectError> = {
  "": () => invalidArgument("destination", "must not be empty"),
  "err-failed-precondition": () => failedPrecondition("batch 7 is not the oldest outstanding batch (5 is)"),
  "err-already-exists": () =>
    alreadyExists("clientId 1001 is held by 10.0.0.9:40000 since 2024-01-01T00:00:00Z"),
  "err-unavailable": () => unavailable("no running server for destination err-unavailable", 1500),
  "err-permission-denied": () => permissionDenied("not allowed on destination err-permission-denied"),
  "err-unauthenticated": () => unauthenticated("no credentials"),
  "err-unicode": () => notFound("destination «déjà-vu» not found, 100% sure: a/b=c?d&e@f"),
};

/** What the handlers saw, by destination name. */
const produced = new Map<string, number>();
const sawAbort = new Map<string, unknown>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function waitAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

async function* stream(req: StreamRequest, ctx: HandlerContext) {
  const d = req.destination;
  if (d === "bad") throw invalidArgument("batchSize", "must be 1..10000, got 0");
  yield { message: { case: "subscribed" as const, value: { session: `session-${d}`, epoch: 42n } } };
  if (d === "example") {
    for (let i = 1; i <= 3; i++) yield { message: { case: "batch" as const, value: { batchId: String(i) } } };
    return;
  }
  if (d === "resubscribe") throw unavailable("session lost, resubscribe", 250);
  if (d.startsWith("big-")) {
    // 1 MiB messages, as fast as the transport takes them. Random, so that gzip (which the
    // connect-es client asks for) cannot shrink them.
    const payload = randomBytes(786_432).toString("base64");
    for (let i = 0; ; i++) {
      produced.set(d, i + 1);
      yield { message: { case: "batch" as const, value: { batchId: `${i}:${payload}` } } };
    }
  }
  if (d.startsWith("wait-")) {
    // The recommended reaction to the signal: stop, and throw its reason.
    await waitAbort(ctx.signal);
    sawAbort.set(d, ctx.signal.reason);
    ctx.signal.throwIfAborted();
  }
  if (d.startsWith("stubborn-")) {
    // Ignores its signal and never ends by itself.
    await new Promise(() => {});
  }
}

function routes(router: ConnectRouter): void {
  router.service(AdminService, admin);
  router.service(CanalService, canal);
}

const admin: Partial<ServiceImpl<typeof AdminService>> = {
  listDestinations: () => DESTINATIONS,
  async getDestination(req, ctx) {
    const make = ERRORS[req.destination];
    if (make !== undefined) throw make();
    if (req.destination === "example") return { destination: { name: "example" } };
    if (req.destination === "timeout") {
      // Reports the deadline the handler got, and whether its signal fired within 50 ms.
      const timeoutMs = ctx.timeoutMs();
      await sleep(50);
      return { destination: { name: `timeoutMs=${timeoutMs} aborted=${ctx.signal.aborted}` } };
    }
    throw notFound(`destination ${req.destination} not found`);
  },
  // Sleeps toAddress milliseconds, ignoring its signal (a slow unary call).
  async releaseDestination(req) {
    await sleep(Number(req.toAddress));
    return { released: { address: `slept ${req.toAddress}` } };
  },
};

// Its gRPC streams take the server's lean path (src/protocol/server/grpc-stream.ts), as the
// sluice server's do: every gRPC stream test below runs on it; other protocols take connect-es's.
const canal = { stream };

const healthz = (req: HttpRequest, res: HttpResponse) => {
  if (req.url !== "/healthz") return false;
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("ok\n");
  return true;
};

function start(extra: Partial<Parameters<typeof startConnectServer>[0]> = {}): Promise<ConnectServer> {
  return startConnectServer({
    host: "127.0.0.1",
    port: 0,
    routes,
    extraHandlers: healthz,
    leanStream: [{ service: CanalService, implementation: canal, methods: ["stream"] }],
    ...extra,
  });
}

// ---- helpers -------------------------------------------------------------------------------------

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command (no shell), feeding `input` on stdin. */
function run(cmd: string, args: string[], input?: Buffer | string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(input);
  });
}

/** Runs a documented shell command line, with `$URL` set to the server's URL. */
function shWithUrl(command: string, url: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", command], {
      env: { ...process.env, URL: url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** curl with `-w` appending "\n<http_version> <http_code>"; returns body, version and status. */
async function curl(args: string[]): Promise<{ body: string; version: string; status: number }> {
  const r = await run("curl", ["-sS", "-w", "\\n%{http_version} %{http_code}", ...args]);
  assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
  const text = r.stdout.toString();
  const nl = text.lastIndexOf("\n");
  const [version, status] = text.slice(nl + 1).split(" ");
  return { body: text.slice(0, nl), version: version as string, status: Number(status) };
}

interface Envelope {
  flags: number;
  data: Buffer;
}

/** Splits a Connect/gRPC-Web streaming body into its envelopes (1 flags byte, 4 length bytes, data). */
function parseEnvelopes(body: Buffer): Envelope[] {
  return splitFrames(body).map((f) => ({ flags: f.flags, data: f.message }));
}

function envelope(json: string): Buffer {
  return encodeFrame(Buffer.from(json));
}

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("expected the call to fail");
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of it) out.push(m);
  return out;
}

// grpc-js: a generic client with protobuf-es serializers, an independent gRPC implementation.
function method<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  responseStream: boolean,
): grpc.MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (m: MessageShape<O>) => Buffer.from(toBinary(output, m)),
    responseDeserialize: (b: Buffer) => fromBinary(output, b),
  };
}

const GrpcJsClient = grpc.makeGenericClientConstructor(
  {
    ListDestinations: method(
      "/sluice.v1.AdminService/ListDestinations",
      ListDestinationsRequestSchema,
      ListDestinationsResponseSchema,
      false,
    ),
    GetDestination: method(
      "/sluice.v1.AdminService/GetDestination",
      GetDestinationRequestSchema,
      GetDestinationResponseSchema,
      false,
    ),
    Stream: method("/sluice.v1.CanalService/Stream", StreamRequestSchema, StreamResponseSchema, true),
  },
  "SluiceTest",
);

type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;
interface GrpcJsSluice extends grpc.Client {
  ListDestinations(
    req: MessageShape<typeof ListDestinationsRequestSchema>,
    cb: Callback<ListDestinationsResponse>,
  ): void;
  GetDestination(
    req: MessageShape<typeof GetDestinationRequestSchema>,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: Callback<MessageShape<typeof GetDestinationResponseSchema>>,
  ): void;
  Stream(req: StreamRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<StreamResponse>;
}

function grpcJs(server: ConnectServer): GrpcJsSluice {
  return new GrpcJsClient(server.address, grpc.credentials.createInsecure()) as unknown as GrpcJsSluice;
}

function grpcUnary<T>(call: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => call((err, res) => (err ? reject(err) : resolve(res as T))));
}

function grpcJsError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  return p.then(
    () => assert.fail("expected the call to fail"),
    (e: grpc.ServiceError) => e,
  );
}

// ---- the tests -----------------------------------------------------------------------------------

// The curl commands of docs/http.md, taken from the page itself (the ```sh block after each
// `<!-- test: NAME -->` marker) and run as written, with $URL set to the test server.
const DOC = readFileSync(fileURLToPath(new URL("../../../docs/http.md", import.meta.url)), "utf8");
function docCommand(name: string): string {
  const m = new RegExp(`<!-- test: ${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  assert.ok(m, `docs/http.md has no block "${name}"`);
  return (m[1] as string).trim();
}

describe("one port speaks HTTP/1.1, h2c, Connect, gRPC and gRPC-Web", () => {
  let server: ConnectServer;
  before(async () => {
    server = await start();
  });
  after(async () => {
    await server?.close();
  });

  test("listens on 127.0.0.1 and tells its address", () => {
    assert.match(server.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(server.url, `http://${server.address}`);
    assert.equal(server.address, `127.0.0.1:${server.port}`);
  });

  test("curl, HTTP/1.1 and h2c, Connect unary JSON (the commands of docs/http.md)", async () => {
    for (const [block, version] of [
      ["unary", "1.1"],
      ["unary-h2", "2"],
    ]) {
      const r = await shWithUrl(
        `${docCommand(block as string)} -w '\\n%{http_version} %{http_code}'`,
        server.url,
      );
      assert.equal(r.code, 0, r.stderr);
      const [body, last] = r.stdout.toString().split("\n");
      assert.equal(last, `${version} 200`);
      assert.deepEqual(JSON.parse(body as string), EXPECTED_JSON);
    }
  });

  test("curl -i, an error as JSON with its HTTP status (the command of docs/http.md)", async () => {
    const r = await shWithUrl(docCommand("error"), server.url);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(text, /\r\ncontent-type: application\/json\r\n/i);
    assert.ok(text.endsWith('\r\n\r\n{"code":"not_found","message":"destination nope not found"}'), text);
  });

  test("curl --http2-prior-knowledge, Connect unary JSON", async () => {
    const r = await curl([
      "--http2-prior-knowledge",
      "-H",
      "Content-Type: application/json",
      "--data",
      "{}",
      `${server.url}/sluice.v1.AdminService/ListDestinations`,
    ]);
    assert.equal(r.version, "2");
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), EXPECTED_JSON);
  });

  test("curl, Connect unary with a request body over 1 KiB (curl sends Expect: 100-continue)", async () => {
    const long = "d".repeat(5000);
    const r = await curl([
      "-H",
      "Content-Type: application/json",
      "--data",
      JSON.stringify({ destination: long }),
      `${server.url}/sluice.v1.AdminService/GetDestination`,
    ]);
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body), { code: "not_found", message: `destination ${long} not found` });
  });

  const transports: Array<[string, (url: string) => Transport]> = [
    ["Connect JSON over HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
    [
      "Connect binary over HTTP/1.1",
      (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    ],
    ["Connect JSON over HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" })],
    [
      "Connect binary over HTTP/2",
      (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    ],
    ["gRPC (HTTP/2)", (baseUrl) => createGrpcTransport({ baseUrl })],
    ["gRPC-Web over HTTP/1.1", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
    ["gRPC-Web over HTTP/2", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" })],
  ];
  for (const [name, makeTransport] of transports) {
    test(`connect-es client: ${name}: unary, server stream, errors with metadata`, async () => {
      const transport = makeTransport(server.url);
      const admin = createClient(AdminService, transport);
      const canal = createClient(CanalService, transport);

      const list = await admin.listDestinations({});
      assert.deepEqual(list, create(ListDestinationsResponseSchema, DESTINATIONS));

      const missing = await rejection(admin.getDestination({ destination: "nope" }));
      assert.equal(missing.code, Code.NotFound);
      assert.equal(missing.rawMessage, "destination nope not found");

      const down = await rejection(admin.getDestination({ destination: "err-unavailable" }));
      assert.equal(down.code, Code.Unavailable);
      assert.equal(down.metadata.get(RETRY_AFTER_MS), "1500");
      assert.equal(retryAfterMs(down), 1500);

      const messages = await collect(
        canal.stream({ destination: "example", clientId: "1001", batchSize: 100 }),
      );
      assert.deepEqual(
        messages.map((m) =>
          m.message.case === "batch" ? `batch ${m.message.value.batchId}` : m.message.case,
        ),
        ["subscribed", "batch 1", "batch 2", "batch 3"],
      );

      // An error after the first message: code, message and retry-after-ms arrive at the end.
      const got: StreamResponse[] = [];
      const err = await rejection(
        (async () => {
          for await (const m of canal.stream({ destination: "resubscribe" })) got.push(m);
        })(),
      );
      assert.equal(got.length, 1);
      assert.equal(err.code, Code.Unavailable);
      assert.equal(err.rawMessage, "session lost, resubscribe (retry after 250 ms)");
      assert.equal(err.metadata.get(RETRY_AFTER_MS), "250");

      // An error before the first message.
      const odd = await rejection(admin.getDestination({ destination: "err-unicode" }));
      assert.equal(odd.rawMessage, "destination «déjà-vu» not found, 100% sure: a/b=c?d&e@f");

      const bad = await rejection(collect(canal.stream({ destination: "bad" })));
      assert.equal(bad.code, Code.InvalidArgument);
      assert.match(bad.rawMessage, /batchSize/);
    });
  }

  test("@grpc/grpc-js (independent gRPC implementation): unary, status codes, metadata, server stream", async () => {
    const client = grpcJs(server);
    try {
      const list = await grpcUnary<ListDestinationsResponse>((cb) =>
        client.ListDestinations(create(ListDestinationsRequestSchema, {}), cb),
      );
      assert.deepEqual(list, create(ListDestinationsResponseSchema, DESTINATIONS));

      const get = (destination: string) =>
        grpcUnary((cb) =>
          client.GetDestination(
            create(GetDestinationRequestSchema, { destination }),
            new grpc.Metadata(),
            {},
            cb,
          ),
        );
      const missing = await grpcJsError(get("nope"));
      assert.equal(missing.code, grpc.status.NOT_FOUND);
      assert.equal(missing.details, "destination nope not found");
      const down = await grpcJsError(get("err-unavailable"));
      assert.equal(down.code, grpc.status.UNAVAILABLE);
      assert.deepEqual(down.metadata.get(RETRY_AFTER_MS), ["1500"]);
      // Every error of the table, with messages full of characters connect-es would escape.
      const codes: Record<string, grpc.status> = {
        "": grpc.status.INVALID_ARGUMENT,
        "err-failed-precondition": grpc.status.FAILED_PRECONDITION,
        "err-already-exists": grpc.status.ALREADY_EXISTS,
        "err-unavailable": grpc.status.UNAVAILABLE,
        "err-permission-denied": grpc.status.PERMISSION_DENIED,
        "err-unauthenticated": grpc.status.UNAUTHENTICATED,
        "err-unicode": grpc.status.NOT_FOUND,
      };
      for (const [destination, code] of Object.entries(codes)) {
        const e = await grpcJsError(get(destination));
        assert.equal(e.code, code, destination);
        assert.equal(e.details, ERRORS[destination]?.().rawMessage, destination);
      }

      const messages: StreamResponse[] = [];
      for await (const m of client.Stream(create(StreamRequestSchema, { destination: "example" }))) {
        messages.push(m as StreamResponse);
      }
      assert.deepEqual(
        messages.map((m) => m.message.case),
        ["subscribed", "batch", "batch", "batch"],
      );
      const streamErr = await grpcJsError(
        collect(client.Stream(create(StreamRequestSchema, { destination: "resubscribe" }))),
      );
      assert.equal(streamErr.code, grpc.status.UNAVAILABLE);
      assert.deepEqual(streamErr.metadata.get(RETRY_AFTER_MS), ["250"]);
    } finally {
      client.close();
    }
  });

  test("curl, HTTP/1.1, Connect server stream with perl framing (the command of docs/http.md)", async () => {
    const r = await shWithUrl(docCommand("stream"), server.url);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.toString(),
      [
        '{"subscribed":{"session":"session-example","epoch":"42"}}',
        '{"batch":{"batchId":"1"}}',
        '{"batch":{"batchId":"2"}}',
        '{"batch":{"batchId":"3"}}',
        "end: {}",
        "",
      ].join("\n"),
    );
  });

  test("curl, HTTP/1.1, Connect server stream with printf framing (the command of docs/http.md)", async () => {
    for (const shell of ["bash", "sh"]) {
      const r = await new Promise<Run>((resolve, reject) => {
        const child = spawn(shell, ["-c", docCommand("stream-printf")], {
          env: { ...process.env, URL: server.url },
          stdio: ["ignore", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        let err = "";
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => {
          err += b.toString();
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
      });
      assert.equal(r.code, 0, r.stderr);
      const envelopes = parseEnvelopes(r.stdout);
      assert.deepEqual(
        envelopes.map((e) => [e.flags, JSON.parse(e.data.toString())]),
        [
          [0, { subscribed: { session: "session-example", epoch: "42" } }],
          [0, { batch: { batchId: "1" } }],
          [0, { batch: { batchId: "2" } }],
          [0, { batch: { batchId: "3" } }],
          [2, {}], // end of stream, no error
        ],
        shell,
      );
    }
  });

  test("curl: Connect server stream over HTTP/1.1 and h2c, error in the end-of-stream message", async () => {
    for (const version of ["--http1.1", "--http2-prior-knowledge"]) {
      const r = await run(
        "curl",
        [
          "-sS",
          version,
          "-N",
          "--data-binary",
          "@-",
          "-H",
          "Content-Type: application/connect+json",
          "--output",
          "-",
          `${server.url}/sluice.v1.CanalService/Stream`,
        ],
        envelope('{"destination":"resubscribe"}'),
      );
      assert.equal(r.code, 0, r.stderr);
      const envelopes = parseEnvelopes(r.stdout);
      assert.equal(envelopes.length, 2);
      assert.deepEqual(JSON.parse(envelopes[0]?.data.toString() as string), {
        subscribed: { session: "session-resubscribe", epoch: "42" },
      });
      assert.equal(envelopes[1]?.flags, 2);
      assert.deepEqual(JSON.parse(envelopes[1]?.data.toString() as string), {
        error: { code: "unavailable", message: "session lost, resubscribe (retry after 250 ms)" },
        metadata: { "retry-after-ms": ["250"] },
      });
    }
  });

  test("errors reach curl as Connect JSON with the HTTP status of their code", async () => {
    const cases: Array<[string, number, unknown]> = [
      ["nope", 404, { code: "not_found", message: "destination nope not found" }],
      ["", 400, { code: "invalid_argument", message: "destination: must not be empty" }],
      [
        "err-failed-precondition",
        400,
        { code: "failed_precondition", message: "batch 7 is not the oldest outstanding batch (5 is)" },
      ],
      [
        "err-already-exists",
        409,
        {
          code: "already_exists",
          message: "clientId 1001 is held by 10.0.0.9:40000 since 2024-01-01T00:00:00Z",
        },
      ],
      [
        "err-unavailable",
        503,
        {
          code: "unavailable",
          message: "no running server for destination err-unavailable (retry after 1500 ms)",
        },
      ],
      [
        "err-permission-denied",
        403,
        { code: "permission_denied", message: "not allowed on destination err-permission-denied" },
      ],
      ["err-unauthenticated", 401, { code: "unauthenticated", message: "no credentials" }],
    ];
    for (const [destination, status, json] of cases) {
      for (const version of ["--http1.1", "--http2-prior-knowledge"]) {
        const r = await curl([
          version,
          "-H",
          "Content-Type: application/json",
          "--data",
          JSON.stringify({ destination }),
          `${server.url}/sluice.v1.AdminService/GetDestination`,
        ]);
        assert.equal(r.status, status, `${destination} ${version}`);
        assert.deepEqual(JSON.parse(r.body), json, `${destination} ${version}`);
      }
    }
  });

  test("unavailable carries retry-after-ms as an HTTP response header", async () => {
    const r = await run("curl", [
      "-sS",
      "-D",
      "-",
      "-o",
      "/dev/null",
      "-H",
      "Content-Type: application/json",
      "--data",
      '{"destination":"err-unavailable"}',
      `${server.url}/sluice.v1.AdminService/GetDestination`,
    ]);
    assert.match(r.stdout.toString(), /^HTTP\/1\.1 503 /);
    assert.match(r.stdout.toString(), /\r\nretry-after-ms: 1500\r\n/i);
  });

  test("malformed or mistyped JSON bodies give invalid_argument; unknown fields are ignored", async () => {
    const post = (data: string) =>
      curl([
        "-H",
        "Content-Type: application/json",
        "--data",
        data,
        `${server.url}/sluice.v1.AdminService/GetDestination`,
      ]);
    const broken = await post("{not json");
    assert.equal(broken.status, 400);
    assert.equal(JSON.parse(broken.body).code, "invalid_argument");
    const mistyped = await post('{"destination":7}');
    assert.equal(mistyped.status, 400);
    assert.equal(JSON.parse(mistyped.body).code, "invalid_argument");
    assert.match(JSON.parse(mistyped.body).message, /destination/);
    const unknown = await post('{"destination":"example","bogus":1}');
    assert.equal(unknown.status, 200);
    assert.deepEqual(JSON.parse(unknown.body), { destination: { name: "example" } });
  });

  test("a request message that is not protobuf gets invalid_argument on every protocol, unary and streaming", async () => {
    // Field 1 (a string) announced 5 bytes long, 1 byte there: protobuf cannot decode it.
    const garbage = Buffer.from([0x0a, 0x05, 0x61]);
    const unary = `${server.url}/sluice.v1.AdminService/GetDestination`;
    const streaming = `${server.url}/sluice.v1.CanalService/Stream`;
    // Connect unary (HTTP/1.1): HTTP 400 and the JSON error.
    const connect = await fetch(unary, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: garbage,
    });
    assert.equal(connect.status, 400);
    const json = (await connect.json()) as { code: string; message: string };
    assert.equal(json.code, "invalid_argument", json.message);
    // gRPC-Web unary (HTTP/1.1): the status in the trailer frame.
    const web = await fetch(unary, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: encodeFrame(garbage),
    });
    const webFrames = splitFrames(Buffer.from(await web.arrayBuffer()));
    const trailer = fromGrpcWebTrailer((webFrames.at(-1) as { message: Buffer }).message);
    assert.equal(trailer.error?.code, Code.InvalidArgument, trailer.error?.message);
    // A Connect stream's request: the end-of-stream message.
    const stream = await fetch(streaming, {
      method: "POST",
      headers: { "content-type": "application/connect+proto" },
      body: encodeFrame(garbage),
    });
    const end = fromConnectEndStream(
      splitFrames(Buffer.from(await stream.arrayBuffer())).at(-1)?.message as Buffer,
    );
    assert.equal(end.error?.code, Code.InvalidArgument, end.error?.message);
    // gRPC (h2c), unary and streaming: grpc-status 3.
    const session = http2.connect(server.url);
    try {
      for (const path of ["/sluice.v1.AdminService/GetDestination", "/sluice.v1.CanalService/Stream"]) {
        const status = await rawGrpcStatus(session, path, encodeFrame(garbage));
        assert.equal(status, String(Code.InvalidArgument), path);
      }
    } finally {
      session.close();
    }
  });

  test("a body of no message or of two gets invalid_argument on every enveloped protocol, unary and streaming", async () => {
    // connect-es's own answer is unimplemented, as if the method did not exist.
    const bodies = {
      none: Buffer.alloc(0),
      two: Buffer.concat([encodeFrame(Buffer.alloc(0)), encodeFrame(Buffer.alloc(0))]),
    };
    const paths = ["/sluice.v1.AdminService/GetDestination", "/sluice.v1.CanalService/Stream"];
    const session = http2.connect(server.url);
    try {
      for (const [name, body] of Object.entries(bodies)) {
        for (const path of paths) {
          const web = await fetch(`${server.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/grpc-web+proto" },
            body,
          });
          const last = splitFrames(Buffer.from(await web.arrayBuffer())).at(-1) as { message: Buffer };
          const trailer = fromGrpcWebTrailer(last.message);
          assert.equal(
            trailer.error?.code,
            Code.InvalidArgument,
            `gRPC-Web ${path}, ${name}: ${trailer.error?.message}`,
          );
          const status = await rawGrpcStatus(session, path, body);
          assert.equal(status, String(Code.InvalidArgument), `gRPC ${path}, ${name}`);
        }
        const stream = await fetch(`${server.url}/sluice.v1.CanalService/Stream`, {
          method: "POST",
          headers: { "content-type": "application/connect+proto" },
          body,
        });
        const end = fromConnectEndStream(
          splitFrames(Buffer.from(await stream.arrayBuffer())).at(-1)?.message as Buffer,
        );
        assert.equal(end.error?.code, Code.InvalidArgument, `Connect stream, ${name}: ${end.error?.message}`);
      }
    } finally {
      session.close();
    }
  });

  test("a request message over 4 MiB is refused with resource_exhausted", async () => {
    const big = Buffer.from(JSON.stringify({ destination: "d".repeat(5 * 1024 * 1024) }));
    const r = await run(
      "curl",
      [
        "-sS",
        "-w",
        "\\n%{http_code}",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        "@-",
        `${server.url}/sluice.v1.AdminService/GetDestination`,
      ],
      big,
    );
    const [body, status] = r.stdout.toString().split("\n");
    assert.equal(status, "429");
    assert.equal(JSON.parse(body as string).code, "resource_exhausted");
  });

  test("HTTP/1.1: a client that reads the answer only after sending all of a too-large request gets resource_exhausted, and the connection goes on", async () => {
    // connect-es's HTTP/1.1 client sends the whole body before it reads the answer: the server
    // must read and drop the rest of a refused request (it used to leave the socket paused until
    // the keep-alive timeout reset it, and the client reported ECONNRESET).
    const client = createClient(
      AdminService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    // 5 MiB: the first 4 MiB are read and refused, the rest waits on the socket. It used to stay
    // there, so that the next request on the connection (64 MiB) was never read.
    for (const mib of [5, 64, 5]) {
      const started = Date.now();
      await assert.rejects(client.getDestination({ destination: "d".repeat(mib * 1024 * 1024) }), (err) => {
        const e = ConnectError.from(err);
        assert.equal(e.code, Code.ResourceExhausted, e.message);
        return true;
      });
      assert.ok(Date.now() - started < 5_000, "answered well before the keep-alive timeout");
    }
    const after = await client.listDestinations({});
    assert.deepEqual(
      after.destinations.map((d) => d.name),
      ["example", "orders"],
    );
  });

  test("many calls open at once: no MaxListenersExceededWarning (every call listens to the server's shutdown signals)", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      for (const transport of [
        createGrpcTransport({ baseUrl: server.url }),
        createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
      ]) {
        const admin = createClient(AdminService, transport);
        const answers = await Promise.all(
          Array.from({ length: 25 }, () =>
            admin.releaseDestination({ destination: "slow", toAddress: "200" }),
          ),
        );
        assert.equal(answers.length, 25);
      }
      await sleep(50); // warnings are emitted on the next tick
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(
      warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message),
      [],
    );
  });

  test("plain HTTP endpoints (extraHandlers) over HTTP/1.1 and h2c; 404 elsewhere", async () => {
    for (const version of ["--http1.1", "--http2-prior-knowledge"]) {
      const ok = await curl([version, `${server.url}/healthz`]);
      assert.deepEqual([ok.status, ok.body], [200, "ok\n"]);
      const missing = await curl([version, `${server.url}/nope`]);
      assert.equal(missing.status, 404);
      const noRpc = await curl([
        version,
        "-H",
        "Content-Type: application/json",
        "--data",
        "{}",
        `${server.url}/sluice.v1.AdminService/NoSuchMethod`,
      ]);
      assert.equal(noRpc.status, 404);
    }
  });

  test("an HTTP/1.0 request without Host gets 400 (connect-node would throw)", async () => {
    const r = await curl([
      "--http1.0",
      "-H",
      "Host:",
      "-H",
      "Content-Type: application/json",
      "--data",
      "{}",
      `${server.url}/sluice.v1.AdminService/ListDestinations`,
    ]);
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).code, "invalid_argument");
    // And the server still serves.
    assert.equal((await curl([`${server.url}/healthz`])).status, 200);
  });

  test("HTTP/2 preface split over many packets (a proxy forwards it one byte at a time)", async () => {
    const proxy = await slowStartProxy(server.port, 30);
    try {
      const admin = createClient(
        AdminService,
        createConnectTransport({ baseUrl: proxy.url, httpVersion: "2" }),
      );
      assert.deepEqual(
        await admin.listDestinations({}),
        create(ListDestinationsResponseSchema, DESTINATIONS),
      );
      const grpcClient = createClient(AdminService, createGrpcTransport({ baseUrl: proxy.url }));
      assert.deepEqual(
        await grpcClient.listDestinations({}),
        create(ListDestinationsResponseSchema, DESTINATIONS),
      );
      assert.ok(proxy.splitWrites() >= 24, `only ${proxy.splitWrites()} single-byte writes`);
    } finally {
      await proxy.close();
    }
  });

  test("HTTP/1.1 request split after one byte, and two pipelined requests in one packet", async () => {
    const req = (destination: string) => {
      const body = JSON.stringify({ destination });
      return `POST /sluice.v1.AdminService/GetDestination HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    const split = await rawExchange(server.port, [req("example").slice(0, 1), req("example").slice(1)], 1);
    assert.match(split, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(split, /\{"destination":\{"name":"example"\}\}$/);
    const pipelined = await rawExchange(server.port, [req("example") + req("nope")], 2);
    const statuses = [...pipelined.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ["200", "404"]);
  });
});

/** A TCP proxy to `port` that forwards the client's first `slowBytes` bytes one per packet. */
async function slowStartProxy(port: number, slowBytes: number) {
  let writes = 0;
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: "127.0.0.1", port, noDelay: true });
    sockets.add(client);
    sockets.add(upstream);
    let sent = 0;
    let queue = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      queue = queue.then(async () => {
        for (let i = 0; i < chunk.length; ) {
          if (sent < slowBytes) {
            upstream.write(chunk.subarray(i, i + 1));
            writes++;
            sent++;
            i++;
            await sleep(2);
          } else {
            upstream.write(chunk.subarray(i));
            break;
          }
        }
      });
    });
    upstream.pipe(client);
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", destroy);
    upstream.on("error", destroy);
    client.on("close", destroy);
    upstream.on("close", destroy);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port: proxyPort } = proxy.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    splitWrites: () => writes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => resolve());
      }),
  };
}

/** Sends `packets` (20 ms apart) on a raw connection; returns what came back once `responses` bodies arrived. */
function rawExchange(port: number, packets: string[], responses: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(text)}`));
    }, 5000);
    socket.on("data", (b: Buffer) => {
      text += b.toString();
      const bodies = [...text.matchAll(/\r\n\r\n\{[^\r]*\}(?=HTTP|$)/g)].length;
      if (bodies >= responses) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on("error", reject);
    socket.on("connect", async () => {
      for (const p of packets) {
        socket.write(p);
        await sleep(20);
      }
    });
  });
}

describe("a client that goes away", () => {
  test("ends a lean gRPC call at once, unary or stream, and its hooks see it canceled", async () => {
    const ended: { procedure: string; code: number; at: number }[] = [];
    const hook = {
      name: "ends",
      end: (call: { procedure: string }, o: { code: number }) =>
        ended.push({ procedure: call.procedure, code: o.code, at: performance.now() }),
    };
    const server = await start({
      pipeline: new CallPipeline([hook]),
      leanUnary: [{ service: AdminService, implementation: admin, methods: ["releaseDestination"] }],
    });
    try {
      const transport = createGrpcTransport({ baseUrl: server.url });
      const adminClient = createClient(AdminService, transport);
      const canalClient = createClient(CanalService, transport);
      // A unary call whose handler sleeps 3 s, ignoring its signal.
      const stop = new AbortController();
      const call = adminClient.releaseDestination(
        { destination: "x", toAddress: "3000" },
        { signal: stop.signal },
      );
      await sleep(200);
      const canceledAt = performance.now();
      stop.abort();
      await assert.rejects(call);
      // A stream whose handler never ends by itself, canceled after its first message.
      const stopStream = new AbortController();
      const messages = canalClient.stream(
        { destination: "stubborn-x", clientId: "1" },
        { signal: stopStream.signal },
      );
      await assert.rejects(
        (async () => {
          for await (const _ of messages) stopStream.abort();
        })(),
      );
      for (let i = 0; i < 100 && ended.length < 2; i++) await sleep(20);
      const unary = ended.find((e) => e.procedure.endsWith("/ReleaseDestination"));
      const stream = ended.find((e) => e.procedure.endsWith("/Stream"));
      assert.equal(unary?.code, Code.Canceled, "unary: the hook saw it canceled");
      assert.ok(
        (unary?.at ?? Infinity) - canceledAt < 1000,
        "unary: ended within 1 s of the cancel, not at 3 s",
      );
      assert.equal(stream?.code, Code.Canceled, "stream: the hook saw it canceled");
    } finally {
      await server.close();
    }
  });
});

describe("deadlines", () => {
  let server: ConnectServer;
  let capped: ConnectServer;
  before(async () => {
    server = await start();
    capped = await start({ maxTimeoutMs: 300 });
  });
  after(async () => {
    await server?.close();
    await capped?.close();
  });

  const slowCall = (url: string, header: string, sleepMs: number) =>
    curl([
      "-H",
      header,
      "-H",
      "Content-Type: application/json",
      "--data",
      JSON.stringify({ destination: "slow", toAddress: String(sleepMs) }),
      `${url}/sluice.v1.AdminService/ReleaseDestination`,
    ]);

  test("a hook that waits past the deadline: the call ends with deadline_exceeded, and so do its hooks", async () => {
    const ends: number[] = [];
    const stuck = await start({
      pipeline: new CallPipeline([
        {
          name: "stuck",
          start: () => new Promise<void>(() => {}),
          end: (_call, outcome) => {
            ends.push(outcome.code);
          },
        },
      ]),
    });
    try {
      const t0 = Date.now();
      const r = await slowCall(stuck.url, "connect-timeout-ms: 200", 0);
      assert.equal(JSON.parse(r.body).code, "deadline_exceeded", r.body);
      assert.ok(Date.now() - t0 < 2000, `answered after ${Date.now() - t0} ms`);
      assert.deepEqual(ends, [Code.DeadlineExceeded]);
    } finally {
      await stuck.close();
    }
  });

  test("a Connect deadline ends the call with deadline_exceeded even if the handler ignores it", async () => {
    const t0 = Date.now();
    const r = await slowCall(server.url, "connect-timeout-ms: 200", 3000);
    const elapsed = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.equal(JSON.parse(r.body).code, "deadline_exceeded");
    assert.ok(elapsed >= 190 && elapsed < 2000, `took ${elapsed} ms`);
    // Within the deadline, the call succeeds.
    const ok = await slowCall(server.url, "connect-timeout-ms: 2000", 10);
    assert.equal(ok.status, 200);
  });

  test("a gRPC deadline (grpc-js) ends the call with DEADLINE_EXCEEDED", async () => {
    const client = grpcJs(server);
    try {
      const t0 = Date.now();
      const err = await grpcJsError(
        grpcUnary((cb) =>
          client.GetDestination(
            create(GetDestinationRequestSchema, { destination: "timeout" }),
            new grpc.Metadata(),
            { deadline: Date.now() + 20 },
            cb,
          ),
        ),
      );
      assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      client.close();
    }
  });

  test("a server stream ends with deadline_exceeded at its deadline", async () => {
    const canal = createClient(
      CanalService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
    );
    const got: StreamResponse[] = [];
    const err = await rejection(
      (async () => {
        for await (const m of canal.stream({ destination: "stubborn-deadline" }, { timeoutMs: 300 }))
          got.push(m);
      })(),
    );
    assert.equal(got.length, 1);
    assert.equal(err.code, Code.DeadlineExceeded);
    // The server ended it (not only the client): curl, which has no deadline of its own.
    const t0 = Date.now();
    const r = await run(
      "curl",
      [
        "-sS",
        "--data-binary",
        "@-",
        "-H",
        "Content-Type: application/connect+json",
        "-H",
        "connect-timeout-ms: 300",
        "--output",
        "-",
        `${server.url}/sluice.v1.CanalService/Stream`,
      ],
      envelope('{"destination":"stubborn-curl"}'),
    );
    assert.ok(Date.now() - t0 < 3000);
    const envelopes = parseEnvelopes(r.stdout);
    assert.equal(envelopes.at(-1)?.flags, 2);
    assert.equal(JSON.parse(envelopes.at(-1)?.data.toString() as string).error.code, "deadline_exceeded");
  });

  test("maxTimeoutMs caps longer deadlines (Connect and gRPC) instead of refusing them", async () => {
    const t0 = Date.now();
    const r = await slowCall(capped.url, "connect-timeout-ms: 60000", 5000);
    const elapsed = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.ok(elapsed >= 290 && elapsed < 3000, `took ${elapsed} ms`);

    const seen = await curl([
      "-H",
      "connect-timeout-ms: 60000",
      "-H",
      "Content-Type: application/json",
      "--data",
      '{"destination":"timeout"}',
      `${capped.url}/sluice.v1.AdminService/GetDestination`,
    ]);
    const timeoutMs = Number(/timeoutMs=(\d+)/.exec(JSON.parse(seen.body).destination.name)?.[1]);
    assert.ok(timeoutMs > 200 && timeoutMs <= 300, `handler saw ${timeoutMs}`);

    const client = grpcJs(capped);
    try {
      const g0 = Date.now();
      const res = await grpcUnary<MessageShape<typeof GetDestinationResponseSchema>>((cb) =>
        client.GetDestination(
          create(GetDestinationRequestSchema, { destination: "timeout" }),
          new grpc.Metadata(),
          { deadline: Date.now() + 60_000 },
          cb,
        ),
      );
      const grpcTimeoutMs = Number(/timeoutMs=(\d+)/.exec(res.destination?.name ?? "")?.[1]);
      assert.ok(grpcTimeoutMs > 200 && grpcTimeoutMs <= 300, `handler saw ${grpcTimeoutMs}`);
      const stream = client.Stream(create(StreamRequestSchema, { destination: "stubborn-grpc" }), {
        deadline: Date.now() + 60_000,
      });
      const streamErr = await grpcJsError(collect(stream));
      assert.equal(streamErr.code, grpc.status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - g0 < 3000, `took ${Date.now() - g0} ms`);
    } finally {
      client.close();
    }
  });

  test("a huge deadline does not overflow Node's timer (it would fire after 1 ms)", async () => {
    const r = await curl([
      "-H",
      "connect-timeout-ms: 9999999999",
      "-H",
      "Content-Type: application/json",
      "--data",
      '{"destination":"timeout"}',
      `${server.url}/sluice.v1.AdminService/GetDestination`,
    ]);
    assert.equal(r.status, 200);
    assert.match(JSON.parse(r.body).destination.name, /^timeoutMs=214748\d{4} aborted=false$/);
  });
});

/** Polls `value` every 250 ms until it stays the same twice in a row (at most 10 s); returns it. */
async function settled(value: () => number): Promise<number> {
  let last = value();
  for (let i = 0; i < 40; i++) {
    await sleep(250);
    const now = value();
    if (now === last) return now;
    last = now;
  }
  assert.fail(`still changing after 10 s: ${last}`);
}

describe("back-pressure: a slow client slows a server-streaming handler", () => {
  let server: ConnectServer;
  before(async () => {
    server = await start();
  });
  after(async () => {
    await server?.close();
  });

  const transports = [
    [
      "Connect over HTTP/1.1",
      "1.1",
      (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    ],
    [
      "Connect over HTTP/2",
      "2",
      (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    ],
    // The server's lean path of gRPC streams (src/protocol/server/grpc-stream.ts).
    ["gRPC", "grpc", (baseUrl: string) => createGrpcTransport({ baseUrl })],
  ] as const;
  for (const [name, httpVersion, transport] of transports) {
    test(`${name}: 1 MiB messages to a client that stops reading`, async (t) => {
      const d = `big-${httpVersion}`;
      const canal = createClient(CanalService, transport(server.url));
      const abort = new AbortController();
      const it = canal.stream({ destination: d }, { signal: abort.signal })[Symbol.asyncIterator]();
      const memBefore = process.memoryUsage().arrayBuffers;
      assert.equal((await it.next()).value?.message.case, "subscribed");
      // The client reads nothing for a while: the handler stops, and stays stopped.
      const stalled = await settled(() => produced.get(d) ?? 0);
      await sleep(500);
      assert.equal(produced.get(d), stalled, "the handler kept producing while the client read nothing");
      assert.ok(stalled <= 40, `${stalled} MiB produced for a client that reads nothing`);
      const grown = process.memoryUsage().arrayBuffers - memBefore;
      t.diagnostic(
        `${name}: ${stalled} messages of 1 MiB produced, buffers +${Math.round(grown / 1048576)} MiB`,
      );
      assert.ok(grown < 200 * 1024 * 1024, `buffers grew by ${Math.round(grown / 1048576)} MiB`);
      // Reading resumes the handler.
      for (let i = 0; i < stalled + 10; i++) {
        const r = await it.next();
        assert.equal(r.value?.message.case, "batch");
      }
      assert.ok((produced.get(d) ?? 0) > stalled + 5);
      // The client leaves: the handler is stopped.
      abort.abort();
      await it.return?.();
      const atCancel = await settled(() => produced.get(d) ?? 0);
      assert.ok(atCancel < stalled + 60, `the handler kept producing after the client left (${atCancel})`);
    });
  }
});

describe("graceful close", () => {
  test("stops accepting, lets unary calls finish, ends open streams cleanly, ignores idle keep-alives", async () => {
    const server = await start({ shutdownTimeoutMs: 5000 });
    const h1 = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
    const h2 = createConnectTransport({ baseUrl: server.url, httpVersion: "2" });

    // Open streams on every kind of connection, and wait for their first message.
    const streamEnd = (transport: Transport, destination: string) => {
      const it = createClient(CanalService, transport).stream({ destination })[Symbol.asyncIterator]();
      return it.next().then((first) => {
        assert.equal(first.value?.message.case, "subscribed");
        return rejection(it.next());
      });
    };
    const streams = [streamEnd(h1, "wait-h1"), streamEnd(h2, "wait-h2")];
    const grpcClient = grpcJs(server);
    const grpcStream = grpcClient.Stream(create(StreamRequestSchema, { destination: "wait-grpc" }));
    const grpcFirst = new Promise((resolve) => grpcStream.once("data", resolve));
    const grpcEnd = grpcJsError(
      new Promise((resolve, reject) => {
        grpcStream.on("error", reject);
        grpcStream.on("end", resolve);
      }),
    );
    const curlStream = run(
      "curl",
      [
        "-sS",
        "-N",
        "--data-binary",
        "@-",
        "-H",
        "Content-Type: application/connect+json",
        "--output",
        "-",
        `${server.url}/sluice.v1.CanalService/Stream`,
      ],
      envelope('{"destination":"wait-curl"}'),
    );
    // An idle HTTP/1.1 keep-alive connection.
    const agent = new http.Agent({ keepAlive: true });
    const idle = await new Promise<net.Socket>((resolve, reject) => {
      const req = http.get(`${server.url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(req.socket as net.Socket));
      });
      req.on("error", reject);
    });
    const idleClosed = new Promise((resolve) => idle.once("close", resolve));
    await grpcFirst;
    await sleep(300); // curl's stream is open too

    // Unary calls in flight when close() starts (their handlers take 500 ms).
    const slow = (transport: Transport) =>
      createClient(AdminService, transport).releaseDestination({ destination: "x", toAddress: "500" });
    const unary = [slow(h1), slow(h2)];
    await sleep(50);

    const t0 = Date.now();
    const closed = server.close();
    await idleClosed;
    assert.ok(Date.now() - t0 < 500, "the idle keep-alive connection was not closed at once");

    // No new connections.
    await assert.rejects(
      createClient(
        AdminService,
        createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      ).listDestinations({}),
      (e: unknown) =>
        ConnectError.from(e).code === Code.Unavailable || ConnectError.from(e).code === Code.Internal,
    );

    for (const r of await Promise.all(unary)) assert.equal(r.released?.address, "slept 500");
    for (const err of await Promise.all(streams)) {
      assert.equal(err.code, Code.Unavailable);
      assert.equal(err.rawMessage, "server is shutting down");
    }
    const g = await grpcEnd;
    assert.equal(g.code, grpc.status.UNAVAILABLE);
    assert.equal(g.details, "server is shutting down");
    const c = await curlStream;
    const last = parseEnvelopes(c.stdout).at(-1);
    assert.equal(last?.flags, 2);
    assert.deepEqual(JSON.parse(last?.data.toString() as string), {
      error: { code: "unavailable", message: "server is shutting down" },
    });
    for (const d of ["wait-h1", "wait-h2", "wait-grpc", "wait-curl"]) {
      const reason = sawAbort.get(d);
      assert.ok(
        reason instanceof ConnectError && reason.code === Code.Unavailable,
        `${d} saw ${String(reason)}`,
      );
    }

    await closed;
    const took = Date.now() - t0;
    assert.ok(took < 2500, `close took ${took} ms`);
    grpcClient.close();
    agent.destroy();
  });

  test("after shutdownTimeoutMs, calls still running end with unavailable and connections are dropped", async () => {
    const server = await start({ shutdownTimeoutMs: 300 });
    const ends = ["1.1", "2"].map((httpVersion) => {
      const transport = createConnectTransport({
        baseUrl: server.url,
        httpVersion: httpVersion as "1.1" | "2",
      });
      const it = createClient(CanalService, transport)
        .stream({ destination: `stubborn-${httpVersion}` })
        [Symbol.asyncIterator]();
      return it.next().then(() => rejection(it.next()));
    });
    await sleep(200);
    const t0 = Date.now();
    await server.close();
    const took = Date.now() - t0;
    assert.ok(took >= 290 && took < 2000, `close took ${took} ms`);
    for (const err of await Promise.all(ends)) {
      assert.equal(err.code, Code.Unavailable);
      assert.equal(err.rawMessage, "server shut down before the call finished");
    }
  });

  test("a connection that sends nothing is dropped, and does not hold close() up", async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const server = await start({ firstBytesTimeoutMs: 300 });
    const silent = net.connect({ host: "127.0.0.1", port: server.port });
    const t0 = Date.now();
    await new Promise((resolve) => silent.once("close", resolve));
    const dropped = Date.now() - t0;
    assert.ok(dropped >= 250 && dropped < 3000, `dropped after ${dropped} ms`);

    const another = net.connect({ host: "127.0.0.1", port: server.port });
    await new Promise((resolve) => another.once("connect", resolve));
    await sleep(50);
    const c0 = Date.now();
    await server.close();
    assert.ok(Date.now() - c0 < 500, `close took ${Date.now() - c0} ms`);
    await new Promise((resolve) => (another.destroyed ? resolve(null) : another.once("close", resolve)));
    await sleep(50); // the server's side of the socket closes a moment later
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    assert.ok(timersAfter <= timersBefore, `${timersAfter - timersBefore} timers left behind`);
  });

  test("a port in use is an error of startConnectServer", async () => {
    const server = await start();
    try {
      await assert.rejects(
        startConnectServer({ host: "127.0.0.1", port: server.port, routes }),
        /EADDRINUSE/,
      );
    } finally {
      await server.close();
    }
  });

  test("close() is idempotent and a closed port refuses connections", async () => {
    const server = await start();
    const a = server.close();
    const b = server.close();
    assert.equal(a, b);
    await a;
    const r = await run("curl", ["-sS", "-o", "/dev/null", `${server.url}/healthz`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Could not connect|Connection refused|Failed to connect/i);
  });
});
