// The request size limit (a server's maxRequest, a gateway's --max-request) holds on every
// path that reads a request: connect-es's typed path (every protocol, compressed requests by
// their decompressed size), the server's lean gRPC path (Get, Ack, Rollback), and the
// gateway's byte relays (gRPC and Connect Get, Ack, Rollback; gRPC Stream). A message one
// byte over the limit is refused with resource_exhausted before anything acts on it; one at
// the limit is read (and answered as its fields deserve).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { silentLogger } from "../../src/common/log.js";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { loadServerConfig } from "../../src/server/config/load.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { writeServerConfig } from "../gateway/cluster.js";
import { startInProcessGateway } from "../harness/gateway.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

// Above node:http2's 64 KiB header list: an error quoting a field this long must still reach gRPC
// clients whole (its grpc-message cut), not reset the stream or the connection.
const LIMIT = 256 * 1024;

/** Every protocol and transport, plainly and (typed path only) gzip-compressed. */
const TRANSPORTS: { name: string; make: (url: string) => Transport }[] = [
  { name: "gRPC", make: (u) => createGrpcTransport({ baseUrl: u }) },
  { name: "gRPC JSON", make: (u) => createGrpcTransport({ baseUrl: u, useBinaryFormat: false }) },
  {
    name: "gRPC gzip",
    make: (u) => createGrpcTransport({ baseUrl: u, sendCompression: compressionGzip, compressMinBytes: 1 }),
  },
  ...(["1.1", "2"] as const).flatMap((httpVersion) => [
    {
      name: `gRPC-Web HTTP/${httpVersion}`,
      make: (u: string) => createGrpcWebTransport({ baseUrl: u, httpVersion }),
    },
    {
      name: `Connect binary HTTP/${httpVersion}`,
      make: (u: string) => createConnectTransport({ baseUrl: u, httpVersion }),
    },
    {
      name: `Connect JSON HTTP/${httpVersion}`,
      make: (u: string) => createConnectTransport({ baseUrl: u, httpVersion, useBinaryFormat: false }),
    },
    {
      name: `Connect gzip HTTP/${httpVersion}`,
      make: (u: string) =>
        createConnectTransport({
          baseUrl: u,
          httpVersion,
          sendCompression: compressionGzip,
          compressMinBytes: 1,
        }),
    },
  ]),
];

/** The code a call ended with (0: ok). */
async function codeOf(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  return p.then(
    () => ({ code: 0, message: "" }),
    (e: unknown) => {
      const err = ConnectError.from(e);
      return { code: err.code, message: err.message };
    },
  );
}

/**
 * Each method a path serves, with a request holding `pad` (as its clientId, destination or
 * filter): each call's code and message.
 */
async function everyPath(
  transport: Transport,
  pad: string,
): Promise<Map<string, { code: number; message: string }>> {
  const canal = createClient(CanalService, transport);
  const admin = createClient(AdminService, transport);
  const destination = "example";
  const out = new Map<string, { code: number; message: string }>();
  out.set("Get", await codeOf(canal.get({ destination, clientId: pad, batchSize: 1 })));
  out.set("Ack", await codeOf(canal.ack({ destination, clientId: pad, batchId: "1-1-1" })));
  out.set("Rollback", await codeOf(canal.rollback({ destination, clientId: pad })));
  out.set("Subscribe", await codeOf(canal.subscribe({ destination, clientId: pad })));
  out.set(
    "Subscribe (filter)",
    await codeOf(canal.subscribe({ destination, clientId: "size-test", filter: `(${pad}` })),
  );
  out.set(
    "Stream",
    await codeOf(
      (async () => {
        for await (const _ of canal.stream(
          { destination, clientId: pad, batchSize: 1 },
          { timeoutMs: 2000 },
        )) {
          break;
        }
      })(),
    ),
  );
  out.set("GetDestination", await codeOf(admin.getDestination({ destination: pad })));
  return out;
}

describe("the request size limit, on every path", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dir: string;
  let server: RunningServer;
  let gateway: RunningGateway;

  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    dir = makeTempDir("request-size");
    const config = writeServerConfig(dir, zk, db);
    server = await startServer(
      loadServerConfig({
        argv: ["--config", config, "--port", String(await freePort()), "--max-request", String(LIMIT)],
        env: {},
      }),
      silentLogger,
    );
    gateway = await startInProcessGateway(zk.connectString, { maxRequestBytes: LIMIT });
  });
  after(async () => {
    await gateway?.close();
    await server?.close();
    await Promise.all([db?.stop(), zk?.stop()]);
    if (dir) removeDir(dir);
  });

  for (const target of ["server", "gateway"] as const) {
    test(`${target}: one byte over the limit is resource_exhausted on every protocol and method; at the limit it is read`, async () => {
      const url = target === "server" ? server.url : gateway.url;
      for (const t of TRANSPORTS) {
        // Over: a clientId alone larger than the limit, whatever the encoding adds.
        const over = await everyPath(t.make(url), "x".repeat(LIMIT + 1));
        for (const [method, got] of over) {
          assert.equal(
            got.code,
            Code.ResourceExhausted,
            `${target}, ${t.name}, ${method} over the limit: ${got.message}`,
          );
        }
        // Under: the same calls with a name that fits are read and refused for what they say
        // (a name too long; no such destination), not for their size, and their answer is
        // whole (its message cut for gRPC's trailer, not the stream reset).
        const under = await everyPath(t.make(url), "x".repeat(LIMIT - 200));
        for (const [method, got] of under) {
          assert.ok(
            got.code === Code.InvalidArgument || got.code === Code.NotFound,
            `${target}, ${t.name}, ${method} under the limit: ${got.message.slice(0, 200)}`,
          );
        }
      }
    });
  }
});
