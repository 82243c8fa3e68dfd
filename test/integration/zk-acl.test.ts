// ZooKeeper ACLs (docs/security.md, "ZooKeeper"), against the harness's real ZooKeeper:
// with credentials, every node Sluice creates is writable only with them, canal's layout stays
// readable by anyone; a server and a gateway work end to end with them; a tree made without
// credentials is listed at startup and fixed by `sluice zk-acl --apply`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { digestId, sluiceAclPolicy, WORLD_ALL, WORLD_READ, ZK_PERM } from "../../src/common/zk/acl.js";
import { ZkClient, ZkError, ZOO_EPHEMERAL } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { SLUICE, startSluiceGateway, startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const ZK_USER = "sluice-ops";
const ZK_PASSWORD = "zk-Pw-5e1d0c4b";
const credentials = { user: ZK_USER, password: ZK_PASSWORD };

let zk: ZooKeeper;
let db: MariaDB;
let dir: string;
const stops: Array<() => Promise<void> | void> = [];

before(async () => {
  [zk, db] = await Promise.all([startZooKeeper(), startMariaDB()]);
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dir = makeTempDir("zk-acl");
  writeFileSync(join(dir, "zk.pw"), `${ZK_PASSWORD}\n`);
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
  await Promise.all([zk?.stop(), db?.stop()]);
  if (dir) removeDir(dir);
});

/** The ZkError code a promise rejects with ("ok" when it resolves). */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ZkError) return err.code;
    throw err;
  }
}

async function anonymous(): Promise<ZkClient> {
  const c = await ZkClient.connect(zk.connectString);
  stops.push(() => c.close());
  return c;
}

describe("ZkClient with credentials", () => {
  test("creates every node with the policy's ACL; others can read canal's layout and change nothing", async () => {
    const paths = new ZkPaths("/acl-unit/canal");
    const policy = sluiceAclPolicy(paths, credentials);
    const owner = await ZkClient.connect(zk.connectString, { credentials, acl: policy });
    stops.push(() => owner.close());
    const cursor = paths.clientCursor("d", "1001");
    await owner.ensurePath(cursor.slice(0, cursor.lastIndexOf("/")));
    await owner.create(cursor, '{"x":1}');
    await owner.create(paths.clientRunning("d", "1001"), "{}", ZOO_EPHEMERAL);
    await owner.ensurePath(paths.handoff("d").slice(0, paths.handoff("d").lastIndexOf("/")));
    await owner.create(paths.handoff("d"), "{}", ZOO_EPHEMERAL);

    const mine = { perms: ZK_PERM.ALL, scheme: "digest", auth: digestId(credentials) };
    for (const path of [
      "/acl-unit",
      "/acl-unit/canal",
      paths.destination("d"),
      paths.client("d", "1001"),
      cursor,
    ]) {
      const { acl } = await owner.getAcl(path);
      assert.deepEqual(
        acl.sort((a, b) => a.scheme.localeCompare(b.scheme)),
        [mine, WORLD_READ],
        path,
      );
    }
    assert.deepEqual((await owner.getAcl(paths.handoff("d"))).acl, [mine]);
    assert.deepEqual((await owner.getAcl(paths.sluiceTree())).acl, [mine]);

    // Without the credentials: reads of canal's layout work, nothing else does.
    const other = await anonymous();
    assert.equal((await other.get(cursor)).data.toString(), '{"x":1}');
    assert.equal(await outcome(other.set(cursor, '{"x":2}')), "NOAUTH");
    assert.equal(await outcome(other.delete(cursor)), "NOAUTH");
    assert.equal(await outcome(other.delete(paths.clientRunning("d", "1001"))), "NOAUTH");
    assert.equal(await outcome(other.create(paths.clientFilter("d", "1001"), "x")), "NOAUTH");
    assert.equal(await outcome(other.setAcl(cursor, [WORLD_ALL])), "NOAUTH");
    assert.equal(await outcome(other.get(paths.handoff("d"))), "NOAUTH");
    // With the right user but another password, the same.
    const wrong = await ZkClient.connect(zk.connectString, {
      credentials: { user: ZK_USER, password: "nope" },
    });
    stops.push(() => wrong.close());
    assert.equal(await outcome(wrong.set(cursor, '{"x":3}')), "NOAUTH");
    // With them, everything.
    await owner.set(cursor, '{"x":4}');
    assert.equal((await other.get(cursor)).data.toString(), '{"x":4}');
    owner.close();
    await waitFor(
      "the ephemeral nodes to go",
      async () => ((await other.exists(paths.clientRunning("d", "1001"))) ? undefined : true),
      { timeoutMs: 10_000 },
    );
  });
});

/** Runs `sluice zk-acl` with the credentials in the environment; returns exit code and stdout. */
function zkAcl(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SLUICE, "zk-acl", "--zk", zk.connectString, ...args], {
    encoding: "utf8",
    env: { ...process.env, SLUICE_ZK_USER: ZK_USER, SLUICE_ZK_PASSWORD: ZK_PASSWORD },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("a server and a gateway with credentials", () => {
  test("work end to end; a session without them cannot delete a running node or rewrite a cursor", async () => {
    // The root's tree is made by a server without credentials first (an upgrade): listed at
    // startup by the server with them, then fixed by `sluice zk-acl --apply`.
    const config = writeServerConfig(dir, zk, db);
    const open = await startSluiceServer(dir, "open-server", await freePort(), config);
    await open.stop();

    const serverPort = await freePort();
    const server = await startSluiceServer(dir, "server", serverPort, config, {
      env: { SLUICE_ZK_USER: ZK_USER, SLUICE_ZK_PASSWORD_FILE: join(dir, "zk.pw") },
    });
    stops.push(() => server.stop());
    const gwPort = await freePort();
    const gateway = await startSluiceGateway(dir, "gateway", gwPort, zk, ["--zk-user", ZK_USER], {
      SLUICE_ZK_PASSWORD: ZK_PASSWORD,
    });
    stops.push(() => gateway.stop());

    const warning = await waitFor(
      "the server's warning of nodes without the ACL",
      async () => /WARN .*lack Sluice's ACL.*/.exec(readFileSync(server.logFile, "utf8"))?.[0],
      { timeoutMs: 10_000 },
    );
    for (const path of ["/otter/canal ", "/otter/canal/destinations/example ", "/otter/canal/cluster "]) {
      assert.ok(warning.includes(`${path}(world:anyone:cdrwa)`), `${path} in ${warning}`);
    }
    assert.match(warning, /sluice zk-acl --apply/);

    const listed = zkAcl([]);
    assert.equal(listed.status, 1, listed.stderr);
    assert.match(
      listed.stdout,
      /nodes under \/otter\/canal lack the ACL:\n {2}\/otter\/canal \(world:anyone:cdrwa\)/,
    );
    const applied = zkAcl(["--apply"]);
    assert.equal(applied.status, 0, applied.stdout + applied.stderr);
    const clean = zkAcl([]);
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^all \d+ nodes under \/otter\/canal carry the ACL/);

    // Consume through the gateway: hold, rows, ack (a cursor write).
    const client = createClient(
      CanalService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${gwPort}`, httpVersion: "1.1" }),
    );
    const { session } = await client.subscribe({ destination: "example", clientId: "1001" });
    await db.query("INSERT INTO shop.orders VALUES (1,'kettle'), (2,'teapot')");
    let rows = 0;
    const deadline = Date.now() + 30_000;
    while (rows < 2 && Date.now() < deadline) {
      const got = await client.get({
        destination: "example",
        clientId: "1001",
        session,
        batchSize: 100,
        timeoutMs: 1000n,
      });
      if (!got.batchId) continue;
      for (const e of got.entries)
        if (e.payload.case === "rowChange") rows += e.payload.value.rowDatas.length;
      await client.ack({ destination: "example", clientId: "1001", session, batchId: got.batchId });
    }
    assert.equal(rows, 2);

    const paths = new ZkPaths();
    const other = await anonymous();
    const cursor = paths.clientCursor("example", "1001");
    const stored = (await other.get(cursor)).data.toString();
    assert.match(stored, /"postion"/, "canal's cursor JSON, readable by anyone");
    assert.match((await other.get(paths.destinationRunning("example"))).data.toString(), /"active":true/);
    assert.equal(await outcome(other.delete(paths.destinationRunning("example"))), "NOAUTH");
    assert.equal(await outcome(other.delete(paths.clientRunning("example", "1001"))), "NOAUTH");
    assert.equal(
      await outcome(other.set(cursor, stored.replace(/"position":\d+/, '"position":4'))),
      "NOAUTH",
    );
    assert.equal(await outcome(other.delete(cursor)), "NOAUTH");
    assert.equal(await outcome(other.delete(paths.server(`127.0.0.1:${serverPort}`))), "NOAUTH");
    assert.equal((await other.get(cursor)).data.toString(), stored, "the cursor is as the server wrote it");

    // Still served: another row comes and is acked.
    await db.query("INSERT INTO shop.orders VALUES (3,'cup')");
    let more = 0;
    while (more < 1 && Date.now() < deadline + 10_000) {
      const got = await client.get({
        destination: "example",
        clientId: "1001",
        session,
        batchSize: 100,
        timeoutMs: 1000n,
      });
      if (!got.batchId) continue;
      for (const e of got.entries)
        if (e.payload.case === "rowChange") more += e.payload.value.rowDatas.length;
      await client.ack({ destination: "example", clientId: "1001", session, batchId: got.batchId });
    }
    assert.equal(more, 1);
    assert.notEqual((await other.get(cursor)).data.toString(), stored, "the server moved the cursor");

    for (const log of [server.logFile, gateway.logFile]) {
      const text = readFileSync(log, "utf8");
      assert.ok(!text.includes(ZK_PASSWORD), `no ZooKeeper password in ${log}`);
      assert.ok(!text.includes(digestId(credentials).split(":")[1] as string), `no digest in ${log}`);
    }
    assert.match(readFileSync(gateway.logFile, "utf8"), /gateway serving .*zkUser=sluice-ops/);
  });
});
