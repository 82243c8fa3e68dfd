// Consumer A of the cluster bench (bench/failover/run.ts): a child process that streams a
// destination with the TypeScript client (client.stream(), which resubscribes by itself),
// through the load balancer, and acks every batch before taking the next. It reports what
// happens as events on stdout (events.ts); SIGTERM ends it cleanly.
//
//   node dist/bench/failover/consumer-stream.js --url http://127.0.0.1:PORT --client-id ID
//        [--filter REGEX] [--batch-size N] [--window N] [--transport grpc|connect]
import { parseArgs } from "node:util";
import { Code } from "@connectrpc/connect";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { cursorKey, rowIds } from "../../test/harness/entries.js";
import { type ConsumerEvent, encodeEvent, toRuns } from "./events.js";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    "client-id": { type: "string" },
    destination: { type: "string", default: "example" },
    filter: { type: "string", default: "" },
    "batch-size": { type: "string", default: "200" },
    window: { type: "string", default: "4" },
    transport: { type: "string", default: "grpc" },
  },
});
if (!args.url || !args["client-id"]) throw new Error("--url and --client-id are required");
const transport = args.transport;
if (transport !== "grpc" && transport !== "connect")
  throw new Error(`--transport: grpc or connect, got ${transport}`);

// Pipes are written synchronously on Linux: a line is out before the next thing happens, and
// survives a SIGKILL that comes after it.
const emit = (e: ConsumerEvent) => process.stdout.write(encodeEvent(e));
const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());
emit({ ev: "start", t: Date.now(), pid: process.pid });

// gRPC: HTTP/2 (the client's keep-alive PINGs included); connect: the client's default, HTTP/1.1.
const client = createSluiceClient({ baseUrl: args.url, transport });
const stream = client.stream({
  destination: args.destination,
  clientId: args["client-id"],
  filter: args.filter,
  batchSize: Number(args["batch-size"]),
  window: Number(args.window),
  // A restarted consumer takes the hold over as soon as its old stream's hold goes.
  wait: true,
  signal: stop.signal,
  onSubscribed: (info) => emit({ ev: "sub", t: Date.now(), cursor: cursorKey(info.cursor) }),
  onRetry: ({ error }) =>
    emit({ ev: "error", t: Date.now(), call: "stream", code: Code[error.code], message: error.rawMessage }),
});
for await (const batch of stream) {
  emit({ ev: "batch", t: Date.now(), id: batch.batchId, rows: toRuns(rowIds(batch.entries)) });
  const ok = await batch.ack();
  if (ok) emit({ ev: "acked", t: Date.now(), id: batch.batchId });
  else emit({ ev: "unacked", t: Date.now(), id: batch.batchId, why: "the subscription ended first" });
}
process.exit(0);
