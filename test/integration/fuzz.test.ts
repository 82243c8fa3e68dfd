// Fuzzing (docs/security.md, "Fuzzing"): random and malformed requests against every method of
// CanalService and AdminService, over Connect JSON, Connect binary, gRPC and gRPC-Web, typed
// (well-formed messages with random field values, through connect-es's clients) and raw
// (bodies that are not messages: garbage, cut or overlong frames, bad JSON), on a standalone
// server (cursors in its file store), through a gateway in front of an elected server (cursors
// in ZooKeeper), and without credentials on a standalone server that authenticates (only
// unauthenticated, or the refusal of a request it could not read). Every call must be answered
// within its deadline and a grace period, with ok or a code docs/api.md and docs/http.md list;
// no process may exit; and a call that fails moves no cursor (the cursors of the clientIds it
// names, and of the fuzzer's own, are read before and after it).
//
// SLUICE_FUZZ_RUNS sets the cases per method and target (default RUNS below, about 1,500 cases
// in all); SLUICE_FUZZ_SEED replays a run (fast-check prints the seed of a failing one).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import fc from "fast-check";
import { ZkClient } from "../../src/common/zk/client.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { createToken } from "../../src/security/tokens.js";
import { startSluiceGateway, startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import {
  BATCH,
  envelopedBody,
  jsonBody,
  KNOWN_CLIENTS,
  METHODS,
  type Method,
  protoBody,
  requestOf,
  SESSION,
  serviceOf,
} from "../harness/fuzz-cases.js";
import {
  type Answer,
  closeRawSessions,
  cursorChanges,
  DOCUMENTED,
  fileCursors,
  HANG_MS,
  type RawProtocol,
  rawCall,
  TYPED_PROTOCOLS,
  type TypedProtocol,
  typedCall,
  zkCursors,
} from "../harness/fuzz-wire.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir } from "../harness/processes.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const RUNS = Number(process.env.SLUICE_FUZZ_RUNS ?? 45);
const SEED = process.env.SLUICE_FUZZ_SEED === undefined ? undefined : Number(process.env.SLUICE_FUZZ_SEED);
const DESTINATION = "example";
const ZK_ROOT = "/otter/canal";
/** Names the stores could hold: the others are never read (a clientId may be "../.."). */
const STORABLE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;
const TARGETS = [
  "standalone server",
  "gateway (elected server behind it)",
  "standalone server with authentication, calls without credentials",
] as const;
/**
 * What a server that authenticates may answer a call without credentials: unauthenticated, or
 * a refusal of a request it could not read (too large, not a message), which comes first.
 */
const WITHOUT_CREDENTIALS: ReadonlySet<string> = new Set([
  "unauthenticated",
  "invalid_argument",
  "resource_exhausted",
]);

type Case =
  | { kind: "typed"; protocol: TypedProtocol; request: Record<string, unknown> }
  | { kind: "raw"; protocol: RawProtocol; body: Uint8Array };

interface Target {
  name: string;
  url: string;
  /** The codes its answers may carry; default DOCUMENTED. */
  allowed?: ReadonlySet<string>;
  /** A bearer token the fuzzer's own calls carry (the fuzzed calls never do). */
  token?: string;
  /** The processes that must stay up. */
  processes: ManagedProcess[];
  /** The cursors of `clientIds` of the destination: clientId → the store's text. */
  cursors(clientIds: readonly string[]): Promise<Map<string, string>>;
  /** The fuzzer's session of each of its known clientIds. */
  sessions: Map<string, string>;
  /** Cases by method, then by how they were answered. */
  counts: Map<Method, Map<string, number>>;
  preparedFailed: number;
}

/** A case of `method`: mostly typed requests; raw bodies in the forms its protocols take. */
function caseOf(method: Method): fc.Arbitrary<Case> {
  const enveloped: RawProtocol[] =
    method === "Stream" ? ["connect-stream", "grpc", "grpc-web"] : ["grpc", "grpc-web"];
  const raw: fc.Arbitrary<Case>[] = [
    fc.record({
      kind: fc.constant("raw" as const),
      protocol: fc.constantFrom(...enveloped),
      body: envelopedBody,
    }),
  ];
  if (method !== "Stream") {
    raw.push(
      fc.record({
        kind: fc.constant("raw" as const),
        protocol: fc.constant("connect-json" as const),
        body: fc.oneof(
          jsonBody.map((s) => new Uint8Array(Buffer.from(s, "utf8"))),
          protoBody, // not UTF-8, not JSON
        ),
      }),
      fc.record({
        kind: fc.constant("raw" as const),
        protocol: fc.constant("connect-proto" as const),
        body: protoBody,
      }),
    );
  }
  const typed = fc.record({
    kind: fc.constant("typed" as const),
    protocol: fc.constantFrom(...TYPED_PROTOCOLS),
    request: requestOf(method),
  });
  return fc.oneof({ weight: 3, arbitrary: typed }, { weight: 2, arbitrary: fc.oneof(...raw) });
}

function isKnown(clientId: unknown): clientId is string {
  return (KNOWN_CLIENTS as readonly unknown[]).includes(clientId);
}

/**
 * Makes `clientId` the fuzzer's, with a batch given out: Subscribe (with its session, so a
 * gateway renews the hold), Rollback (so the batch is the oldest outstanding), Get.
 */
async function prepare(t: Target, clientId: string): Promise<{ session: string; batch: string }> {
  const canal = createClient(CanalService, createGrpcTransport({ baseUrl: t.url }));
  const opts = { timeoutMs: 5000, headers: t.token ? { authorization: `Bearer ${t.token}` } : {} };
  const base = { destination: DESTINATION, clientId };
  try {
    const { session } = await canal.subscribe({ ...base, session: t.sessions.get(clientId) ?? "" }, opts);
    t.sessions.set(clientId, session);
    await canal.rollback({ ...base, session }, opts);
    const got = await canal.get({ ...base, session, batchSize: 5, timeoutMs: 500n }, opts);
    return { session, batch: got.batchId };
  } catch (err) {
    // Another holder (a fuzzed Subscribe took the clientId with a session the fuzzer does not
    // know): the case runs with what the fuzzer last had.
    if (ConnectError.from(err).code !== Code.AlreadyExists) throw err;
    t.preparedFailed++;
    return { session: t.sessions.get(clientId) ?? "", batch: "" };
  }
}

/** The request with its markers replaced by the session and batch of a clientId the fuzzer holds. */
async function resolve(t: Target, request: Record<string, unknown>): Promise<Record<string, unknown>> {
  const markers = request.session === SESSION || request.batchId === BATCH;
  if (!markers && !isKnown(request.clientId)) return request;
  const owner = isKnown(request.clientId) ? request.clientId : (KNOWN_CLIENTS[0] as string);
  const { session, batch } = await prepare(t, owner);
  const out = { ...request };
  if (out.session === SESSION) out.session = session;
  if (out.batchId === BATCH) out.batchId = batch;
  return out;
}

/** What the fuzzer learns from an answer: a Subscribe of its clientId that succeeded hands it the hold. */
function learn(t: Target, method: Method, request: Record<string, unknown>, answer: Answer): void {
  if (answer.code !== "ok" || !isKnown(request.clientId)) return;
  if (method === "Subscribe")
    t.sessions.set(request.clientId, (answer.response as { session: string }).session);
  if (method === "Unsubscribe") t.sessions.delete(request.clientId);
}

function exited(t: Target): string | undefined {
  const gone = t.processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
  return gone && `${gone.name} exited (${gone.child.exitCode ?? gone.child.signalCode}); see ${gone.logFile}`;
}

function describeCase(method: Method, c: Case): string {
  const what =
    c.kind === "typed"
      ? JSON.stringify(c.request, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))
      : Buffer.from(c.body).toString("hex");
  return `${method} ${c.kind} ${c.protocol}: ${what.length > 300 ? `${what.slice(0, 300)}... (${what.length})` : what}`;
}

/** Runs one case against `t` and checks what the fuzzer promises. */
async function check(t: Target, method: Method, c: Case): Promise<void> {
  const request =
    c.kind === "typed"
      ? await resolve(t, c.request).catch((err: unknown) => {
          // The fuzzer's own calls failing: an earlier case broke the clientId (or the process).
          throw new Error(`${t.name}, preparing ${describeCase(method, c)}: ${(err as Error).message}`);
        })
      : undefined;
  const named = request && typeof request.clientId === "string" && STORABLE.test(request.clientId);
  const watched = [...KNOWN_CLIENTS, ...(named ? [request.clientId as string] : [])];
  const before = await t.cursors(watched);
  const started = performance.now();
  const answer: Answer =
    c.kind === "typed"
      ? await typedCall(t.url, c.protocol, method, request as Record<string, unknown>)
      : await rawCall(t.url, `/${serviceOf(method)}/${method}`, c.protocol, c.body);
  const ms = performance.now() - started;
  const moved = cursorChanges(before, await t.cursors(watched));
  const counts = t.counts.get(method) ?? new Map<string, number>();
  t.counts.set(method, counts.set(answer.code, (counts.get(answer.code) ?? 0) + 1));
  if (request) learn(t, method, request, answer);

  const where = `${t.name}, ${describeCase(method, c)}`;
  const crash = exited(t);
  assert.equal(crash, undefined, `${where}: ${crash}`);
  assert.ok(ms < HANG_MS, `${where}: answered after ${Math.round(ms)} ms (${answer.code})`);
  assert.ok(
    (t.allowed ?? DOCUMENTED).has(answer.code),
    `${where}: answered ${answer.code}: ${answer.message.slice(0, 500)}`,
  );
  if (answer.code !== "ok") {
    assert.deepEqual(
      moved,
      [],
      `${where}: failed with ${answer.code} (${answer.message.slice(0, 200)}) yet cursors moved`,
    );
  }
}

function printCounts(t: Target, ms: number): void {
  let total = 0;
  for (const method of METHODS) {
    const counts = t.counts.get(method) ?? new Map<string, number>();
    const n = [...counts.values()].reduce((a, b) => a + b, 0);
    total += n;
    const byCode = [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`);
    process.stdout.write(`${t.name}, ${method}: ${n} cases (${byCode.join(", ")})\n`);
  }
  process.stdout.write(
    `${t.name}: ${total} cases in ${(ms / 1000).toFixed(1)} s (SLUICE_FUZZ_RUNS=${RUNS} per method); ` +
      `${t.preparedFailed} preparations found the clientId held by another\n`,
  );
}

describe("fuzzing: random and malformed requests against every method", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let zkc: ZkClient;
  let dir: string;
  const processes: ManagedProcess[] = [];
  const targets: Target[] = [];
  let writing: Promise<void> | undefined;
  const stopWriting = new AbortController();

  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    dir = makeTempDir("fuzz");
    await db.query(
      "CREATE DATABASE fuzz; CREATE TABLE fuzz.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))",
    );
    zkc = await ZkClient.connect(zk.connectString);
    const [standalonePort, serverPort, gatewayPort, authPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const dataDir = join(dir, "standalone-data");
    const standalone = await startSluiceServer(
      dir,
      "standalone",
      standalonePort,
      standaloneConfig("standalone", dataDir),
    );
    const server = await startSluiceServer(dir, "server", serverPort, writeServerConfig(dir, zk, db));
    const gateway = await startSluiceGateway(dir, "gateway", gatewayPort, zk);
    // A server that authenticates: the fuzzer's own calls carry a token, the fuzzed calls none.
    const { token, line } = await createToken("fuzzer");
    writeFileSync(join(dir, "tokens"), `${line}\n`);
    const authDataDir = join(dir, "authenticated-data");
    const authenticated = await startSluiceServer(
      dir,
      "authenticated",
      authPort,
      standaloneConfig("authenticated", authDataDir, ["security:", `  tokens: "${join(dir, "tokens")}"`]),
    );
    processes.push(standalone, server, gateway, authenticated);
    targets.push(
      target(TARGETS[0], `http://127.0.0.1:${standalonePort}`, [standalone], (ids) =>
        fileCursorsOf(dataDir, ids),
      ),
      target(TARGETS[1], `http://127.0.0.1:${gatewayPort}`, [server, gateway], (ids) =>
        zkCursors(zkc, ZK_ROOT, DESTINATION, ids),
      ),
      {
        ...target(TARGETS[2], `http://127.0.0.1:${authPort}`, [authenticated], (ids) =>
          fileCursorsOf(authDataDir, ids),
        ),
        token,
        allowed: WITHOUT_CREDENTIALS,
      },
    );
    // Rows keep coming, so that Gets give batches to ack and roll back.
    writing = (async () => {
      while (!stopWriting.signal.aborted) {
        await db.query("INSERT INTO fuzz.t (v) VALUES ('a'), ('b')").catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  });

  function standaloneConfig(name: string, dataDir: string, more: string[] = []): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      [
        "host: 127.0.0.1",
        "metrics: { enabled: false }",
        `dataDir: "${dataDir}"`,
        "destinations:",
        `  - name: ${DESTINATION}`,
        `    source: "${db.sourceUrl}"`,
        "    heartbeat: 1s",
        ...more,
        "",
      ].join("\n"),
    );
    return file;
  }

  after(async () => {
    stopWriting.abort();
    await writing;
    closeRawSessions();
    await zkc?.close();
    for (const p of processes) await p.stop();
    await Promise.all([db?.stop(), zk?.stop()]);
    if (dir) removeDir(dir);
  });

  for (const [t, name] of TARGETS.entries()) {
    test(`${name}: every answer is documented and timely, nothing exits, no failed call moves a cursor`, async () => {
      const target = targets[t] as Target;
      const started = performance.now();
      try {
        for (const method of METHODS) {
          await fc.assert(
            fc.asyncProperty(caseOf(method), (c) => check(target, method, c)),
            // No shrinking: a case that hangs would be retried for minutes; the failing case
            // and the seed to replay it are in the report.
            { numRuns: RUNS, seed: SEED, endOnFailure: true, includeErrorInReport: true },
          );
        }
      } finally {
        printCounts(target, performance.now() - started);
      }
      // And it still serves.
      const health = await fetch(`${target.url}/readyz`);
      assert.equal(health.status, 200, `${target.name}: /readyz after the fuzzing`);
      // A clientId the fuzzing never named (a fuzzed Subscribe may hold the fuzzer's own), and
      // a few Gets: one may come back empty when the rows written meanwhile are all read.
      let after = { session: "", batch: "" };
      for (let i = 0; i < 10 && !after.batch; i++) after = await prepare(target, "after-fuzzing");
      assert.ok(after.session && after.batch, `${target.name}: Subscribe and Get after the fuzzing`);
    });
  }
});

function target(name: string, url: string, processes: ManagedProcess[], cursors: Target["cursors"]): Target {
  return { name, url, processes, cursors, sessions: new Map(), counts: new Map(), preparedFailed: 0 };
}

/** The cursors of `clientIds` of the destination in a file store. */
async function fileCursorsOf(dataDir: string, clientIds: readonly string[]): Promise<Map<string, string>> {
  const all = fileCursors(dataDir);
  const out = new Map<string, string>();
  for (const c of clientIds) {
    const cursor = all.get(`${DESTINATION}/${c}`);
    if (cursor !== undefined) out.set(c, cursor);
  }
  return out;
}
