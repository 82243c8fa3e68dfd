// End-to-end throughput of the TypeScript client on loopback: MariaDB binlog -> `sluice server`
// (its own process) -> client.stream() -> batch.ack(), per transport. Every consumer reads the
// same rows from its own clientId, so each figure includes the server reading and decoding the
// binlog, building batches, the wire, and a durable ack per batch.
//
//   npx tsc -p tsconfig.json && node dist/bench/client/stream.js [--rows 200000] [--batch-size 1000]
//     [--window 4] [--rows-per-tx 10] [--transports connect-1.1,connect-2,grpc,grpc-web]

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { startMariaDB } from "../../test/harness/mariadb.js";
import { makeTempDir, removeDir } from "../../test/harness/processes.js";
import { startSluiceServer } from "../../test/harness/sluice-server.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "200000" },
    "batch-size": { type: "string", default: "1000" },
    window: { type: "string", default: "4" },
    transports: { type: "string", default: "connect-1.1,connect-2,grpc,grpc-web" },
    "rows-per-tx": { type: "string", default: "10" },
  },
});
const rows = Number(values.rows);
const batchSize = Number(values["batch-size"]);
const window = Number(values.window);
const rowsPerTx = Number(values["rows-per-tx"]);
const transports = (values.transports ?? "").split(",").map((name) => {
  switch (name) {
    case "connect-1.1":
      return { name, transport: "connect", httpVersion: "1.1" } as const;
    case "connect-2":
      return { name, transport: "connect", httpVersion: "2" } as const;
    case "grpc":
      return { name, transport: "grpc", httpVersion: "2" } as const;
    case "grpc-web":
      return { name, transport: "grpc-web", httpVersion: "1.1" } as const;
    default:
      throw new Error(`unknown transport "${name}": use connect-1.1, connect-2, grpc, grpc-web`);
  }
});
if (new Set(transports.map((t) => t.name)).size !== transports.length)
  throw new Error("name each transport once");

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

const db = await startMariaDB();
const dataDir = makeTempDir("bench-client");
let server: Awaited<ReturnType<typeof startSluiceServer>> | undefined;
try {
  await db.query(
    "CREATE DATABASE bench; CREATE TABLE bench.t (id INT PRIMARY KEY, k INT, c VARCHAR(120), pad VARCHAR(60))",
  );
  server = await startSluiceServer({ name: "server", sourceUrl: db.sourceUrl, dataDir });
  const url = server.url;
  for (const t of transports) {
    await createSluiceClient({ baseUrl: url }).canal.subscribe({ destination: "example", clientId: t.name });
  }
  // Autocommitted INSERTs of rowsPerTx rows each (one transaction, one rows event each), sent
  // 100 statements per round trip.
  for (let i = 0; i < rows; ) {
    const statements: string[] = [];
    for (let s = 0; s < 100 && i < rows; s++) {
      const n = Math.min(rowsPerTx, rows - i);
      const tuples = Array.from(
        { length: n },
        (_, j) => `(${i + j + 1}, ${(i + j) % 1000}, '${"c".repeat(100)}-${i + j}', '${"p".repeat(50)}')`,
      );
      statements.push(`INSERT INTO bench.t VALUES ${tuples.join(",")}`);
      i += n;
    }
    await db.query(statements.join(";"));
  }
  process.stdout.write(
    `rows ${rows} in transactions of ${rowsPerTx}, batch size ${batchSize} entries, window ${window}, one clientId per transport; server and client on loopback\n`,
  );
  process.stdout.write(
    "transport      rows/s   seconds  batches  rows  client CPU s  server CPU s  client CPU µs/row\n",
  );
  const serverPid = server.process.child.pid as number;
  for (const t of transports) {
    const client = createSluiceClient({ baseUrl: url, transport: t.transport, httpVersion: t.httpVersion });
    let got = 0;
    let batches = 0;
    let lastId = 0;
    const start = performance.now();
    const clientCpu = process.cpuUsage();
    const serverCpu = cpuSeconds(serverPid);
    for await (const batch of client.stream({
      destination: "example",
      clientId: t.name,
      batchSize,
      window,
    })) {
      const batchRows = batch.rows();
      for (const row of batchRows) {
        const id = Number(row.after?.id);
        if (id !== lastId + 1) throw new Error(`${t.name}: row ${id} after ${lastId}`);
        lastId = id;
      }
      got += batchRows.length;
      batches++;
      if (!(await batch.ack())) throw new Error(`${t.name}: an ack was refused`);
      if (got >= rows) break;
    }
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(clientCpu);
    const clientSeconds = (used.user + used.system) / 1e6;
    const serverSeconds = cpuSeconds(serverPid) - serverCpu;
    process.stdout.write(
      `${t.name.padEnd(12)} ${String(Math.round(got / seconds)).padStart(8)} ${seconds.toFixed(2).padStart(9)} ${String(batches).padStart(8)}  ${got}  ${clientSeconds.toFixed(2).padStart(12)}  ${serverSeconds.toFixed(2).padStart(12)}  ${((clientSeconds * 1e6) / got).toFixed(1).padStart(17)}\n`,
    );
  }
} finally {
  await server?.stop();
  await db.stop();
  removeDir(dataDir);
}
