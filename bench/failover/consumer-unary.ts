// Consumer B of the cluster bench (bench/failover/run.ts): a child process that calls
// Subscribe, Get and Ack as HTTP/JSON (Connect's unary protocol, plain fetch: what a curl
// script or any HTTP library does) through the load balancer. Each call has a deadline; after
// any failure it subscribes again with the session it had (kept in --state, so that a
// restarted consumer keeps its hold instead of waiting for the lease to run out) and rolls
// back, so that whatever a lost call took is delivered again. It reports what happens as
// events on stdout (events.ts); SIGTERM ends it cleanly.
//
//   node dist/bench/failover/consumer-unary.js --url http://127.0.0.1:PORT --client-id ID
//        --state FILE [--filter REGEX] [--batch-size N] [--get-wait MS] [--call-timeout MS]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { GetResponseSchema, SubscribeResponseSchema } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { cursorKey, rowIds, sleep } from "../../test/harness/entries.js";
import { type ConsumerEvent, encodeEvent, toRuns } from "./events.js";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    "client-id": { type: "string" },
    state: { type: "string" },
    destination: { type: "string", default: "example" },
    filter: { type: "string", default: "" },
    "batch-size": { type: "string", default: "200" },
    "get-wait": { type: "string", default: "500" },
    "call-timeout": { type: "string", default: "2000" },
  },
});
if (!args.url || !args["client-id"] || !args.state)
  throw new Error("--url, --client-id and --state are required");
const URL_ = args.url;
const STATE = args.state;
const GET_WAIT_MS = Number(args["get-wait"]);
const CALL_TIMEOUT_MS = Number(args["call-timeout"]);
const who = { destination: args.destination, clientId: args["client-id"] };

const emit = (e: ConsumerEvent) => process.stdout.write(encodeEvent(e));
const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());

/** A failed call: Connect's error code, or "network"/"timeout" when no answer came. */
class CallError extends Error {
  constructor(
    readonly method: string,
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** One Connect unary call with a JSON body; its deadline is `waitMs` plus the call timeout. */
async function call(method: string, body: object, waitMs = 0): Promise<JsonValue> {
  const deadline = waitMs + CALL_TIMEOUT_MS;
  let res: Response;
  try {
    res = await fetch(`${URL_}/sluice.v1.CanalService/${method}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "connect-protocol-version": "1",
        "connect-timeout-ms": String(deadline),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.any([stop.signal, AbortSignal.timeout(deadline + 200)]),
    });
  } catch (err) {
    const e = err as Error & { cause?: Error };
    if (e.name === "TimeoutError")
      throw new CallError(method, "timeout", `no answer within ${deadline + 200} ms`);
    throw new CallError(method, "network", `${e.message}${e.cause ? `: ${e.cause.message}` : ""}`);
  }
  const text = await res.text().catch((err: Error) => {
    const code = err.name === "TimeoutError" ? "timeout" : "network";
    throw new CallError(method, code, `reading the answer: ${err.message}`);
  });
  if (res.ok) return JSON.parse(text) as JsonValue;
  const retry = res.headers.get("retry-after-ms");
  let error: { code?: string; message?: string } = {};
  try {
    error = JSON.parse(text);
  } catch {
    error = { message: `HTTP ${res.status}: ${text.slice(0, 200)}` };
  }
  throw new CallError(
    method,
    error.code ?? `http-${res.status}`,
    error.message ?? "",
    retry && /^\d+$/.test(retry) ? Number(retry) : undefined,
  );
}

let session = "";
let lastSession = existsSync(STATE) ? readFileSync(STATE, "utf8").trim() : "";

async function subscribe(): Promise<void> {
  // wait: a restarted consumer without its session stands by until the old hold goes.
  const res = fromJson(
    SubscribeResponseSchema,
    await call("Subscribe", { ...who, filter: args.filter, wait: true, session: lastSession }, 10_000),
    { ignoreUnknownFields: true },
  );
  session = res.session;
  lastSession = res.session;
  writeFileSync(STATE, session);
  // Batches a lost call took (a Get whose answer never came) are given back now.
  await call("Rollback", { ...who, session });
  emit({ ev: "sub", t: Date.now(), cursor: cursorKey(res.cursor) });
}

async function getAndAck(): Promise<void> {
  const res = fromJson(
    GetResponseSchema,
    await call(
      "Get",
      { ...who, batchSize: Number(args["batch-size"]), timeoutMs: GET_WAIT_MS, session },
      GET_WAIT_MS,
    ),
    { ignoreUnknownFields: true },
  );
  if (!res.batchId) return;
  emit({ ev: "batch", t: Date.now(), id: res.batchId, rows: toRuns(rowIds(res.entries)) });
  try {
    await call("Ack", { ...who, batchId: res.batchId, session });
  } catch (err) {
    emit({ ev: "unacked", t: Date.now(), id: res.batchId, why: (err as Error).message });
    throw err;
  }
  emit({ ev: "acked", t: Date.now(), id: res.batchId });
}

emit({ ev: "start", t: Date.now(), pid: process.pid });
while (!stop.signal.aborted) {
  try {
    if (!session) await subscribe();
    await getAndAck();
  } catch (err) {
    if (stop.signal.aborted) break;
    if (!(err instanceof CallError)) throw err;
    emit({ ev: "error", t: Date.now(), call: err.method, code: err.code, message: err.message });
    session = "";
    await sleep(err.retryAfterMs ?? 100);
  }
}
process.exit(0);
