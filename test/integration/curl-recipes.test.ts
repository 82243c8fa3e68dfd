// Runs the README's curl recipes exactly as written (taken from the README itself) against a
// real server, and against a gateway in front of servers elected in ZooKeeper, over HTTP/1.1
// and TLS as the quickstart runs them (servers that take only the gateway's client
// certificate and its secret behind it), and checks what they print. Both authenticate
// callers (a token file): the recipes send SLUICE_TOKEN.
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { silentLogger } from "../../src/common/log.js";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { createToken } from "../../src/security/tokens.js";
import { loadServerConfig } from "../../src/server/config/load.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { startSluiceGateway, startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import { type IssuedCertificate, TestCa } from "../harness/certificates.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { startZooKeeper } from "../harness/zookeeper.js";

const execFileAsync = promisify(execFile);
const README = fileURLToPath(new URL("../../../README.md", import.meta.url));

/** The recipe block, split into its preamble (variables) and one step per command. */
function recipes(): { preamble: string; steps: Map<string, string> } {
  const text = readFileSync(README, "utf8");
  const m = /<!-- curl-recipes -->\s*```sh\n([\s\S]*?)```\s*<!-- \/curl-recipes -->/.exec(text);
  assert.ok(m, "README has the curl-recipes block");
  const [preamble, ...rest] = (m[1] as string).trim().split(/\n\s*\n/);
  const steps = new Map<string, string>();
  for (const step of rest) {
    const name = /\$[SA]\/(\w+)/.exec(step)?.[1];
    assert.ok(name, `a step without an RPC: ${step}`);
    steps.set(name, step);
  }
  return { preamble: preamble as string, steps };
}

let db: MariaDB;
let server: RunningServer;
let dataDir: string;
let ca: TestCa;
let serverCert: IssuedCertificate;
let gatewayCert: IssuedCertificate;
/** The token the recipes send, and the token file that has it. */
let token: string;
let tokens: string;
before(async () => {
  db = await startMariaDB();
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dataDir = makeTempDir("curl");
  ca = TestCa.create(dataDir, "ca");
  serverCert = ca.issue("server", { cn: "sluice-server", ips: ["127.0.0.1"], usage: "server" });
  gatewayCert = ca.issue("gateway", { cn: "sluice-gateway", ips: ["127.0.0.1"], usage: "both" });
  const made = await createToken("curl");
  token = made.token;
  tokens = join(dataDir, "tokens");
  writeFileSync(tokens, `${made.line}\n`);
  const config = loadServerConfig({
    argv: [
      "--host=127.0.0.1",
      "--port=0",
      `--source=${db.sourceUrl}`,
      `--data-dir=${dataDir}/cursors`,
      "--metrics-port=off",
      `--tls-cert=${serverCert.cert}`,
      `--tls-key=${serverCert.key}`,
      `--auth-tokens=${tokens}`,
    ],
    env: {},
  });
  server = await startServer(config, silentLogger);
});
after(async () => {
  await server?.close();
  await db?.stop();
  removeDir(dataDir);
});

// Asynchronous: the server runs in this process and must keep answering.
async function run(base: string, script: string, env: Record<string, string> = {}): Promise<unknown> {
  const { stdout } = await execFileAsync("bash", ["-c", script], {
    env: { ...process.env, SLUICE: base, SLUICE_CA: ca.cert, SLUICE_TOKEN: token, ...env },
    timeout: 30_000,
  });
  return JSON.parse(stdout);
}

/**
 * Runs every recipe against `base` (a server or a gateway); `runner` is the address the
 * destination's running server has; `checkRelease` checks ReleaseDestination's answer.
 */
async function runRecipes(
  base: string,
  runner: string,
  checkRelease: (answer: unknown) => void,
): Promise<void> {
  const { preamble, steps } = recipes();
  const step = (name: string) => `set -euo pipefail\n${preamble}\n${steps.get(name)}`;
  assert.deepEqual(
    [...steps.keys()],
    [
      "Subscribe",
      "Get",
      "Ack",
      "Rollback",
      "Stream",
      "Unsubscribe",
      "ListDestinations",
      "GetDestination",
      "ReleaseDestination",
    ],
  );
  // The recipes must not ask curl for HTTP/2.
  for (const s of steps.values()) assert.ok(!s.includes("--http2"), s);
  // Without the token every call is refused.
  const refused = (await run(base, step("ListDestinations"), { SLUICE_TOKEN: "" })) as { code: string };
  assert.equal(refused.code, "unauthenticated");

  const sub = (await run(base, step("Subscribe"))) as {
    session: string;
    epoch: string;
    cursor: { journalName: string };
  };
  assert.match(sub.cursor.journalName, /^mysql-bin\.\d+$/);
  assert.ok(sub.session);
  const SESSION = sub.session;

  await db.query("INSERT INTO shop.orders VALUES (1, 'kettle'), (2, 'mug')");
  const got = (await run(base, step("Get"), { SESSION })) as {
    batchId: string;
    entries: Array<{ entryType: string }>;
    flatMessages: Array<{ type: string; data: Array<Record<string, string>> }>;
  };
  assert.ok(got.batchId);
  assert.deepEqual(
    got.entries.map((e) => e.entryType),
    ["ENTRY_TYPE_TRANSACTION_BEGIN", "ENTRY_TYPE_ROWDATA", "ENTRY_TYPE_TRANSACTION_END"],
  );
  assert.deepEqual(got.flatMessages[0]?.data, [
    { id: "1", item: "kettle" },
    { id: "2", item: "mug" },
  ]);

  const acked = (await run(base, step("Ack"), { BATCH: got.batchId, SESSION })) as {
    cursor: { journalName: string; position: string };
  };
  assert.ok(Number(acked.cursor.position) > 0);

  await db.query("INSERT INTO shop.orders VALUES (3, 'teapot')");
  const again = (await run(base, step("Get"), { SESSION })) as { batchId: string };
  const rolled = (await run(base, step("Rollback"), { SESSION })) as { rolledBackBatchIds: string[] };
  assert.deepEqual(rolled.rolledBackBatchIds, [again.batchId]);

  // The stream: the first line is `subscribed`, then the rolled back batch comes again.
  const child = spawn("bash", ["-c", step("Stream")], {
    env: { ...process.env, SLUICE: base, SLUICE_CA: ca.cert, SLUICE_TOKEN: token, SESSION },
  });
  const lines: string[] = [];
  let buffered = "";
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stream printed only: ${lines.join("\n")}`)), 20_000);
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      lines.push(...parts);
      if (lines.some((l) => l.includes('"batch"'))) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  try {
    await done;
  } finally {
    spawnSync("pkill", ["-P", String(child.pid)]);
    child.kill();
  }
  const first = JSON.parse(lines[0] as string) as { subscribed?: { session: string } };
  assert.ok(first.subscribed?.session);
  const batch = JSON.parse(lines.find((l) => l.includes('"batch"')) as string) as {
    batch: {
      entries: Array<{
        rowChange?: { rowDatas: Array<{ afterColumns: Array<{ name: string; value: string }> }> };
      }>;
    };
  };
  const values = batch.batch.entries
    .flatMap((e) => e.rowChange?.rowDatas ?? [])
    .flatMap((r) => r.afterColumns);
  assert.deepEqual(
    values.map((c) => `${c.name}=${c.value}`),
    ["id=3", "item=teapot"],
  );

  // The stream's session, as a consumer would take it for Ack, Rollback and Unsubscribe.
  const gone = (await run(base, step("Unsubscribe"), { SESSION: first.subscribed.session })) as object;
  assert.deepEqual(gone, {});

  const list = (await run(base, step("ListDestinations"))) as {
    destinations: Array<{
      name: string;
      running: { address: string };
      head: { journalName: string };
      clients?: Array<{ clientId: string }>;
    }>;
  };
  assert.equal(list.destinations.length, 1);
  assert.equal(list.destinations[0]?.name, "example");
  assert.equal(list.destinations[0]?.running.address, runner);
  assert.match(list.destinations[0]?.head.journalName ?? "", /^mysql-bin\.\d+$/);
  assert.ok(
    !(list.destinations[0]?.clients ?? []).some((c) => c.clientId === "1001"),
    "1001 was unsubscribed",
  );

  const one = (await run(base, step("GetDestination"))) as { destination: { name: string } };
  assert.equal(one.destination.name, "example");

  checkRelease(await run(base, step("ReleaseDestination")));
}

test("the README's curl recipes work as written, over HTTP/1.1 and TLS, against a server", async () => {
  assert.match(server.url, /^https:/);
  await runRecipes(server.url, new URL(server.url).host, (answer) => {
    // A standalone server has nobody to hand the destination to: the documented error, as JSON.
    const release = answer as { code: string; message: string };
    assert.equal(release.code, "failed_precondition");
    assert.match(release.message, /standalone/);
  });
});

test("the README's curl recipes work as written against a gateway (servers elected in ZooKeeper)", async () => {
  // The same rows again (the workload's ids): clear the table before the servers start, so
  // this is behind the head that clientId 1001 starts at.
  await db.query("DELETE FROM shop.orders");
  const zk = await startZooKeeper();
  const dir = makeTempDir("curl-gateway");
  const started: ManagedProcess[] = [];
  try {
    const config = writeServerConfig(dir, zk, db);
    // The servers serve the gateway only; the gateway authenticates the recipes' token.
    const secret = join(dir, "gateway.secret");
    writeFileSync(secret, "only-gateways-know-this\n");
    const [pa, pb, pg] = [await freePort(), await freePort(), await freePort()];
    // Servers take only clients with a certificate of the CA (the gateway's).
    const serverTls = [
      ...["--tls-cert", serverCert.cert, "--tls-key", serverCert.key, "--tls-client-ca", ca.cert],
    ];
    const probe = { ca: ca.cert, cert: gatewayCert.cert, key: gatewayCert.key };
    const serverOpts = { extraArgs: [...serverTls, "--gateway-secret-file", secret], tls: probe };
    started.push(await startSluiceServer(dir, "server-a", pa, config, serverOpts));
    const zkc = await ZkClient.connect(zk.connectString);
    const { data } = await waitFor(
      "a runner of example",
      () => zkc.get(new ZkPaths().destinationRunning("example")).catch(() => undefined),
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    zkc.close();
    const runner = (JSON.parse(data.toString("utf8")) as { address: string }).address;
    assert.equal(runner, `127.0.0.1:${pa}`);
    started.push(await startSluiceServer(dir, "server-b", pb, config, serverOpts));
    const gatewayTls = [
      ...["--tls-cert", gatewayCert.cert, "--tls-key", gatewayCert.key],
      ...[
        "--tls-upstream-ca",
        ca.cert,
        "--tls-upstream-cert",
        gatewayCert.cert,
        "--tls-upstream-key",
        gatewayCert.key,
      ],
    ];
    started.push(
      await startSluiceGateway(
        dir,
        "gateway",
        pg,
        zk,
        [...gatewayTls, "--auth-tokens", tokens, "--gateway-secret-file", secret],
        {},
        { ca: ca.cert },
      ),
    );
    await runRecipes(`https://127.0.0.1:${pg}`, runner, (answer) => {
      // With a standby in the cluster the runner lets the destination go; it names itself.
      assert.equal((answer as { released: { address: string } }).released.address, runner);
    });
  } finally {
    for (const p of started.reverse()) await p.stop();
    await zk.stop();
    removeDir(dir);
  }
});
