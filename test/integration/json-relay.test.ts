// Connect JSON Get, Ack and Rollback through the gateway, relayed as bytes (src/gateway/raw-unary.ts):
// the caller's JSON goes to the server as a Connect JSON call and the server's JSON answer, made
// from the JSON form it keeps of each entry (src/server/encode/json-responses.ts), comes back
// unparsed; byte for byte what connect-es writes for the same GetResponse; errors with the
// typed path's codes, messages, details and retry-after-ms. Server and gateway run in this
// process, so the test can count the JSON forms the server made.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { silentLogger } from "../../src/common/log.js";
import { ZkClient } from "../../src/common/zk/client.js";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import { CanalService, GetResponseSchema } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { loadServerConfig } from "../../src/server/config/load.js";
import { entryJsonFormsMade } from "../../src/server/encode/json-responses.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { writeServerConfig } from "../gateway/cluster.js";
import { rowIds } from "../harness/entries.js";
import { startInProcessGateway } from "../harness/gateway.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

describe("Connect JSON through the gateway", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dir: string;
  let server: RunningServer;
  let gateway: RunningGateway;

  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    await db.query("CREATE DATABASE IF NOT EXISTS shop");
    await db.query("CREATE TABLE shop.notes (id INT PRIMARY KEY, note VARCHAR(20))");
    dir = makeTempDir("json-relay");
    const config = writeServerConfig(dir, zk, db);
    server = await startServer(
      loadServerConfig({ argv: ["--config", config, "--port", String(await freePort())], env: {} }),
      silentLogger,
    );
    gateway = await startInProcessGateway(zk.connectString, { holdMs: 300 });
  });
  after(async () => {
    await gateway?.close();
    await server?.close();
    await Promise.all([db?.stop(), zk?.stop()]);
    if (dir) removeDir(dir);
  });

  const json = (httpVersion: "1.1" | "2") =>
    createClient(
      CanalService,
      createConnectTransport({ baseUrl: gateway.url, httpVersion, useBinaryFormat: false }),
    );
  const typed = () =>
    createClient(CanalService, createGrpcWebTransport({ baseUrl: gateway.url, httpVersion: "1.1" }));

  /** A call's raw answer through the gateway, over HTTP/1.1. */
  async function post(
    method: string,
    body: object,
  ): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const res = await fetch(`${gateway.url}/sluice.v1.CanalService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  test("a Get's answer is the server's JSON, relayed unparsed: connect-es's bytes for the same GetResponse", async () => {
    const c = json("1.1");
    const sub = await c.subscribe({ destination: "example", clientId: "relay-1", filter: "shop\\.notes" });
    for (const [i, note] of ["plain", 'q" \\ \t é', "ctl \u0001"].entries())
      await db.query("INSERT INTO shop.notes VALUES (?, ?)", [i + 1, note]);
    const request = {
      destination: "example",
      clientId: "relay-1",
      session: sub.session,
      batchSize: 10,
      timeoutMs: "5000",
      flat: true,
    };
    const made = entryJsonFormsMade();
    let got = await post("Get", request);
    for (let tries = 0; tries < 20 && JSON.parse(got.body.toString()).entries?.length !== 9; tries++) {
      // Not all three transactions were in the store yet: give them back and ask again.
      await c.rollback({ destination: "example", clientId: "relay-1", session: sub.session });
      await new Promise((r) => setTimeout(r, 100));
      got = await post("Get", request);
    }
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("sluice-relay"), "bytes");
    assert.equal(got.headers.get("content-type"), "application/json");
    const answer = fromJsonString(GetResponseSchema, got.body.toString("utf8"));
    assert.deepEqual(rowIds(answer.entries), [1, 2, 3]);
    assert.ok(
      entryJsonFormsMade() - made >= 9,
      "the server wrote the entries' JSON (the gateway asked it in JSON, not in gRPC)",
    );
    // The typed path (gRPC-Web through connect-es) gives the same GetResponse: connect-es's JSON
    // of it is the relayed body, byte for byte (batchId and flat timestamps are the call's own).
    await c.rollback({ destination: "example", clientId: "relay-1", session: sub.session });
    const viaTyped = await typed().get({ ...request, timeoutMs: 5000n });
    viaTyped.batchId = answer.batchId;
    viaTyped.flatMessages.forEach((m, i) => {
      m.ts = answer.flatMessages[i]?.ts ?? 0n;
      m.id = answer.flatMessages[i]?.id ?? 0n;
    });
    assert.equal(viaTyped.flatMessages.length, 3);
    assert.ok(viaTyped.epoch > 0n);
    assert.ok(
      got.body.equals(Buffer.from(new TextEncoder().encode(toJsonString(GetResponseSchema, viaTyped)))),
    );
    // Ack and Rollback relayed the same way, over HTTP/1.1 and HTTP/2.
    await c.rollback({ destination: "example", clientId: "relay-1", session: sub.session });
    const again = await json("2").get({ ...request, timeoutMs: 5000n });
    assert.deepEqual(again.entries, viaTyped.entries);
    const acked = await post("Ack", {
      destination: "example",
      clientId: "relay-1",
      session: sub.session,
      batchId: again.batchId,
    });
    assert.equal(acked.status, 200, acked.body.toString());
    assert.equal(acked.headers.get("sluice-relay"), "bytes");
    assert.ok(JSON.parse(acked.body.toString()).cursor.journalName);
  });

  test("errors: the typed path's codes, messages, details and retry-after-ms, over HTTP/1.1 and HTTP/2", async () => {
    const zkc = await ZkClient.connect(zk.connectString);
    try {
      // A destination without a runner: the gateway waits --hold, then unavailable with retry-after-ms.
      await zkc.ensurePath("/otter/canal/destinations/ghost");
    } finally {
      await zkc.close();
    }
    const sub = await json("1.1").subscribe({ destination: "example", clientId: "relay-2" });
    const outcome = async (p: Promise<unknown>) => {
      try {
        await p;
        return { ok: true };
      } catch (err) {
        const e = ConnectError.from(err);
        return {
          code: e.code,
          message: e.rawMessage,
          retry: e.metadata.get("retry-after-ms"),
          details: e.details.map((d) => ("type" in d ? d.type : d.desc.typeName)),
        };
      }
    };
    const calls: Array<[string, (c: ReturnType<typeof typed>) => Promise<unknown>]> = [
      ["Get before its session", (c) => c.get({ destination: "example", clientId: "relay-2", batchSize: 1 })],
      [
        "Get with a bad batchSize (the server's error)",
        (c) => c.get({ destination: "example", clientId: "relay-2", batchSize: 0, session: sub.session }),
      ],
      [
        "Ack of an unknown batch (the server's error)",
        (c) => c.ack({ destination: "example", clientId: "relay-2", batchId: "1-999", session: sub.session }),
      ],
      [
        "Rollback of an unknown batch (the server's error)",
        (c) =>
          c.rollback({ destination: "example", clientId: "relay-2", batchId: "1-999", session: sub.session }),
      ],
      [
        "Get of a destination without a runner",
        (c) => c.get({ destination: "ghost", clientId: "x", batchSize: 1 }),
      ],
      ["Get of an unknown destination", (c) => c.get({ destination: "nope", clientId: "x", batchSize: 1 })],
    ];
    for (const [what, call] of calls) {
      const reference = await outcome(call(typed()));
      assert.notDeepEqual(reference, { ok: true }, what);
      for (const http of ["1.1", "2"] as const) {
        assert.deepEqual(await outcome(call(json(http))), reference, `${what}, JSON over HTTP/${http}`);
      }
    }
  });
});
