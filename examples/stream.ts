// Streams a destination and prints each row as a JSON line once its batch is acked, so what it
// prints is exactly what it consumed. Settings from the environment: SLUICE_URL (gateway or
// server), SLUICE_DESTINATION, SLUICE_CLIENT_ID, SLUICE_FILTER, SLUICE_TRANSPORT
// (connect|grpc|grpc-web), SLUICE_MAX_ROWS (stop after that many rows; default: until Ctrl-C),
// SLUICE_TOKEN or SLUICE_TOKEN_FILE (the bearer token the gateway or server asks for).
import { createSluiceClient, tokenFromEnv } from "../src/clients/typescript/index.js";

const env = process.env;
const transport = (env.SLUICE_TRANSPORT ?? "connect") as "connect" | "grpc" | "grpc-web";
const client = createSluiceClient({
  baseUrl: env.SLUICE_URL ?? "http://127.0.0.1:11113",
  transport, // "connect" (HTTP/1.1 or 2), "grpc" (HTTP/2) or "grpc-web"
  httpVersion: transport === "grpc" ? "2" : "1.1",
  token: tokenFromEnv(), // "authorization: Bearer ..." on every call
});
const maxRows = Number(env.SLUICE_MAX_ROWS ?? Number.POSITIVE_INFINITY);
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());

let printed = 0;
for await (const batch of client.stream({
  destination: env.SLUICE_DESTINATION ?? "example",
  clientId: env.SLUICE_CLIENT_ID ?? "1001",
  filter: env.SLUICE_FILTER, // canal's filter, e.g. "shop\\..*"
  batchSize: 100, // entries per batch
  window: 4, // unacked batches the server sends ahead
  signal: stop.signal, // ends the loop; so does break
  onRetry: ({ error, delayMs }) =>
    console.error(`subscribing again in ${Math.round(delayMs)} ms: ${error.message}`),
})) {
  const rows = batch.rows(); // flat rows: schema, table, type, before/after as column -> text
  // true: the cursor is durable. false: the subscription ended under us (failover, restart)
  // and these rows come again on the next one, so they are not printed now.
  if (!(await batch.ack())) continue;
  for (const row of rows) {
    console.log(JSON.stringify({ type: row.type, table: `${row.schema}.${row.table}`, after: row.after }));
    printed++;
  }
  if (printed >= maxRows) break;
}
