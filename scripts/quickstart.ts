// The README's first command: starts a private MariaDB and ZooKeeper, a sluice server, a
// small write workload, and a consumer that streams the row changes, prints them and acks.
//   node dist/scripts/quickstart.js [--seconds N]
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CanalService } from "../src/gen/sluice/v1/canal_service_pb.js";
import { startMariaDB } from "../test/harness/mariadb.js";
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  spawnManaged,
  waitFor,
} from "../test/harness/processes.js";
import { startZooKeeper } from "../test/harness/zookeeper.js";
import { formatChange } from "./quickstart-decode.js";

const { values } = parseArgs({
  options: { seconds: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log(
    "Usage: bash scripts/quickstart.sh [--seconds N]\nStops by itself after N seconds, else on Ctrl-C.",
  );
  process.exit(0);
}
const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
if (seconds !== undefined && !(seconds > 0)) {
  console.error(`--seconds must be a positive number, got "${values.seconds}"`);
  process.exit(2);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const SLUICE = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

say("sluice quickstart: starting a private MariaDB and ZooKeeper on loopback ...");
const [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
const work = makeTempDir("quickstart");
let stopping = false;
const cleanups: Array<() => Promise<void> | void> = [() => db.stop(), () => zk.stop(), () => removeDir(work)];
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  }
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  await db.query(
    "CREATE DATABASE shop; CREATE TABLE shop.orders (" +
      "id INT PRIMARY KEY AUTO_INCREMENT, item VARCHAR(40) NOT NULL, qty INT NOT NULL, " +
      "price DECIMAL(10,2) NOT NULL, status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new', " +
      "created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))",
  );

  const port = await freePort();
  const server: ManagedProcess = spawnManaged(
    "sluice-server",
    process.execPath,
    [
      SLUICE,
      "server",
      "--host=127.0.0.1",
      `--port=${port}`,
      `--source=${db.sourceUrl}`,
      "--destination=example",
      `--zk=${zk.connectString}`,
      "--metrics-port=off",
    ],
    { logFile: join(work, "server.log"), env: { ...process.env, SLUICE_LOG_LEVEL: "warn" } },
  );
  cleanups.push(() => server.stop());
  await waitFor(
    "the sluice server",
    async () =>
      (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined,
    {
      timeoutMs: 30_000,
      failIf: () => (server.child.exitCode !== null ? `exited; see ${server.logFile}` : undefined),
    },
  );
  const url = `http://127.0.0.1:${port}`;

  say("");
  say(`  MariaDB    127.0.0.1:${db.port}   source ${db.sourceUrl}`);
  say(`  ZooKeeper  ${zk.connectString}   canal's layout under /otter/canal`);
  say(`  server     ${url}   destination "example", elected through ZooKeeper, cursors there`);
  say("  Not running yet, because they are not built yet: a second server as hot standby, the");
  say("  gateway. The consumer below streams from the server directly.");
  say("");
  say("  Try it from another shell while this runs:");
  say(
    `    curl -s -H 'Content-Type: application/json' --data '{}' ${url}/sluice.v1.AdminService/ListDestinations`,
  );
  say("");
  say("Writing to shop.orders every second; a consumer (clientId 1001) streams, prints and acks:");
  say("");

  const canal = createClient(CanalService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
  // Subscribing stores the consumer's cursor at the current head: everything written from
  // now on reaches it, whenever its stream starts.
  await canal.subscribe({ destination: "example", clientId: "1001" });
  const abort = new AbortController();
  cleanups.push(() => abort.abort());
  let changes = 0;
  const consumer = (async () => {
    const stream = canal.stream(
      { destination: "example", clientId: "1001", batchSize: 100, flat: true },
      { signal: abort.signal },
    );
    for await (const msg of stream) {
      if (msg.message.case !== "batch") continue;
      for (const flat of msg.message.value.flatMessages) {
        for (const line of formatChange(flat)) {
          changes++;
          say(`  ${line}`);
        }
      }
      await canal.ack({ destination: "example", clientId: "1001", batchId: msg.message.value.batchId });
    }
  })().catch((err: Error) => {
    if (!stopping && !abort.signal.aborted) {
      console.error(`consumer stopped: ${err.message}`);
      void shutdown(1);
    }
  });

  const items = ["kettle", "teapot", "mug", "saucer", "spoon", "tea caddy"];
  let n = 0;
  const deadline = seconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + seconds * 1000;
  while (!stopping && Date.now() < deadline) {
    n++;
    const item = items[n % items.length];
    await db.query("INSERT INTO shop.orders (item, qty, price) VALUES (?, ?, ?)", [
      item,
      (n % 3) + 1,
      `${n}.50`,
    ]);
    if (n % 2 === 0) await db.query("UPDATE shop.orders SET status = 'paid' WHERE id = ?", [n - 1]);
    if (n % 5 === 0) await db.query("DELETE FROM shop.orders WHERE id = ?", [n - 4]);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Let the last changes arrive before stopping.
  await new Promise((r) => setTimeout(r, 1000));
  abort.abort();
  await consumer;
  say("");
  say(`Done: ${n} write rounds, ${changes} row changes streamed and acked. Stopping everything.`);
  await shutdown(0);
} catch (err) {
  console.error(`quickstart failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
