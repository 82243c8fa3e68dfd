// Streams a destination with the TypeScript client and prints each row once its batch is
// acked: one JSON line per row, so what it prints is exactly what it consumed.
//
//   node dist/examples/stream.js            (after `npx tsc`; settings from the environment)
//
// SLUICE_URL (default http://127.0.0.1:11113), SLUICE_DESTINATION (example),
// SLUICE_CLIENT_ID (1001), SLUICE_FILTER, SLUICE_TRANSPORT (connect|grpc|grpc-web),
// SLUICE_MAX_ROWS: stop after that many rows (default: run until Ctrl-C).
import { createSluiceClient } from "../src/clients/typescript/index.js";

const env = process.env;
const client = createSluiceClient({
  baseUrl: env.SLUICE_URL ?? "http://127.0.0.1:11113",
  transport: (env.SLUICE_TRANSPORT ?? "connect") as "connect" | "grpc" | "grpc-web",
  httpVersion: env.SLUICE_TRANSPORT === "grpc" ? "2" : "1.1",
});
const maxRows = Number(env.SLUICE_MAX_ROWS ?? Number.POSITIVE_INFINITY);
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());

let printed = 0;
for await (const batch of client.stream({
  destination: env.SLUICE_DESTINATION ?? "example",
  clientId: env.SLUICE_CLIENT_ID ?? "1001",
  filter: env.SLUICE_FILTER,
  batchSize: 100,
  window: 4,
  signal: stop.signal,
  onRetry: ({ error, delayMs }) =>
    process.stderr.write(`resubscribing in ${Math.round(delayMs)} ms: ${error.message}\n`),
})) {
  const rows = batch.rows();
  // Acked: the cursor is durable. Not acked (false): the subscription ended under us and these
  // rows come again on the next one, so they are not printed now.
  if (!(await batch.ack())) continue;
  for (const row of rows) {
    process.stdout.write(
      `${JSON.stringify({ type: row.type, table: `${row.schema}.${row.table}`, after: row.after, before: row.before })}\n`,
    );
    printed++;
  }
  if (printed >= maxRows) break;
}
