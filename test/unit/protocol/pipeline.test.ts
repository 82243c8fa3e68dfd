// The call pipeline's rules: hooks start in order and end in reverse, a refusal ends the hooks
// that started (the refusing one too) and stops the rest, a waiting hook is waited for, and a
// call that ended while a hook waited starts no hook after it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { permissionDenied } from "../../../src/protocol/errors.js";
import {
  Call,
  type CallHook,
  CallPipeline,
  nodeCallHeaders,
  protocolOf,
} from "../../../src/protocol/pipeline.js";

function call(message: unknown = { destination: "example", clientId: "1001", session: "7.1001" }): Call {
  return new Call({
    service: "sluice.v1.CanalService",
    method: "Get",
    streaming: false,
    ...protocolOf("application/grpc+proto"),
    httpVersion: "2",
    headers: nodeCallHeaders({ "x-token": "t", "x-many": ["a", "b"] }),
    socket: { remoteAddress: "::1", remotePort: 4242 },
    message,
  });
}

function recorder(log: string[], name: string, start?: (c: Call) => void | Promise<void>): CallHook {
  return {
    name,
    start(c) {
      log.push(`start ${name}`);
      return start?.(c);
    },
    end(_c, o) {
      log.push(`end ${name} ${o.code}`);
    },
  };
}

test("a call as hooks see it: names, protocol, peer, headers, fields", () => {
  const c = call();
  assert.equal(c.procedure, "sluice.v1.CanalService/Get");
  assert.deepEqual([c.protocol, c.codec], ["grpc", "proto"]);
  assert.deepEqual(protocolOf("application/grpc-web+json"), { protocol: "grpc-web", codec: "json" });
  assert.deepEqual(protocolOf("application/json"), { protocol: "connect", codec: "json" });
  assert.deepEqual(c.peer, { address: "[::1]:4242", certificate: undefined, authorized: false });
  assert.equal(c.header("x-token"), "t");
  assert.equal(c.header("x-many"), "a, b");
  assert.equal(c.header("nope"), undefined);
  assert.deepEqual(c.fields, { destination: "example", clientId: "1001", session: "7.1001" });
  assert.deepEqual(call({}).fields, { destination: "", clientId: "", session: "" });
});

test("hooks start in order and end in reverse, once", () => {
  const log: string[] = [];
  const p = new CallPipeline([recorder(log, "a"), recorder(log, "b")]);
  const c = call();
  assert.equal(p.start(c), undefined, "no hook waits: no promise");
  p.end(c);
  p.end(c, Code.Internal);
  assert.deepEqual(log, ["start a", "start b", "end b 0", "end a 0"]);
});

test("a refusal ends the hooks that started, stops the others, and is thrown as it was", () => {
  const log: string[] = [];
  const refusal = permissionDenied("not you");
  const p = new CallPipeline([
    recorder(log, "a"),
    recorder(log, "b", () => {
      throw refusal;
    }),
    recorder(log, "c"),
  ]);
  assert.throws(
    () => p.start(call()),
    (e) => e === refusal,
  );
  assert.deepEqual(log, [
    "start a",
    "start b",
    `end b ${Code.PermissionDenied}`,
    `end a ${Code.PermissionDenied}`,
  ]);
  // A hook that fails with something else refuses with internal, naming itself.
  const broken = new CallPipeline([
    {
      name: "broken",
      start() {
        throw new Error("boom");
      },
    },
  ]);
  assert.throws(
    () => broken.start(call()),
    (e) =>
      e instanceof ConnectError &&
      e.code === Code.Internal &&
      /the broken check failed: Error: boom/.test(e.message),
  );
});

test("a waiting hook is waited for; a refusal after it rejects", async () => {
  const log: string[] = [];
  const p = new CallPipeline([
    recorder(log, "a", () => new Promise((r) => setTimeout(r, 10))),
    recorder(log, "b", () => Promise.reject(new ConnectError("later", Code.Unauthenticated))),
    recorder(log, "c"),
  ]);
  const c = call();
  const waiting = p.start(c);
  assert.ok(waiting instanceof Promise);
  await assert.rejects(waiting, (e) => e instanceof ConnectError && e.code === Code.Unauthenticated);
  assert.deepEqual(log, [
    "start a",
    "start b",
    `end b ${Code.Unauthenticated}`,
    `end a ${Code.Unauthenticated}`,
  ]);
});

test("a call that ended while a hook waited starts no hook after it", async () => {
  const log: string[] = [];
  let release!: () => void;
  const p = new CallPipeline([
    recorder(log, "a", () => new Promise<void>((r) => (release = r))),
    recorder(log, "b"),
  ]);
  const c = call();
  const waiting = p.start(c);
  p.end(c, new ConnectError("the client went away", Code.Canceled));
  release();
  await waiting;
  assert.deepEqual(log, ["start a", `end a ${Code.Canceled}`]);
});
