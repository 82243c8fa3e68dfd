// Balance and release: the first server grabs every destination (canal's rule); servers that
// join get their fair share handed over, gracefully, and a consumer of a destination that moves
// loses nothing and gets nothing twice. AdminService.ReleaseDestination moves a destination
// to a named server, and refuses what it cannot do with an error naming why.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { rowIds } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  spawnManaged,
  waitFor,
} from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const DESTINATIONS = ["d1", "d2", "d3", "d4"];

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  await db.query("CREATE DATABASE bal; CREATE TABLE bal.t (id INT PRIMARY KEY)");
  dir = makeTempDir("balance");
  writeFileSync(
    join(dir, "sluice.yaml"),
    [
      "host: 127.0.0.1",
      "metrics: { enabled: false }",
      "zk:",
      `  connect: "${zk.connectString}"`,
      "  sessionTimeout: 2s",
      "  regrabDelay: 200ms",
      "destinations:",
      ...DESTINATIONS.flatMap((d) => [
        `  - name: ${d}`,
        `    source: "${db.sourceUrl}"`,
        "    heartbeat: 1s",
      ]),
      "",
    ].join("\n"),
  );
});
after(async () => {
  await Promise.all([db?.stop(), zk?.stop()]);
  if (!process.env.SLUICE_KEEP) removeDir(dir);
});

interface Server {
  name: string;
  port: number;
  address: string;
  process: ManagedProcess;
  admin: ReturnType<typeof createClient<typeof AdminService>>;
  canal: ReturnType<typeof createClient<typeof CanalService>>;
}

async function startServer(name: string): Promise<Server> {
  const port = await freePort();
  const p = spawnManaged(
    name,
    process.execPath,
    [SLUICE, "server", "--config", join(dir, "sluice.yaml"), "--port", String(port)],
    { logFile: join(dir, `${name}.log`), env: { ...process.env, SLUICE_LOG_LEVEL: "info" } },
  );
  await waitFor(
    `${name} to be ready`,
    async () =>
      (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined,
    {
      timeoutMs: 30_000,
      failIf: () => (p.child.exitCode !== null ? `exited; see ${p.logFile}` : undefined),
    },
  );
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" });
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    process: p,
    admin: createClient(AdminService, transport),
    canal: createClient(CanalService, transport),
  };
}

/** Destination names each server says it runs. */
async function runs(servers: Server[]): Promise<Map<Server, string[]>> {
  const out = new Map<Server, string[]>();
  for (const s of servers) {
    const res = await s.admin.listDestinations({});
    out.set(
      s,
      res.destinations.map((d) => d.name),
    );
  }
  return out;
}

async function waitForLoads(servers: Server[], want: number[], what: string): Promise<Map<Server, string[]>> {
  return waitFor(
    what,
    async () => {
      const r = await runs(servers);
      const loads = [...r.values()].map((n) => n.length).sort((a, b) => b - a);
      const all = [...r.values()].flat().sort();
      return JSON.stringify(loads) === JSON.stringify(want) &&
        JSON.stringify(all) === JSON.stringify(DESTINATIONS)
        ? r
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** Gets and acks d1's rows from whichever server runs it, until `count` rows came. */
async function consume(servers: Server[], count: number, acked: number[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (acked.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${acked.length}/${count} rows acked`);
    let progressed = false;
    for (const s of servers) {
      try {
        await s.canal.subscribe({ destination: "d1", clientId: "mover" });
        const batch = await s.canal.get({
          destination: "d1",
          clientId: "mover",
          batchSize: 50,
          timeoutMs: 300n,
        });
        if (!batch.batchId) continue;
        await s.canal.ack({ destination: "d1", clientId: "mover", batchId: batch.batchId });
        acked.push(...rowIds(batch.entries));
        progressed = true;
        break;
      } catch (err) {
        if (!(err instanceof ConnectError && err.code === Code.Unavailable)) throw err;
      }
    }
    if (!progressed) await new Promise((r) => setTimeout(r, 50));
  }
}

test("joining servers get their share handed over; a consumer of a moved destination loses nothing; release moves one to a named server", async () => {
  const servers: Server[] = [];
  try {
    const a = await startServer("bal-a");
    servers.push(a);
    await waitForLoads(servers, [4], "the first server to run every destination");
    await a.canal.subscribe({ destination: "d1", clientId: "mover" });
    const acked: number[] = [];
    let next = 1;
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) await db.query("INSERT INTO bal.t VALUES (?)", [next++]);
    };
    await write(20);
    await consume(servers, 10, acked);

    const b = await startServer("bal-b");
    servers.push(b);
    const movedAt = Date.now();
    const writes = write(40);
    await waitForLoads(servers, [2, 2], "two servers to run two destinations each");
    process.stdout.write(
      `# balance: a second server ran its share ${Date.now() - movedAt} ms after it was ready\n`,
    );
    await writes;
    const c = await startServer("bal-c");
    servers.push(c);
    const loads = await waitForLoads(servers, [2, 1, 1], "three servers to share four destinations 2/1/1");
    await write(20);
    await consume(servers, 80, acked);
    assert.deepEqual(
      acked,
      Array.from({ length: 80 }, (_, i) => i + 1),
      "d1's consumer acked every row once, in order, across the moves",
    );

    // Release to a named server: from the one running two to one running one.
    const [busy] = [...loads.entries()].find(([, names]) => names.length === 2) ?? [];
    const [idle] = [...loads.entries()].find(([, names]) => names.length === 1) ?? [];
    assert.ok(busy && idle);
    const busyNames = loads.get(busy) as string[];
    const name = busyNames.find((n) => n !== "d1") ?? (busyNames[0] as string);
    const status = await busy.admin.getDestination({ destination: name });
    assert.ok(status.destination?.standbys.includes(idle.address), "the idle server is a standby");
    const releasedAt = Date.now();
    const res = await busy.admin.releaseDestination({ destination: name, toAddress: idle.address });
    assert.equal(res.released?.address, busy.address);
    await waitFor(
      `${name} to run on ${idle.name}`,
      async () => ((await runs([idle])).get(idle)?.includes(name) ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    process.stdout.write(
      `# release: ${name} ran on the named server ${Date.now() - releasedAt} ms after the call\n`,
    );

    // What it cannot do, it refuses, naming why.
    const other = (await runs([idle])).get(idle)?.[0] as string;
    const bad = await idle.admin
      .releaseDestination({ destination: other, toAddress: "nowhere" })
      .catch((e) => e);
    assert.ok(bad instanceof ConnectError && bad.code === Code.InvalidArgument, String(bad));
    assert.match(bad.message, /to_address/);
    const stranger = await idle.admin
      .releaseDestination({ destination: other, toAddress: "127.0.0.1:1" })
      .catch((e) => e);
    assert.ok(
      stranger instanceof ConnectError && stranger.code === Code.FailedPrecondition,
      String(stranger),
    );
    assert.match(stranger.message, /not a live server/);
  } finally {
    for (const s of servers) await s.process.stop();
  }
});
