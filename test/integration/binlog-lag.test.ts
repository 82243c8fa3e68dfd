// sluice_binlog_lag_seconds while the source is idle: 0 once a heartbeat says nothing is left to
// read; without heartbeats it can only grow with the age of the last change read.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/common/log.js";
import type { ServerConfig } from "../../src/server/config/types.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { sleep } from "../harness/entries.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { serverConfig } from "../harness/server-config.js";

function config(db: MariaDB, dataDir: string, heartbeatMs: number): ServerConfig {
  return serverConfig(db, dataDir, {
    server: { metrics: { enabled: true, host: "127.0.0.1", port: 0 } },
    destination: { heartbeatMs },
  });
}

async function lag(server: RunningServer): Promise<number | undefined> {
  const text = await (await fetch(server.metricsUrl as string)).text();
  const line = text.split("\n").find((l) => l.startsWith("sluice_binlog_lag_seconds{"));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("binlog lag while the source is idle", () => {
  let db: MariaDB;
  let dataDir: string;
  let server: RunningServer | undefined;
  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY)");
    dataDir = makeTempDir("binlog-lag");
  });
  after(async () => {
    await server?.close();
    await db?.stop();
    removeDir(dataDir);
  });

  test("with heartbeats: 0 once caught up, however old the last change is", async () => {
    server = await startServer(config(db, dataDir, 500), silentLogger);
    await db.query("INSERT INTO shop.t VALUES (1)");
    await sleep(2500); // the last change is now 2.5 s old
    const s = server;
    assert.equal(
      await waitFor("a heartbeat to say so", async () => ((await lag(s)) === 0 ? 0 : undefined), {
        timeoutMs: 5000,
      }),
      0,
    );
    await server.close();
    server = undefined;
  });

  test("without heartbeats: the age of the last change read", async () => {
    server = await startServer(config(db, `${dataDir}/b`, 0), silentLogger);
    await db.query("INSERT INTO shop.t VALUES (2)");
    await sleep(2500);
    const value = await lag(server);
    // In seconds: 2.5 s and a little more, with the source's whole-second timestamps.
    assert.ok(value !== undefined && value >= 2 && value < 60, `lag ${value}`);
  });
});
