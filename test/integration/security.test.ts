// Authentication, authorization, unforgeable sessions and no bypass (issue 18, items 3-6),
// against real servers and a gateway, over every method, protocol and path (the driver of the
// call-pipeline test): the two shapes of docs/security.md.
// - Clients through gateways only: a server that accepts gateways only (their shared secret)
//   behind a gateway that authenticates clients (tokens, JWTs, canal's user) and authorizes
//   them with a policy file.
// - Clients straight to an authenticated standalone server (tokens and a policy).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SignJWT } from "jose";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { silentLogger } from "../../src/common/log.js";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { CLIENT_EPOCH_HEADER } from "../../src/contracts/client-epoch.js";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { canalPasswd } from "../../src/security/canal-user.js";
import { GATEWAY_HEADER, gatewayProof, PRINCIPAL_HEADER } from "../../src/security/gateway-trust.js";
import { createToken, readTokenFile, verifyToken } from "../../src/security/tokens.js";
import { loadServerConfig } from "../../src/server/config/load.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { everyMethod, METHODS, type Outcomes, TRANSPORTS } from "../harness/call-driver.js";
import { startInProcessGateway } from "../harness/gateway.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir } from "../harness/processes.js";
import { SLUICE_MAIN } from "../harness/sluice-server.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const execFileAsync = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

const ISSUER = "https://idp.test";
const AUDIENCE = "sluice";
const jwtKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const strangerKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });

/** Tokens by name: admin (everything), reader (reads example and other), other-only (scoped to other), intruder. */
const tokens: Record<string, string> = {};

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
/** Elected, accepts gateways only. */
let gated: RunningServer;
/** Standalone, authenticates clients itself. */
let standalone: RunningServer;
let gateway: RunningGateway;

const bearer = (name: string) => ({ authorization: `Bearer ${tokens[name]}` });

function jwt(claims: Record<string, unknown>, key = jwtKeys.privateKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: "svc-orders", iss: ISSUER, aud: AUDIENCE, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: "ES256" })
    .sign(key);
}

before(async () => {
  [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dir = makeTempDir("security");
  const made = await Promise.all([
    createToken("admin"),
    createToken("reader"),
    createToken("other-only", ["read:other"]),
    createToken("intruder"),
  ]);
  for (const m of made) tokens[m.token.split(".")[0] as string] = m.token;
  writeFileSync(join(dir, "tokens"), `${made.map((m) => m.line).join("\n")}\n`);
  writeFileSync(
    join(dir, "policy.yaml"),
    [
      "rules:",
      "  - principals: [token:admin]",
      '    destinations: ["*"]',
      "    allow: [read, admin]",
      "  - principals: [token:reader, token:other-only, jwt:svc-orders, canal:canal]",
      "    destinations: [example, other]",
      "    allow: [read]",
      "  - principals: [token:intruder]",
      "    destinations: [example]",
      "    allow: [read]",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "gateway.secret"), "a-secret-only-gateways-and-servers-know\n");
  writeFileSync(join(dir, "jwt.pem"), jwtKeys.publicKey.export({ type: "spki", format: "pem" }));
  const destinations = [
    "destinations:",
    ...["example", "other"].flatMap((name) => [
      `  - name: ${name}`,
      `    source: "${db.sourceUrl}"`,
      "    heartbeat: 1s",
    ]),
  ];
  writeFileSync(
    join(dir, "gated.yaml"),
    [
      "host: 127.0.0.1",
      "port: 0",
      "metrics: { enabled: false }",
      "zk:",
      `  connect: "${zk.connectString}"`,
      "  sessionTimeout: 4s",
      "security:",
      "  gateways: { secretFile: gateway.secret }",
      ...destinations,
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "standalone.yaml"),
    [
      "host: 127.0.0.1",
      "port: 0",
      "metrics: { enabled: false }",
      `dataDir: "${join(dir, "data")}"`,
      "security:",
      "  tokens: tokens",
      "  policy: policy.yaml",
      "  health: authenticated",
      ...destinations,
      "",
    ].join("\n"),
  );
  const load = (file: string) => loadServerConfig({ argv: ["--config", file], env: {}, cwd: dir });
  gated = await startServer(load("gated.yaml"), silentLogger);
  standalone = await startServer(load("standalone.yaml"), silentLogger);
  gateway = await startInProcessGateway(zk.connectString, {
    auth: {
      tokensFile: join(dir, "tokens"),
      jwt: { keyFile: join(dir, "jwt.pem"), issuer: [ISSUER], audience: [AUDIENCE], clockSkewSeconds: 30 },
      canal: { user: "canal", passwd: canalPasswd("canal-pw") },
      policyFile: join(dir, "policy.yaml"),
      gateways: { secretFile: join(dir, "gateway.secret") },
    },
  });
});

after(async () => {
  await gateway?.close();
  await gated?.close();
  await standalone?.close();
  await Promise.all([db?.stop(), zk?.stop()]);
  if (dir) removeDir(dir);
});

const targets = () =>
  [
    ["the gateway", gateway.url],
    ["the gateway-only server", gated.url],
    ["the authenticated standalone server", standalone.url],
  ] as const;

/** The code of each method's outcome (0: ok). */
function codes(o: Outcomes): Record<string, number> {
  return Object.fromEntries([...o].map(([m, r]) => [m, r === "ok" ? 0 : r.code]));
}

/** Asserts every method was refused with `code`, the message matching `message`. */
function allRefused(o: Outcomes, code: Code, message: RegExp, what: string, except: string[] = []): void {
  for (const method of METHODS) {
    if (except.includes(method)) continue;
    const got = o.get(method);
    assert.ok(got instanceof ConnectError, `${what}, ${method}: refused (got ok)`);
    assert.equal(got.code, code, `${what}, ${method}: ${got.message}`);
    assert.match(got.rawMessage, message, `${what}, ${method}`);
  }
}

describe("authentication on every method, protocol and path", () => {
  test("without credentials, and with wrong ones, every call is refused unauthenticated before anything acts", async () => {
    for (const [name, url] of targets()) {
      for (const t of TRANSPORTS) {
        const none = await everyMethod(t.make(url), "anonymous");
        allRefused(
          none,
          Code.Unauthenticated,
          name === "the gateway-only server"
            ? /accepts calls from sluice gateways only/
            : /credentials are required/,
          `${name}, ${t.name}, no credentials`,
        );
        const wrong = await everyMethod(
          t.make(url, { authorization: `Bearer ${tokens.admin}x` }),
          "anonymous",
        );
        allRefused(
          wrong,
          Code.Unauthenticated,
          /^the bearer token was not accepted$/,
          `${name}, ${t.name}, wrong token`,
        );
      }
    }
    // Nothing was held or subscribed by the refused calls.
    const status = await createClient(
      AdminService,
      createConnectTransport({ baseUrl: gateway.url, httpVersion: "1.1" }),
    ).getDestination({ destination: "example" }, { headers: bearer("admin") });
    assert.deepEqual(
      status.destination?.clients.filter((c) => c.clientId.startsWith("anonymous")),
      [],
    );
  });

  test("a binary Connect Stream refused through the gateway (the byte relay) gets what the typed path gives", async () => {
    const refusal = async (httpVersion: "1.1" | "2", binary: boolean, token?: string) => {
      let relay: string | null = null;
      const canal = createClient(
        CanalService,
        createConnectTransport({ baseUrl: gateway.url, httpVersion, useBinaryFormat: binary }),
      );
      try {
        for await (const _ of canal.stream(
          { destination: "example", clientId: "anonymous-stream", batchSize: 1 },
          {
            headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
            onHeader: (h) => {
              relay = h.get("sluice-relay");
            },
          },
        ))
          return { ok: true, relay };
        return { ended: true, relay };
      } catch (err) {
        const e = ConnectError.from(err);
        return { code: e.code, message: e.rawMessage, details: e.details.length, relay };
      }
    };
    for (const httpVersion of ["1.1", "2"] as const) {
      for (const token of [undefined, `${tokens.admin}x`]) {
        const bytes = await refusal(httpVersion, true, token);
        const typed = await refusal(httpVersion, false, token);
        const what = `HTTP/${httpVersion}, ${token === undefined ? "no credentials" : "wrong token"}`;
        assert.equal(bytes.relay, "bytes", `${what}: the byte relay answered`);
        assert.equal(bytes.code, Code.Unauthenticated, `${what}: ${JSON.stringify(bytes)}`);
        assert.deepEqual({ ...bytes, relay: null }, typed, what);
      }
    }
  });

  test("a valid token passes authentication and authorization on every method, protocol and path", async () => {
    for (const [name, url] of [
      ["the gateway", gateway.url],
      ["the authenticated standalone server", standalone.url],
    ] as const) {
      for (const [i, t] of TRANSPORTS.entries()) {
        const o = await everyMethod(t.make(url, bearer("admin")), `admin-${i}`);
        for (const [method, code] of Object.entries(codes(o))) {
          assert.ok(
            code !== Code.Unauthenticated && code !== Code.PermissionDenied,
            `${name}, ${t.name}, ${method}: ${String(o.get(method))}`,
          );
        }
        assert.equal(o.get("sluice.v1.CanalService/Subscribe"), "ok", `${name}, ${t.name}`);
        assert.equal(o.get("sluice.v1.CanalService/Get"), "ok", `${name}, ${t.name}`);
      }
    }
  });

  test("an expired or wrongly signed JWT is refused; a good one is a principal the policy knows", async () => {
    const good = await jwt({});
    const expired = await jwt({ exp: Math.floor(Date.now() / 1000) - 600 });
    const forged = await jwt({}, strangerKeys.privateKey);
    for (const t of TRANSPORTS) {
      const o = await everyMethod(t.make(gateway.url, { authorization: `Bearer ${expired}` }), "jwt");
      allRefused(
        o,
        Code.Unauthenticated,
        /^the JWT was not accepted: it has expired$/,
        `${t.name}, expired JWT`,
      );
      const f = await everyMethod(t.make(gateway.url, { authorization: `Bearer ${forged}` }), "jwt");
      allRefused(
        f,
        Code.Unauthenticated,
        /^the JWT was not accepted: its signature does not verify$/,
        `${t.name}, forged JWT`,
      );
    }
    const canal = createClient(CanalService, createGrpcTransport({ baseUrl: gateway.url }));
    const sub = await canal.subscribe(
      { destination: "example", clientId: "jwt-ok" },
      { headers: { authorization: `Bearer ${good}` } },
    );
    await canal.unsubscribe(
      { destination: "example", clientId: "jwt-ok", session: sub.session },
      { headers: { authorization: `Bearer ${good}` } },
    );
    // Reads only: the policy gives svc-orders no admin.
    await assert.rejects(
      createClient(AdminService, createGrpcTransport({ baseUrl: gateway.url })).releaseDestination(
        { destination: "example" },
        { headers: { authorization: `Bearer ${good}` } },
      ),
      (e: ConnectError) =>
        e.code === Code.PermissionDenied &&
        /jwt:svc-orders may not admin destination "example"/.test(e.rawMessage),
    );
  });

  test("canal's user logs in with HTTP Basic; a wrong password is refused without saying which part was wrong", async () => {
    const basic = (pw: string) => ({
      authorization: `Basic ${Buffer.from(`canal:${pw}`).toString("base64")}`,
    });
    const canal = createClient(
      CanalService,
      createConnectTransport({ baseUrl: gateway.url, httpVersion: "1.1" }),
    );
    const sub = await canal.subscribe(
      { destination: "other", clientId: "canal-user" },
      { headers: basic("canal-pw") },
    );
    await canal.unsubscribe(
      { destination: "other", clientId: "canal-user", session: sub.session },
      { headers: basic("canal-pw") },
    );
    await assert.rejects(
      canal.subscribe({ destination: "other", clientId: "canal-user" }, { headers: basic("canal-pw2") }),
      (e: ConnectError) =>
        e.code === Code.Unauthenticated && e.rawMessage === "the user name or password was not accepted",
    );
  });
});

describe("authorization", () => {
  test("a token for destination A cannot read or administer B, on any method, protocol or path", async () => {
    for (const [name, url] of [
      ["the gateway", gateway.url],
      ["the authenticated standalone server", standalone.url],
    ] as const) {
      for (const [i, t] of TRANSPORTS.entries()) {
        // other-only's token is scoped to read:other; the policy would give it example too.
        const o = await everyMethod(t.make(url, bearer("other-only")), `scoped-${i}`);
        allRefused(
          o,
          Code.PermissionDenied,
          /^token:other-only may not (read|admin) destination "example"/,
          `${name}, ${t.name}`,
          ["sluice.v1.AdminService/ListDestinations"],
        );
        assert.equal(o.get("sluice.v1.AdminService/ListDestinations"), "ok");
        // B itself is readable.
        const b = await everyMethod(t.make(url, bearer("other-only")), `scoped-b-${i}`, "other");
        assert.equal(
          b.get("sluice.v1.CanalService/Get"),
          "ok",
          `${name}, ${t.name}: reads its own destination`,
        );
      }
    }
  });

  test("a refusal names what is missing, and nothing about what exists", async () => {
    const canal = createClient(
      CanalService,
      createConnectTransport({ baseUrl: gateway.url, httpVersion: "1.1" }),
    );
    // "other" exists, "no-such-destination" does not: the intruder cannot tell them apart.
    for (const destination of ["other", "no-such-destination"]) {
      const e = await canal
        .get({ destination, clientId: "1001", batchSize: 1 }, { headers: bearer("intruder") })
        .then(
          () => assert.fail("allowed"),
          (err: unknown) => ConnectError.from(err),
        );
      assert.equal(e.code, Code.PermissionDenied);
      assert.equal(
        e.rawMessage,
        `token:intruder may not read destination "${destination}" as clientId "1001": it needs a rule of the policy file that grants it`,
      );
    }
    const scoped = await canal
      .get({ destination: "example", clientId: "1001", batchSize: 1 }, { headers: bearer("other-only") })
      .then(
        () => assert.fail("allowed"),
        (err: unknown) => ConnectError.from(err),
      );
    assert.equal(
      scoped.rawMessage,
      'token:other-only may not read destination "example" as clientId "1001": it needs the scope read:example/1001 in its token',
    );
  });

  test("ListDestinations shows only the destinations the caller administers", async () => {
    for (const url of [gateway.url, standalone.url]) {
      const admin = createClient(AdminService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
      const all = await admin.listDestinations({}, { headers: bearer("admin") });
      assert.deepEqual(all.destinations.map((d) => d.name).sort(), ["example", "other"]);
      const none = await admin.listDestinations({}, { headers: bearer("reader") });
      assert.deepEqual(none.destinations, [], "a reader administers nothing");
    }
  });
});

describe("sessions that cannot be forged", () => {
  test("a session built from anything another caller can see is refused: the victim's rows stay its own", async () => {
    const clientId = "victim";
    const victim = createClient(CanalService, createGrpcTransport({ baseUrl: gateway.url }));
    const mine = await victim.subscribe({ destination: "example", clientId }, { headers: bearer("reader") });
    await db.query("INSERT INTO shop.orders VALUES (1, 'kettle')");

    // The intruder may read clientIds of example (the policy says so), but does not hold this one.
    const refused = await createClient(
      CanalService,
      createConnectTransport({ baseUrl: gateway.url, httpVersion: "1.1" }),
    )
      .subscribe({ destination: "example", clientId }, { headers: bearer("intruder") })
      .then(
        () => assert.fail("took the victim's hold"),
        (e: unknown) => ConnectError.from(e),
      );
    assert.equal(refused.code, Code.AlreadyExists);
    assert.match(refused.rawMessage, /held by .* since \d{4}-/, "who and since when");
    assert.ok(
      !refused.rawMessage.includes(String(mine.epoch)),
      `the answer tells no epoch: ${refused.rawMessage}`,
    );
    assert.doesNotMatch(refused.rawMessage, /epoch/);

    // Everything the intruder could see: the epoch (the hold's running node is readable by
    // canal's tools: its czxid), the node's data, the old session format.
    const zkc = await ZkClient.connect(zk.connectString);
    const node = await zkc.get(new ZkPaths("/otter/canal").clientRunning("example", clientId));
    zkc.close();
    const epoch = BigInt(node.stat.czxid);
    assert.equal(epoch, mine.epoch);
    const body = JSON.parse(node.data.toString("utf8")) as Record<string, unknown>;
    assert.ok(
      !JSON.stringify(body).includes(mine.session.split(".")[1] as string),
      "the node holds no secret",
    );
    const digest = String(body.sessionDigest);
    const forged = [
      `${epoch}.${clientId}`,
      `${epoch}.${digest.slice(0, 24)}.${clientId}`,
      `${epoch}.${"A".repeat(24)}.${clientId}`,
      `${epoch}.${digest}.${clientId}`,
      mine.session.replace(/\.[^.]+\./, `.${"B".repeat(24)}.`),
    ];
    const transports: [string, Transport][] = [
      ["gRPC (byte relay)", createGrpcTransport({ baseUrl: gateway.url })],
      [
        "Connect JSON (byte relay)",
        createConnectTransport({ baseUrl: gateway.url, httpVersion: "1.1", useBinaryFormat: false }),
      ],
      [
        "gRPC-Web (typed path)",
        TRANSPORTS.find((t) => t.protocol === "grpc-web")?.make(gateway.url) as Transport,
      ],
    ];
    for (const session of forged) {
      for (const [name, transport] of transports) {
        const c = createClient(CanalService, transport);
        const h = { headers: bearer("intruder") };
        for (const [method, call] of [
          ["Get", () => c.get({ destination: "example", clientId, session, batchSize: 10 }, h)],
          ["Ack", () => c.ack({ destination: "example", clientId, session, batchId: "1-1-1" }, h)],
          ["Rollback", () => c.rollback({ destination: "example", clientId, session }, h)],
          ["Unsubscribe", () => c.unsubscribe({ destination: "example", clientId, session }, h)],
          ["Subscribe", () => c.subscribe({ destination: "example", clientId, session }, h)],
        ] as const) {
          const e = await (call as () => Promise<unknown>)().then(
            () => assert.fail(`${name}, ${method} with ${session}: accepted`),
            (err: unknown) => ConnectError.from(err),
          );
          assert.ok(
            e.code === Code.FailedPrecondition || e.code === Code.AlreadyExists,
            `${name}, ${method} with ${session}: ${e.code} ${e.rawMessage}`,
          );
        }
      }
      // A stream given the forged session does not take the hold over either.
      const stop = new AbortController();
      const stream = createClient(CanalService, createGrpcTransport({ baseUrl: gateway.url })).stream(
        { destination: "example", clientId, session, batchSize: 10 },
        { headers: bearer("intruder"), signal: stop.signal },
      );
      const got = await (async () => {
        for await (const m of stream) return m;
      })().then(
        (m) => m,
        (e: unknown) => ConnectError.from(e),
      );
      stop.abort();
      assert.ok(
        got instanceof ConnectError && got.code === Code.AlreadyExists,
        `Stream with ${session}: ${String(got)}`,
      );
    }
    // The victim still holds its clientId and reads its rows.
    const batch = await victim.get(
      { destination: "example", clientId, session: mine.session, batchSize: 100, timeoutMs: 5000n },
      { headers: bearer("reader") },
    );
    assert.ok(batch.entries.length > 0, "the victim got its rows");
    await victim.ack(
      { destination: "example", clientId, session: mine.session, batchId: batch.batchId },
      { headers: bearer("reader") },
    );
    await victim.unsubscribe(
      { destination: "example", clientId, session: mine.session },
      { headers: bearer("reader") },
    );
  });
});

describe("no bypass", () => {
  test("a direct call to a gateway-only server is refused, with a client's token or a forged proof", async () => {
    for (const t of TRANSPORTS) {
      const o = await everyMethod(t.make(gated.url, bearer("admin")), "direct");
      allRefused(
        o,
        Code.Unauthenticated,
        /^the bearer token was not accepted$/,
        `${t.name}, a client's token`,
      );
      const forged = await everyMethod(
        t.make(gated.url, { [GATEWAY_HEADER]: gatewayProof("a guess"), [PRINCIPAL_HEADER]: "token:admin" }),
        "direct",
      );
      allRefused(
        forged,
        Code.Unauthenticated,
        /sluice-gateway header was not accepted/,
        `${t.name}, a forged proof`,
      );
    }
  });

  test("the consumer-fencing header locks no clientId out: only gateways may send it", async () => {
    const clientId = "fenced";
    const consumer = createClient(CanalService, createGrpcTransport({ baseUrl: gateway.url }));
    const h = { headers: bearer("reader") };
    const sub = await consumer.subscribe({ destination: "example", clientId }, h);
    const huge = { [CLIENT_EPOCH_HEADER]: "99999999999999999999" };
    // Straight to the server running it, as a client (gateway-only: not even authenticated),
    // and to an authenticated server with a client's valid token.
    for (const t of TRANSPORTS) {
      const direct = createClient(CanalService, t.make(gated.url, { ...huge, ...bearer("admin") }));
      await assert.rejects(
        direct.get({ destination: "example", clientId, batchSize: 1 }),
        (e: ConnectError) => e.code === Code.Unauthenticated,
      );
      const standaloneCall = createClient(
        CanalService,
        t.make(standalone.url, { ...huge, ...bearer("admin") }),
      );
      await assert.rejects(
        standaloneCall.get({ destination: "example", clientId, batchSize: 1 }),
        (e: ConnectError) =>
          e.code === Code.PermissionDenied &&
          /sluice-client-epoch: only sluice gateways may send it/.test(e.rawMessage),
        t.name,
      );
    }
    // The consumer goes on as if nothing happened, here and on the standalone server.
    await db.query("INSERT INTO shop.orders VALUES (2, 'mug')");
    const got = await consumer.get(
      { destination: "example", clientId, session: sub.session, batchSize: 100, timeoutMs: 5000n },
      h,
    );
    assert.ok(got.entries.length > 0);
    await consumer.ack({ destination: "example", clientId, session: sub.session, batchId: got.batchId }, h);
    const direct = createClient(
      CanalService,
      createConnectTransport({ baseUrl: standalone.url, httpVersion: "1.1" }),
    );
    await direct.subscribe({ destination: "example", clientId }, h);
    await direct.get({ destination: "example", clientId, batchSize: 1 }, h);
    await consumer.unsubscribe({ destination: "example", clientId, session: sub.session }, h);
  });
});

describe("health", () => {
  test("open by default (the gateway); behind authentication when configured (the standalone server)", async () => {
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
    const check = await fetch(`${gateway.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(check.status, 200);
    const refused = await fetch(`${standalone.url}/readyz`);
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /credentials are required/);
    assert.equal((await fetch(`${standalone.url}/readyz`, { headers: bearer("reader") })).status, 200);
  });
});

describe("clients send credentials", () => {
  test("the TypeScript client sends its token on every transport (and canal's user with basicAuth)", async () => {
    const kinds = [
      { transport: "connect", httpVersion: "1.1" },
      { transport: "connect", httpVersion: "2" },
      { transport: "grpc", httpVersion: "2" },
      { transport: "grpc-web", httpVersion: "1.1" },
    ] as const;
    for (const [i, k] of kinds.entries()) {
      const clientId = `ts-${i}`;
      const client = createSluiceClient({ baseUrl: standalone.url, ...k, token: tokens.reader });
      await client.canal.subscribe({ destination: "example", clientId });
      await client.canal.get({ destination: "example", clientId, batchSize: 1 });
      const anonymous = createSluiceClient({ baseUrl: standalone.url, ...k });
      await assert.rejects(
        anonymous.canal.get({ destination: "example", clientId, batchSize: 1 }),
        (e: ConnectError) => e.code === Code.Unauthenticated,
        `${k.transport} ${k.httpVersion}`,
      );
      const canal = createSluiceClient({
        baseUrl: gateway.url,
        ...k,
        basicAuth: { user: "canal", password: "canal-pw" },
      });
      const stop = new AbortController();
      for await (const _ of canal.stream({
        destination: "other",
        clientId,
        signal: stop.signal,
        onSubscribed: () => stop.abort(),
      })) {
        assert.fail("no batch expected");
      }
    }
  });

  test("examples/stream.js sends SLUICE_TOKEN", async () => {
    const client = createSluiceClient({ baseUrl: standalone.url, token: tokens.reader });
    await client.canal.subscribe({ destination: "example", clientId: "ex-token" });
    await db.query("INSERT INTO shop.orders VALUES (100, 'example-row')");
    const { stdout } = await execFileAsync(process.execPath, [`${EXAMPLES}stream.js`], {
      env: {
        ...process.env,
        SLUICE_URL: standalone.url,
        SLUICE_CLIENT_ID: "ex-token",
        SLUICE_MAX_ROWS: "1",
        SLUICE_TOKEN: tokens.reader,
      },
      timeout: 60_000,
    });
    assert.match(stdout, /"id":"100"/);
  });

  test("sluice status sends SLUICE_TOKEN_FILE; sluice token create makes a token its file line accepts", async () => {
    const tokenFile = join(dir, "admin.token");
    writeFileSync(tokenFile, `${tokens.admin}\n`);
    const status = await execFileAsync(
      process.execPath,
      [SLUICE_MAIN, "status", "--server", standalone.url],
      {
        env: { ...process.env, SLUICE_TOKEN_FILE: tokenFile },
      },
    );
    assert.match(status.stdout, /example/);
    const refused = await execFileAsync(
      process.execPath,
      [SLUICE_MAIN, "status", "--server", standalone.url],
      {
        env: { ...process.env, SLUICE_TOKEN: "", SLUICE_TOKEN_FILE: "" },
      },
    ).then(
      () => assert.fail("status without a token succeeded"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /sluice status: credentials are required/);

    const file = join(dir, "made-tokens");
    const made = await execFileAsync(process.execPath, [
      SLUICE_MAIN,
      "token",
      "create",
      "svc",
      "--scope",
      "read:example",
      "--file",
      file,
    ]);
    const token = made.stdout.trim();
    assert.match(token, /^svc\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await verifyToken(readTokenFile(file), token), {
      id: "svc",
      via: "token",
      scopes: ["read:example"],
    });
    const passwd = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, [SLUICE_MAIN, "token", "canal-passwd"], (err, stdout) =>
        err ? reject(err) : resolve(stdout.trim()),
      );
      child.stdin?.end("canal\n");
    });
    assert.equal(
      passwd,
      "E3619321C1A937C46A0D8BD1DAC39F93B27D4458",
      "canal's own canal.passwd for the password canal",
    );
  });
});
