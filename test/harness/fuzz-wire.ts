// The wire side of test/integration/fuzz.test.ts: typed requests through connect-es's clients
// and raw requests of each protocol with any body, the code their answer carries (whatever
// form the protocol gives it), and the cursors a store holds (ZooKeeper's nodes, the file
// store's files), to compare before and after a call.
import { readdirSync, readFileSync } from "node:fs";
import * as http2 from "node:http2";
import { join } from "node:path";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import type { ZkClient } from "../../src/common/zk/client.js";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { FLAG_END_STREAM, FLAG_TRAILER, splitFrames } from "../../src/protocol/frame.js";
import {
  codeName,
  errorFromConnectUnary,
  errorFromGrpcStatus,
  fromConnectEndStream,
  fromGrpcWebTrailer,
} from "../../src/protocol/wire-errors.js";
import { type Method, serviceOf } from "./fuzz-cases.js";

/**
 * The codes of docs/api.md's and docs/http.md's error tables: every answer must be ok or one of
 * these (deadline_exceeded: the deadline the fuzzer sends with every call passed).
 */
export const DOCUMENTED = new Set([
  "ok",
  "invalid_argument",
  "failed_precondition",
  "not_found",
  "already_exists",
  "permission_denied",
  "unauthenticated",
  "unavailable",
  "resource_exhausted",
  "deadline_exceeded",
  "canceled",
]);

/** The deadline every fuzzed call carries, and how long past it an answer may take. */
export const DEADLINE_MS = 2000;
export const HANG_MS = DEADLINE_MS + 5000;

export type RawProtocol = "connect-json" | "connect-proto" | "connect-stream" | "grpc" | "grpc-web";

/** How each raw protocol's request is sent: content type, deadline header, HTTP version. */
const RAW: Record<RawProtocol, { type: string; deadline: [string, string]; h2: boolean }> = {
  "connect-json": {
    type: "application/json",
    deadline: ["connect-timeout-ms", String(DEADLINE_MS)],
    h2: false,
  },
  "connect-proto": {
    type: "application/proto",
    deadline: ["connect-timeout-ms", String(DEADLINE_MS)],
    h2: false,
  },
  "connect-stream": {
    type: "application/connect+proto",
    deadline: ["connect-timeout-ms", String(DEADLINE_MS)],
    h2: false,
  },
  grpc: { type: "application/grpc+proto", deadline: ["grpc-timeout", `${DEADLINE_MS}m`], h2: true },
  "grpc-web": {
    type: "application/grpc-web+proto",
    deadline: ["grpc-timeout", `${DEADLINE_MS}m`],
    h2: false,
  },
};

/** One HTTP/2 session per base URL, for raw gRPC requests. */
const sessions = new Map<string, http2.ClientHttp2Session>();

export function closeRawSessions(): void {
  for (const s of sessions.values()) s.close();
  sessions.clear();
}

function session(url: string): http2.ClientHttp2Session {
  let s = sessions.get(url);
  if (!s || s.closed || s.destroyed) {
    s = http2.connect(url);
    s.on("error", () => {});
    sessions.set(url, s);
  }
  return s;
}

/** Sends `body` to `path` in `protocol`'s form; resolves with the answer's code name and message. */
export async function rawCall(
  url: string,
  path: string,
  protocol: RawProtocol,
  body: Uint8Array,
): Promise<Answer> {
  const spec = RAW[protocol];
  if (spec.h2) return rawGrpc(url, path, spec, body);
  const headers: Record<string, string> = { "content-type": spec.type, [spec.deadline[0]]: spec.deadline[1] };
  if (protocol === "connect-json" || protocol === "connect-proto") headers["connect-protocol-version"] = "1";
  let res: Response;
  let answer: Buffer;
  try {
    res = await fetch(`${url}${path}`, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(HANG_MS),
    });
    answer = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    return { code: "no answer", message: (err as Error).message };
  }
  try {
    return readAnswer(protocol, res, answer);
  } catch (err) {
    return { code: "unreadable answer", message: (err as Error).message };
  }
}

/** The code and message of an HTTP/1.1 answer in `protocol`'s form. */
function readAnswer(protocol: RawProtocol, res: Response, body: Buffer): Answer {
  const plain = (code: string): Answer => ({ code, message: body.toString("utf8", 0, 500) });
  const of = (error: ConnectError | undefined): Answer =>
    error ? { code: codeName(error.code), message: error.rawMessage } : { code: "ok", message: "" };
  if (protocol === "connect-json" || protocol === "connect-proto") {
    if (res.status === 200) return plain("ok");
    if (!(res.headers.get("content-type") ?? "").startsWith("application/json"))
      return plain(`HTTP ${res.status}`);
    return of(errorFromConnectUnary(res.status, res.headers, body));
  }
  if (res.status !== 200) return plain(`HTTP ${res.status}`);
  if (protocol === "grpc-web") {
    if (res.headers.get("grpc-status") !== null) return of(errorFromGrpcStatus(res.headers));
    const last = splitFrames(body).at(-1);
    if (last === undefined || (last.flags & FLAG_TRAILER) === 0) return plain("no status");
    const { trailers, error } = fromGrpcWebTrailer(last.message);
    return trailers.get("grpc-status") === null ? plain("no status") : of(error);
  }
  const end = splitFrames(body).at(-1);
  if (end === undefined || (end.flags & FLAG_END_STREAM) === 0) return plain("no end of stream");
  return of(fromConnectEndStream(end.message).error);
}

function rawGrpc(
  url: string,
  path: string,
  spec: (typeof RAW)[RawProtocol],
  body: Uint8Array,
): Promise<Answer> {
  return new Promise((resolve) => {
    const stream = session(url).request({
      ":method": "POST",
      ":path": path,
      "content-type": spec.type,
      te: "trailers",
      [spec.deadline[0]]: spec.deadline[1],
    });
    let answer: Answer | undefined;
    const read = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] === undefined) return;
      const error = errorFromGrpcStatus(h);
      answer = error
        ? { code: codeName(error.code), message: error.rawMessage }
        : { code: "ok", message: "" };
    };
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), HANG_MS);
    stream.on("response", read);
    stream.on("trailers", read);
    stream.on("error", () => {});
    stream.on("data", () => {});
    stream.once("close", () => {
      clearTimeout(timer);
      resolve(answer ?? { code: "no status", message: `stream reset, code ${stream.rstCode}` });
    });
    stream.end(body);
  });
}

// Typed requests ---------------------------------------------------------------------------

export type TypedProtocol = "connect-json" | "connect-proto" | "grpc" | "grpc-web";
export const TYPED_PROTOCOLS: readonly TypedProtocol[] = [
  "connect-json",
  "connect-proto",
  "grpc",
  "grpc-web",
];

/** What a call was answered with: its code name, message, and (typed, ok) the response. */
export interface Answer {
  code: string;
  message: string;
  response?: unknown;
}

/** A transport of each typed protocol: Connect JSON over HTTP/1.1, the others over HTTP/2 or 1.1 as they run. */
function transportOf(url: string, protocol: TypedProtocol): Transport {
  switch (protocol) {
    case "connect-json":
      return createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: false });
    case "connect-proto":
      return createConnectTransport({ baseUrl: url, httpVersion: "2" });
    case "grpc":
      return createGrpcTransport({ baseUrl: url });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" });
  }
}

type AnyClient = Record<string, (req: unknown, opts: object) => unknown>;
const clients = new Map<string, { canal: AnyClient; admin: AnyClient }>();

function clientsOf(url: string, protocol: TypedProtocol): { canal: AnyClient; admin: AnyClient } {
  const key = `${protocol} ${url}`;
  let c = clients.get(key);
  if (!c) {
    const t = transportOf(url, protocol);
    c = {
      canal: createClient(CanalService, t) as unknown as AnyClient,
      admin: createClient(AdminService, t) as unknown as AnyClient,
    };
    clients.set(key, c);
  }
  return c;
}

function answerOf(err: unknown): Answer {
  const e = ConnectError.from(err);
  return { code: codeName(e.code), message: e.rawMessage };
}

/** How long a stream that opened is read before the fuzzer ends it (a stream runs until its client goes). */
const STREAM_READ_MS = 200;

/**
 * Calls `method` with `request` through connect-es's client of `protocol`, with the fuzzer's
 * deadline. A Stream is read for STREAM_READ_MS after its first message, then ended by the
 * client: ok, with that first message as the response.
 */
export async function typedCall(
  url: string,
  protocol: TypedProtocol,
  method: Method,
  request: Record<string, unknown>,
): Promise<Answer> {
  const { canal, admin } = clientsOf(url, protocol);
  const name = method.charAt(0).toLowerCase() + method.slice(1);
  const hang = AbortSignal.timeout(HANG_MS);
  if (method !== "Stream") {
    const client = serviceOf(method) === "sluice.v1.CanalService" ? canal : admin;
    try {
      const response = await (client[name] as AnyClient[string])(request, {
        timeoutMs: DEADLINE_MS,
        signal: hang,
      });
      return { code: "ok", message: "", response };
    } catch (err) {
      return answerOf(err);
    }
  }
  const stop = new AbortController();
  let first: unknown;
  try {
    const stream = canal.stream?.(request, {
      timeoutMs: DEADLINE_MS,
      signal: AbortSignal.any([hang, stop.signal]),
    }) as AsyncIterable<unknown>;
    for await (const m of stream) {
      if (first === undefined) {
        first = m;
        setTimeout(() => stop.abort(), STREAM_READ_MS);
      }
    }
    return { code: "ok", message: "", response: first };
  } catch (err) {
    if (stop.signal.aborted) return { code: "ok", message: "", response: first };
    return answerOf(err);
  }
}

/** The cursor nodes of `clientIds` of `destination` under a ZooKeeper root: clientId → the node's data. */
export async function zkCursors(
  zk: ZkClient,
  root: string,
  destination: string,
  clientIds: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of clientIds) {
    const node = await zk.get(`${root}/destinations/${destination}/${c}/cursor`).catch(() => undefined);
    if (node) out.set(c, node.data.toString("utf8"));
  }
  return out;
}

/** Every cursor of a file store: "destination/clientId" → the cursor file's content. */
export function fileCursors(dataDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const list = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return [];
    }
  };
  for (const d of list(join(dataDir, "destinations"))) {
    for (const c of list(join(dataDir, "destinations", d))) {
      try {
        out.set(`${d}/${c}`, readFileSync(join(dataDir, "destinations", d, c, "cursor"), "utf8"));
      } catch {
        // no cursor file
      }
    }
  }
  return out;
}

/** The cursors that differ between two snapshots, for a message. */
export function cursorChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of before) {
    if (!after.has(k)) out.push(`${k} removed`);
    else if (after.get(k) !== v) out.push(`${k} moved`);
  }
  for (const k of after.keys()) if (!before.has(k)) out.push(`${k} created`);
  return out;
}
