// The canal client loop, ported: connect, subscribe, getWithoutAck, process, ack (or rollback
// on failure), disconnect. Prints one JSON line per row once its batch is acked.
//
//   node dist/examples/canal-style.js       (after `npx tsc`; settings from the environment)
//
// SLUICE_URL (default http://127.0.0.1:11113), SLUICE_DESTINATION (example),
// SLUICE_CLIENT_ID (1001), SLUICE_FILTER (default ".*\\..*"), SLUICE_MAX_ROWS (stop after that
// many rows), SLUICE_IDLE_MS (stop after that long without changes), SLUICE_TOKEN or
// SLUICE_TOKEN_FILE (the bearer token the gateway or server asks for).
import {
  columnValues,
  createSluiceClient,
  EntryType,
  tokenFromEnv,
} from "../src/clients/typescript/index.js";

const env = process.env;
const client = createSluiceClient({
  baseUrl: env.SLUICE_URL ?? "http://127.0.0.1:11113",
  token: tokenFromEnv(),
});
const connector = client.connector({
  destination: env.SLUICE_DESTINATION ?? "example",
  clientId: env.SLUICE_CLIENT_ID ?? "1001",
});
const maxRows = Number(env.SLUICE_MAX_ROWS ?? Number.POSITIVE_INFINITY);
const idleMs = Number(env.SLUICE_IDLE_MS ?? Number.POSITIVE_INFINITY);

await connector.connect();
await connector.subscribe(env.SLUICE_FILTER ?? ".*\\..*");
await connector.rollback(); // canal's habit: start from the last acked position
let printed = 0;
let idleSince = Date.now();
try {
  while (printed < maxRows && Date.now() - idleSince < idleMs) {
    const message = await connector.getWithoutAck(100, { timeoutMs: 500 });
    if (message.id === "") continue; // canal: batchId == -1 || size == 0
    idleSince = Date.now();
    try {
      const lines: string[] = [];
      for (const entry of message.entries) {
        if (entry.entryType !== EntryType.ROWDATA || entry.payload.case !== "rowChange") continue;
        const change = entry.payload.value;
        for (const row of change.rowDatas) {
          // Typed values: INT as number, BIGINT as bigint, DATETIME as Date, BLOB as Buffer.
          const after = columnValues(row.afterColumns);
          const before = columnValues(row.beforeColumns);
          lines.push(
            JSON.stringify(
              { table: `${entry.header?.schemaName}.${entry.header?.tableName}`, after, before },
              (_k, v) => (typeof v === "bigint" ? v.toString() : v),
            ),
          );
        }
      }
      await connector.ack(message.id); // canal: connector.ack(batchId)
      for (const line of lines) process.stdout.write(`${line}\n`);
      printed += lines.length;
    } catch (err) {
      await connector.rollback(message.id).catch(() => {}); // canal: connector.rollback(batchId)
      throw err;
    }
  }
} finally {
  await connector.disconnect();
}
