// The README's first command: starts a private MariaDB and ZooKeeper, every Sluice part that
// exists so far, a small write workload, and prints the row changes as they flow.
//   node dist/scripts/quickstart.js [--seconds N]
import { parseArgs } from "node:util";
import { ZkClient } from "../src/common/zk/client.js";
import { ZkPaths } from "../src/common/zk/paths.js";
import { BinlogReader } from "../src/server/parse/binlog-reader.js";
import { EntryBuilder } from "../src/server/parse/entry-builder.js";
import { toFlatMessage } from "../src/server/parse/flat-message.js";
import { parseSourceUrl } from "../src/server/replication/source.js";
import { startMariaDB } from "../test/harness/mariadb.js";
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

say("sluice quickstart: starting a private MariaDB and ZooKeeper on loopback ...");
const [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
let stopping = false;
const cleanups: Array<() => Promise<void> | void> = [() => db.stop(), () => zk.stop()];
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
  const zkClient = await ZkClient.connect(zk.connectString);
  cleanups.push(() => zkClient.close());
  await zkClient.ensurePath(new ZkPaths().destinations());

  await db.query(
    "CREATE DATABASE shop; CREATE TABLE shop.orders (" +
      "id INT PRIMARY KEY AUTO_INCREMENT, item VARCHAR(40) NOT NULL, qty INT NOT NULL, " +
      "price DECIMAL(10,2) NOT NULL, status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new', " +
      "created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))",
  );

  let builder: EntryBuilder | undefined;
  let changes = 0n;
  const reader = new BinlogReader({
    source: parseSourceUrl(db.sourceUrl),
    onEvent(e) {
      builder ??= new EntryBuilder({ flavor: reader.serverInfo?.flavor ?? "mysql" });
      const entry = builder.build(e);
      const flat = entry && toFlatMessage(entry, changes + 1n);
      if (!flat) return;
      changes++;
      for (const line of formatChange(flat)) say(`  ${line}`);
    },
    onFatal(err) {
      console.error(`binlog reader stopped: ${err.message}`);
      void shutdown(1);
    },
  });
  await reader.start();
  cleanups.push(() => reader.stop());
  const info = reader.serverInfo;
  const boundary = reader.boundary;

  say("");
  say(`  MariaDB ${info?.version}  127.0.0.1:${db.port}  (binlog ROW, row metadata FULL)`);
  say(`            source URL for sluice: ${db.sourceUrl}`);
  say(`  ZooKeeper 127.0.0.1:${zk.nodes[0]?.clientPort}  (${new ZkPaths().root} ready)`);
  say("  Not part of the quickstart yet, because they are not built yet: two sluice servers, the");
  say("  gateway, clients. Until then it shows the binlog engine: a replica connection that");
  say("  streams the binlog, decodes each row change and turns it into canal's entries.");
  say("");
  say(`Writing to shop.orders every second; row changes from ${boundary.file}:${boundary.position} on:`);
  say("");

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
  await new Promise((r) => setTimeout(r, 500));
  say("");
  say(`Done: ${n} write rounds, ${changes} row changes seen. Stopping MariaDB and ZooKeeper.`);
  await shutdown(0);
} catch (err) {
  console.error(`quickstart failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
