// TLS on the server's and the gateway's ports, and from the gateway to servers (issue 18): every
// protocol (gRPC, gRPC-Web, Connect binary and JSON) over TLS on HTTP/1.1 and h2 (ALPN), against
// a server that requires client certificates and through a gateway that asks for them, with
// the verified certificate on every call (Call.peer.certificate); refusals of a call without a
// client certificate or with one from another CA; a gateway that does not trust a server's
// certificate (or has none of its own to show) relays nothing; metrics over TLS.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { parseGatewayArgs } from "../../src/cli/gateway-command.js";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { silentLogger } from "../../src/common/log.js";
import { type RunningGateway, startGateway } from "../../src/gateway/gateway.js";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import type { Call, CallHook } from "../../src/protocol/pipeline.js";
import { loadServerConfig } from "../../src/server/config/load.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { SLUICE, writeServerConfig } from "../gateway/cluster.js";
import { type IssuedCertificate, TestCa } from "../harness/certificates.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

/** Records the protocol, HTTP version and client certificate of every call it sees. */
class PeerHook implements CallHook {
  readonly name = "peer (test)";
  seen: { procedure: string; protocol: string; httpVersion: string; cn: string | undefined }[] = [];
  start(call: Call): void {
    this.seen.push({
      procedure: call.procedure,
      protocol: `${call.protocol}/${call.codec}`,
      httpVersion: call.httpVersion,
      cn: call.peer.certificate?.subject?.CN as string | undefined,
    });
  }
}

interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Every protocol, codec and HTTP version, over TLS with `tls` (Node's client options). */
function transports(
  url: string,
  tls: ClientTls,
): { name: string; protocol: string; http: string; t: Transport }[] {
  const nodeOptions = { ...tls };
  const out = [
    {
      name: "gRPC",
      protocol: "grpc/proto",
      http: "2",
      t: createGrpcTransport({ baseUrl: url, nodeOptions }),
    },
    {
      name: "gRPC JSON",
      protocol: "grpc/json",
      http: "2",
      t: createGrpcTransport({ baseUrl: url, nodeOptions, useBinaryFormat: false }),
    },
  ];
  for (const http of ["1.1", "2"] as const) {
    for (const binary of [true, false]) {
      const codec = binary ? "proto" : "json";
      out.push(
        {
          name: `gRPC-Web ${codec} HTTP/${http}`,
          protocol: `grpc-web/${codec}`,
          http,
          t: createGrpcWebTransport({
            baseUrl: url,
            httpVersion: http,
            nodeOptions,
            useBinaryFormat: binary,
          }),
        },
        {
          name: `Connect ${codec} HTTP/${http}`,
          protocol: `connect/${codec}`,
          http,
          t: createConnectTransport({
            baseUrl: url,
            httpVersion: http,
            nodeOptions,
            useBinaryFormat: binary,
          }),
        },
      );
    }
  }
  return out;
}

/** Subscribe, Get, Ack of nothing, a Stream up to its first message, and an admin call. */
async function someCalls(t: Transport, clientId: string): Promise<void> {
  const canal = createClient(CanalService, t);
  const admin = createClient(AdminService, t);
  const destination = "example";
  const sub = await canal.subscribe({ destination, clientId });
  const got = await canal.get({ destination, clientId, session: sub.session, batchSize: 10, timeoutMs: 1n });
  assert.equal(typeof got.batchId, "string");
  await canal.unsubscribe({ destination, clientId, session: sub.session });
  const stop = new AbortController();
  try {
    for await (const m of canal.stream(
      { destination, clientId: `${clientId}-s`, batchSize: 10 },
      { signal: stop.signal },
    )) {
      assert.equal(m.message.case, "subscribed");
      stop.abort();
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  }
  const list = await admin.listDestinations({});
  assert.deepEqual(
    list.destinations.map((d) => d.name),
    ["example"],
  );
}

/** The error a call fails with, or undefined. */
async function failure(p: Promise<unknown>): Promise<ConnectError | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}

describe("TLS", { timeout: 300_000 }, () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dir: string;
  let ca: TestCa;
  let other: TestCa;
  let serverCert: IssuedCertificate;
  let gatewayCert: IssuedCertificate;
  let clientCert: IssuedCertificate;
  let intruderCert: IssuedCertificate;
  let server: RunningServer;
  let gateway: RunningGateway;
  const serverHook = new PeerHook();
  const gatewayHook = new PeerHook();
  const gateways: RunningGateway[] = [];
  const pem = (f: string) => readFileSync(f);

  /** A gateway from `sluice gateway` flags (parsed as the command does), with a hook. */
  async function gatewayWith(flags: string[], hook?: CallHook): Promise<RunningGateway> {
    const parsed = parseGatewayArgs(
      [
        "--zk",
        zk.connectString,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--metrics-port",
        "off",
        "--hold",
        "1s",
        ...flags,
      ],
      {},
    );
    const { metricsPort: _, metricsHost: __, ...rest } = parsed;
    const g = await startGateway({ ...rest, logger: silentLogger, ...(hook ? { hooks: [hook] } : {}) });
    gateways.push(g);
    return g;
  }

  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    dir = makeTempDir("tls");
    ca = TestCa.create(dir, "ca");
    other = TestCa.create(dir, "other");
    serverCert = ca.issue("server", { cn: "sluice-server", ips: ["127.0.0.1"], usage: "server" });
    gatewayCert = ca.issue("gateway", {
      cn: "sluice-gateway",
      ips: ["127.0.0.1"],
      dns: ["localhost"],
      usage: "both",
    });
    clientCert = ca.issue("client", { cn: "consumer-1", usage: "client" });
    intruderCert = other.issue("intruder", { cn: "intruder", usage: "client" });
    const config = writeServerConfig(dir, zk, db);
    server = await startServer(
      loadServerConfig({
        argv: [
          "--config",
          config,
          "--port",
          String(await freePort()),
          "--tls-cert",
          serverCert.cert,
          "--tls-key",
          serverCert.key,
          "--tls-client-ca",
          ca.cert,
          "--tls-client-auth",
          "require",
        ],
        env: {},
      }),
      silentLogger,
      { hooks: [serverHook] },
    );
    gateway = await gatewayWith(
      [
        ...["--tls-cert", gatewayCert.cert, "--tls-key", gatewayCert.key],
        ...["--tls-client-ca", ca.cert, "--tls-client-auth", "request"],
        ...[
          "--tls-upstream-ca",
          ca.cert,
          "--tls-upstream-cert",
          gatewayCert.cert,
          "--tls-upstream-key",
          gatewayCert.key,
        ],
      ],
      gatewayHook,
    );
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await server?.close();
    await Promise.all([db?.stop(), zk?.stop()]);
    if (dir) removeDir(dir);
  });

  test("the server and the gateway serve https:// URLs", () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  for (const target of ["server", "gateway"] as const) {
    test(`every protocol over TLS, HTTP/1.1 and h2, against the ${target}, the client certificate on every call`, async () => {
      const url = target === "server" ? server.url : gateway.url;
      const hook = target === "server" ? serverHook : gatewayHook;
      const tls = { ca: pem(ca.cert), cert: pem(clientCert.cert), key: pem(clientCert.key) };
      for (const [i, t] of transports(url, tls).entries()) {
        hook.seen = [];
        serverHook.seen = target === "gateway" ? [] : serverHook.seen;
        await someCalls(t.t, `tls-${target}-${i}`);
        assert.deepEqual(
          hook.seen.map((s) => s.procedure.split("/")[1]).sort(),
          ["Get", "ListDestinations", "Stream", "Subscribe", "Unsubscribe"],
          `${t.name}: the calls the hook saw`,
        );
        for (const s of hook.seen) {
          assert.deepEqual([s.protocol, s.httpVersion], [t.protocol, t.http], `${t.name}, ${s.procedure}`);
          assert.equal(s.cn, "consumer-1", `${t.name}, ${s.procedure}: the client certificate`);
        }
        if (target === "gateway") {
          // Relayed over TLS, the gateway showing its own certificate.
          assert.ok(serverHook.seen.length > 0, `${t.name}: calls reached the server`);
          for (const s of serverHook.seen)
            assert.equal(s.cn, "sluice-gateway", `${t.name}, ${s.procedure} at the server`);
        }
      }
    });
  }

  test("the TypeScript client over TLS: every transport, with a client certificate", async () => {
    for (const [transport, httpVersion] of [
      ["connect", "1.1"],
      ["connect", "2"],
      ["grpc-web", "1.1"],
      ["grpc-web", "2"],
      ["grpc", "2"],
    ] as const) {
      const client = createSluiceClient({
        baseUrl: server.url,
        transport,
        httpVersion,
        tls: { ca: pem(ca.cert), cert: pem(clientCert.cert), key: pem(clientCert.key) },
      });
      const list = await client.admin.listDestinations({});
      assert.deepEqual(
        list.destinations.map((d) => d.name),
        ["example"],
        `${transport} HTTP/${httpVersion}`,
      );
    }
  });

  test("sluice status over TLS: --ca, --cert and --key, or their variables", async () => {
    // Asynchronous: the server runs in this process and must keep answering.
    const status = (args: string[], env: Record<string, string> = {}, url = server.url) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [SLUICE, "status", "--server", url, "--json", ...args],
          { encoding: "utf8", env: { ...process.env, ...env }, timeout: 30_000 },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        );
      });
    const ok = await status(["--ca", ca.cert, "--cert", clientCert.cert, "--key", clientCert.key]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      (JSON.parse(ok.stdout) as { destinations: { name: string }[] }).destinations[0]?.name,
      "example",
    );
    const fromEnv = await status([], {
      SLUICE_CA: ca.cert,
      SLUICE_CERT: clientCert.cert,
      SLUICE_KEY: clientCert.key,
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const untrusted = await status(["--cert", clientCert.cert, "--key", clientCert.key]);
    assert.equal(untrusted.code, 1, "without the CA: the system's CAs do not know it");
    assert.match(untrusted.stderr, /certificate/i);
    const plain = await status(["--ca", ca.cert], {}, "http://127.0.0.1:1");
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /--ca: TLS needs an https:\/\/ --server/);
  });

  test("a client that offers no ALPN is served HTTP/1.1 or h2 by its first bytes", async () => {
    for (const [name, ask] of [
      ["HTTP/1.1", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
      ["h2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"],
    ] as const) {
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const s = tlsConnect({
          host: "127.0.0.1",
          port: gateway.port,
          ca: pem(ca.cert),
        });
        const chunks: Buffer[] = [];
        s.on("secureConnect", () => {
          assert.equal(s.alpnProtocol, false);
          s.write(ask);
        });
        s.on("data", (c: Buffer) => {
          chunks.push(c);
          if (name === "h2") s.end();
        });
        s.on("end", () => resolve(Buffer.concat(chunks)));
        s.on("error", reject);
      });
      if (name === "HTTP/1.1") assert.match(answer.toString("latin1"), /^HTTP\/1\.1 200 OK/);
      // The server's SETTINGS frame: type 0x4 at byte 3 of the first frame.
      else assert.equal(answer[3], 0x4, "an HTTP/2 SETTINGS frame");
    }
  });

  test("mTLS require: the server refuses a call without a client certificate and one from another CA", async () => {
    const bad: [string, ClientTls][] = [
      ["no client certificate", { ca: pem(ca.cert) }],
      [
        "a certificate from another CA",
        { ca: pem(ca.cert), cert: pem(intruderCert.cert), key: pem(intruderCert.key) },
      ],
    ];
    for (const [what, tls] of bad) {
      serverHook.seen = [];
      for (const t of transports(server.url, tls)) {
        const err = await failure(createClient(AdminService, t.t).listDestinations({}, { timeoutMs: 5000 }));
        // How the refused handshake shows depends on the client library (an alert, a reset).
        assert.ok(err, `${what}, ${t.name}: refused`);
      }
      assert.deepEqual(serverHook.seen, [], `${what}: no call reached the pipeline`);
    }
  });

  test("mTLS request: the gateway serves a caller without a certificate, refuses one from another CA", async () => {
    gatewayHook.seen = [];
    const anonymous = createSluiceClient({ baseUrl: gateway.url, tls: { ca: pem(ca.cert) } });
    await anonymous.admin.listDestinations({});
    assert.equal(gatewayHook.seen.length, 1);
    assert.equal(gatewayHook.seen[0]?.cn, undefined, "no certificate on the call");
    gatewayHook.seen = [];
    for (const t of transports(gateway.url, {
      ca: pem(ca.cert),
      cert: pem(intruderCert.cert),
      key: pem(intruderCert.key),
    })) {
      const err = await failure(createClient(AdminService, t.t).listDestinations({}, { timeoutMs: 5000 }));
      assert.ok(err, `${t.name}: refused`);
    }
    assert.deepEqual(gatewayHook.seen, [], "no call reached the pipeline");
  });

  test("a client that does not trust the server's CA is refused at the handshake", async () => {
    const client = createSluiceClient({ baseUrl: server.url, tls: { ca: pem(other.cert) } });
    const err = await failure(client.admin.listDestinations({}, { timeoutMs: 5000 }));
    assert.ok(err);
    assert.match(err.message, /certificate/i);
  });

  test("the gateway relays nothing to a server whose certificate it cannot verify, or that refuses it", async () => {
    const cases: [string, string[], RegExp][] = [
      ["the servers' CA is another", ["--tls-upstream-ca", other.cert], /certificate/i],
      ["no client certificate for a server that requires one", ["--tls-upstream-ca", ca.cert], /./],
      ["h2c to a TLS server", [], /./],
    ];
    for (const [what, flags, message] of cases) {
      const g = await gatewayWith(flags);
      serverHook.seen = [];
      const client = createSluiceClient({ baseUrl: g.url, transport: "grpc" });
      const err = await failure(
        client.canal.subscribe(
          { destination: "example", clientId: `untrusted-${flags.length}-${what.length}` },
          { timeoutMs: 10_000 },
        ),
      );
      assert.ok(err, `${what}: the call failed`);
      assert.equal(err.code, Code.Unavailable, `${what}: ${err.message}`);
      assert.match(err.message, message, what);
      assert.deepEqual(serverHook.seen, [], `${what}: nothing reached the server`);
    }
  });

  test("metrics over TLS on the server's metrics port, with the API port's client certificates", async () => {
    const config = writeServerConfig(dir, zk, db);
    const s = await startServer(
      loadServerConfig({
        argv: [
          ...["--config", config, "--port", "0", "--metrics-port", "0"],
          ...["--tls-cert", serverCert.cert, "--tls-key", serverCert.key, "--tls-client-ca", ca.cert],
        ],
        env: {},
      }),
      silentLogger,
    );
    try {
      assert.match(s.metricsUrl ?? "", /^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const get = (tls: ClientTls) =>
        new Promise<number>((resolve, reject) => {
          const req = request(s.metricsUrl as string, { ...tls }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on("error", reject);
          req.end();
        });
      assert.equal(
        await get({ ca: pem(ca.cert), cert: pem(clientCert.cert), key: pem(clientCert.key) }),
        200,
      );
      await assert.rejects(get({ ca: pem(ca.cert) }), "no client certificate: refused");
      const plain = await fetch((s.metricsUrl as string).replace("https:", "http:")).catch((e: Error) => e);
      assert.ok(plain instanceof Error || !plain.ok, "no metrics in cleartext");
    } finally {
      await s.close();
    }
  });
});
