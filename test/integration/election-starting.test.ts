// A server that won a destination's election says "is starting" (unavailable, NotApplied)
// until it serves: never that it stands by for another runner, which is what a gateway must
// not take for "wait for yet another runner" (issue 22).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { wasNotApplied } from "../../src/contracts/not-applied.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { parseSourceUrl } from "../../src/server/replication/source.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { serverConfig } from "../harness/server-config.js";
import { startTcpProxy } from "../harness/tcp-proxy.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;

before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  dir = makeTempDir("election-starting");
});
after(async () => {
  await Promise.all([db?.stop(), zk?.stop()]);
  removeDir(dir);
});

function config(port: number, sourcePort: number) {
  return serverConfig(db, dir, {
    server: {
      port,
      advertise: `127.0.0.1:${port}`,
      zk: {
        connect: zk.connectString,
        root: "/otter/canal",
        sessionTimeoutMs: 4000,
        regrabDelayMs: 200,
        balance: false,
      },
    },
    destination: { source: { ...parseSourceUrl(db.sourceUrl), port: sourcePort } },
  });
}

test("a standby that takes a destination over says 'is starting' (NotApplied) until it serves, not that it stands by", async () => {
  // The runner reads the source directly; the standby through a proxy that, once the standby
  // waits, swallows everything: it wins the handover at once, then waits for the source.
  const proxy = await startTcpProxy({ host: "127.0.0.1", port: db.port });
  const [portA, portB] = [await freePort(), await freePort()];
  const zkc = await ZkClient.connect(zk.connectString);
  const running = new ZkPaths().destinationRunning("example");
  const a = await startServer(config(portA, db.port));
  let b: RunningServer | undefined;
  try {
    b = await startServer(config(portB, proxy.port));
    const runner = async () => JSON.parse((await zkc.get(running)).data.toString("utf8")).address as string;
    assert.equal(await runner(), `127.0.0.1:${portA}`);
    proxy.blackhole();
    await a.close(); // a graceful handover: the standby competes at once
    await waitFor(
      "the standby to win the election",
      async () => ((await runner().catch(() => "")) === `127.0.0.1:${portB}` ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 20 },
    );
    const canal = createClient(
      CanalService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${portB}`, httpVersion: "1.1" }),
    );
    const err = await canal
      .subscribe({ destination: "example", clientId: "1001" })
      .then(() => undefined)
      .catch((e: unknown) => ConnectError.from(e));
    assert.ok(err, "the new runner served before its source answered");
    assert.equal(err.code, Code.Unavailable, err.message);
    assert.ok(wasNotApplied(err), `no NotApplied detail: ${err.message}`);
    assert.match(err.rawMessage, /is starting/);
    assert.doesNotMatch(err.rawMessage, /stands by/);
    proxy.restore();
    proxy.cutAll(); // the stalled handshake fails at once; the server competes again
    await waitFor(
      "the destination to serve",
      () => canal.subscribe({ destination: "example", clientId: "1001" }).catch(() => undefined),
      { timeoutMs: 30_000 },
    );
  } finally {
    proxy.restore();
    await a.close();
    await b?.close();
    zkc.close();
    await proxy.close();
  }
});
