// One call pipeline (src/protocol/pipeline.ts): a hook registered on a server and on a gateway
// sees every call of every method over every protocol and transport (gRPC and gRPC JSON on h2c;
// gRPC-Web, Connect binary and Connect JSON on HTTP/1.1 and h2c), the fast paths included (the
// server's lean gRPC path for Get/Ack/Rollback, the gateway's byte relays of gRPC and Connect
// Get/Ack/Rollback and of gRPC and binary Connect streams); and a hook that refuses refuses
// every one of them before anything acts: nothing reaches the server behind a refusing
// gateway. The driver
// (test/harness/call-driver.ts) is shared with the security tests.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { silentLogger } from "../../src/common/log.js";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { permissionDenied } from "../../src/protocol/errors.js";
import type { Call, CallHook } from "../../src/protocol/pipeline.js";
import { loadServerConfig } from "../../src/server/config/load.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { writeServerConfig } from "../gateway/cluster.js";
import { everyMethod, METHODS, TRANSPORTS } from "../harness/call-driver.js";
import { startInProcessGateway } from "../harness/gateway.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

/** What a hook saw of one call. */
interface Seen {
  procedure: string;
  protocol: string;
  codec: string;
  httpVersion: string;
  streaming: boolean;
  destination: string;
  clientId: string;
  peer: string;
  ended?: number;
}

/** Counts every call it sees; refuses them all while `refusing`. */
class CountingHook implements CallHook {
  readonly name = "counting (test)";
  refusing = false;
  seen: Seen[] = [];
  readonly #byCall = new WeakMap<Call, Seen>();

  start(call: Call): void {
    const s: Seen = {
      procedure: call.procedure,
      protocol: call.protocol,
      codec: call.codec,
      httpVersion: call.httpVersion,
      streaming: call.streaming,
      destination: call.fields.destination,
      clientId: call.fields.clientId,
      peer: call.peer.address,
    };
    this.seen.push(s);
    this.#byCall.set(call, s);
    if (this.refusing) throw permissionDenied(`refused by the test hook: ${call.procedure}`);
  }

  end(call: Call, outcome: { code: number }): void {
    const s = this.#byCall.get(call);
    if (s) s.ended = outcome.code;
  }
}

describe("the call pipeline", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dir: string;
  let server: RunningServer;
  let gateway: RunningGateway;
  const serverHook = new CountingHook();
  const gatewayHook = new CountingHook();

  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    dir = makeTempDir("call-pipeline");
    const config = writeServerConfig(dir, zk, db);
    server = await startServer(
      loadServerConfig({ argv: ["--config", config, "--port", String(await freePort())], env: {} }),
      silentLogger,
      { hooks: [serverHook] },
    );
    gateway = await startInProcessGateway(zk.connectString, { hooks: [gatewayHook] });
  });
  after(async () => {
    await gateway?.close();
    await server?.close();
    await Promise.all([db?.stop(), zk?.stop()]);
    if (dir) removeDir(dir);
  });

  for (const [target, hook] of [
    ["server", serverHook],
    ["gateway", gatewayHook],
  ] as const) {
    test(`a hook on the ${target} sees every call of every method over every protocol and transport`, async () => {
      const url = target === "server" ? server.url : gateway.url;
      for (const [i, t] of TRANSPORTS.entries()) {
        hook.seen = [];
        const outcomes = await everyMethod(t.make(url), `hooked-${target}-${i}`);
        const seen = hook.seen.map((s) => s.procedure);
        assert.deepEqual(
          [...seen].sort(),
          [...METHODS].sort(),
          `${target}, ${t.name}: the calls the hook saw`,
        );
        for (const s of hook.seen) {
          const what = `${target}, ${t.name}, ${s.procedure}`;
          assert.deepEqual(
            [s.protocol, s.codec, s.httpVersion],
            [t.protocol, t.codec, t.http],
            `${what}: protocol, codec, HTTP version`,
          );
          assert.equal(s.streaming, s.procedure.endsWith("/Stream"), `${what}: streaming`);
          assert.match(s.peer, /^127\.0\.0\.1:\d+$/, `${what}: the peer`);
          if (s.procedure.includes("CanalService")) {
            assert.equal(s.destination, "example", `${what}: destination`);
            assert.match(s.clientId, new RegExp(`^hooked-${target}-${i}`), `${what}: clientId`);
          }
          const got = outcomes.get(s.procedure);
          const code = got === "ok" || got === undefined ? 0 : got.code;
          assert.equal(s.ended, code, `${what}: the hook saw the call end with its code`);
        }
      }
    });

    test(`a hook on the ${target} that refuses refuses every call before anything acts`, async () => {
      const url = target === "server" ? server.url : gateway.url;
      hook.refusing = true;
      try {
        for (const t of TRANSPORTS) {
          hook.seen = [];
          serverHook.seen = target === "gateway" ? [] : serverHook.seen;
          const outcomes = await everyMethod(t.make(url), `refused-${target}`);
          for (const method of METHODS) {
            const got = outcomes.get(method);
            assert.ok(got instanceof ConnectError, `${target}, ${t.name}, ${method}: refused`);
            assert.equal(got.code, Code.PermissionDenied, `${target}, ${t.name}, ${method}: ${got.message}`);
            assert.equal(got.rawMessage, `refused by the test hook: ${method}`);
          }
          assert.equal(hook.seen.length, METHODS.length, `${target}, ${t.name}: every call was seen`);
          assert.ok(
            hook.seen.every((s) => s.ended === Code.PermissionDenied),
            `${target}, ${t.name}: each refusal ended its call`,
          );
          if (target === "gateway") {
            assert.deepEqual(serverHook.seen, [], `${t.name}: nothing reached the server`);
          }
        }
      } finally {
        hook.refusing = false;
      }
      // Nothing was held or subscribed by the refused calls.
      const status = await createClient(
        AdminService,
        createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      ).getDestination({ destination: "example" });
      assert.deepEqual(
        status.destination?.clients.filter((c) => c.clientId.startsWith("refused-")),
        [],
      );
    });
  }
});
