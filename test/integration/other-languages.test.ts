// The generated Go and Python clients, through their example consumers, built and run with
// Debian's toolchains against a live `sluice server`: each consumes a known workload over
// gRPC, acks it, and prints exactly the rows it acked, in order, also when the server is killed
// and restarted under it. The standalone server authenticates its clients (a token file): the
// examples send their token (Go from SLUICE_TOKEN, Python from SLUICE_TOKEN_FILE).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { ZkClient } from "../../src/common/zk/client.js";
import { ZkPaths } from "../../src/common/zk/paths.js";
import { createToken } from "../../src/security/tokens.js";
import {
  startSluiceServer as startElectedServer,
  startSluiceGateway,
  writeServerConfig,
} from "../gateway/cluster.js";
import { TestCa } from "../harness/certificates.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { type SluiceServerProcess, startSluiceServer } from "../harness/sluice-server.js";
import { startZooKeeper } from "../harness/zookeeper.js";

const execFileAsync = promisify(execFile);
// The sources, not dist/: the tests run from dist/test/integration.
const CLIENTS = fileURLToPath(new URL("../../../src/clients/", import.meta.url));

let db: MariaDB;
let dataDir: string;
let server: SluiceServerProcess;
let nextId = 1;
/** The standalone server's flags (its token file) and the consumers' token. */
let serverArgs: string[];
let token: string;
let tokenFile: string;

before(async () => {
  db = await startMariaDB();
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dataDir = makeTempDir("other-languages");
  const made = await createToken("consumers");
  token = made.token;
  writeFileSync(join(dataDir, "tokens"), `${made.line}\n`);
  tokenFile = join(dataDir, "consumer.token");
  writeFileSync(tokenFile, `${token}\n`);
  serverArgs = ["--auth-tokens", join(dataDir, "tokens")];
  server = await startSluiceServer({
    name: "server",
    sourceUrl: db.sourceUrl,
    dataDir,
    extraArgs: serverArgs,
  });
});
after(async () => {
  await server?.stop();
  await db?.stop();
  removeDir(dataDir);
});

/**
 * Registers clientId at the head: a server's Subscribe; through a gateway a stream that ends
 * once subscribed (its hold ends with it, where a Subscribe's lease would hold the clientId).
 */
async function register(clientId: string, gateway?: string): Promise<void> {
  if (!gateway) {
    await createSluiceClient({ baseUrl: server.url, token }).canal.subscribe({
      destination: "example",
      clientId,
    });
    return;
  }
  const stop = new AbortController();
  const stream = createSluiceClient({ baseUrl: gateway }).stream({
    destination: "example",
    clientId,
    signal: stop.signal,
    onSubscribed: () => stop.abort(),
  });
  for await (const _ of stream) assert.fail("no batch expected");
}

/** Registers clientId (its cursor at the head), then writes the workload: inserts, an update, a delete. */
async function workload(clientId: string, gateway?: string): Promise<string[]> {
  await register(clientId, gateway);
  const ids = Array.from({ length: 150 }, () => nextId++);
  for (let i = 0; i < ids.length; i += 10) {
    const tx = ids.slice(i, i + 10);
    await db.query(`INSERT INTO shop.orders VALUES ${tx.map((id) => `(${id}, 'item-${id}')`).join(",")}`);
  }
  await db.query("UPDATE shop.orders SET item = 'changed' WHERE id = ?", [ids[0]]);
  await db.query("DELETE FROM shop.orders WHERE id = ?", [ids[1]]);
  return [
    ...ids.map((id) => `INSERT ${id} item-${id}`),
    `UPDATE ${ids[0]} changed`,
    `DELETE ${ids[1]} item-${ids[1]}`,
  ];
}

interface PrintedRow {
  table: string;
  type: string;
  after?: Record<string, string | null>;
  before?: Record<string, string | null>;
}

function summary(stdout: string): string[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as PrintedRow)
    .map((r) => {
      assert.equal(r.table, "shop.orders");
      const image = r.after ?? r.before ?? {};
      return `${r.type} ${image.id} ${image.item}`;
    });
}

/**
 * Runs a consumer through a server crash: the workload, the consumer until it has printed all
 * of it, a SIGKILL and restart of the server on the same port, more rows, and the consumer's
 * exit once it has printed those too. Returns what it printed and what it should have.
 */
async function consumeAcrossRestart(
  command: string,
  args: string[],
  clientId: string,
  extraEnv: NodeJS.ProcessEnv = {},
  via?: { gateway: string; crash: () => Promise<void> },
): Promise<{ printed: string[]; expected: string[]; stderr: string }> {
  const first = await workload(clientId, via?.gateway);
  const more = Array.from({ length: 50 }, () => nextId++);
  const expected = [...first, ...more.map((id) => `INSERT ${id} item-${id}`)];
  const child = spawn(command, args, {
    env: {
      ...consumerEnv(clientId, expected.length, via ? new URL(via.gateway).host : undefined),
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (stdout.split("\n").length - 1 < first.length) {
      assert.ok(Date.now() < deadline, `the consumer printed only:\n${stdout}\n${stderr}`);
      assert.equal(child.exitCode, null, `the consumer exited early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (via) await via.crash();
    else {
      await server.kill();
      server = await startSluiceServer({
        name: `server-${clientId}`,
        sourceUrl: db.sourceUrl,
        dataDir,
        port: server.port,
        extraArgs: serverArgs,
      });
    }
    for (let i = 0; i < more.length; i += 10) {
      const tx = more.slice(i, i + 10);
      await db.query(`INSERT INTO shop.orders VALUES ${tx.map((id) => `(${id}, 'item-${id}')`).join(",")}`);
    }
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r("timeout"), 90_000).unref()),
    ]);
    assert.equal(code, 0, `the consumer ended with ${code}: ${stderr}`);
  } finally {
    child.kill("SIGKILL");
  }
  return { printed: summary(stdout), expected, stderr };
}

function consumerEnv(clientId: string, rows: number, addr = `127.0.0.1:${server.port}`): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SLUICE_ADDR: addr,
    SLUICE_CLIENT_ID: clientId,
    SLUICE_MAX_ROWS: String(rows),
  };
}

let gopath: string | undefined;
/**
 * The Go example consumer, built once as the module src/clients/go builds for its users with
 * no network: its debian-vendor.sh links vendor/ to Debian's Go packages, then `go build`
 * (in a copy: vendor/ is made beside go.mod).
 */
async function goConsumer(): Promise<string> {
  if (gopath) return join(gopath, "consumer");
  gopath = makeTempDir("gopath");
  const bin = join(gopath, "consumer");
  const module = join(gopath, "module");
  cpSync(join(CLIENTS, "go"), module, { recursive: true, filter: (src) => !src.endsWith("/vendor") });
  await execFileAsync("bash", [join(module, "debian-vendor.sh")], { timeout: 60_000 });
  await execFileAsync("go", ["build", "-o", bin, "./example"], {
    cwd: module,
    env: { ...process.env, GO111MODULE: "on", GOPROXY: "off", GOFLAGS: "", GOPATH: gopath },
    timeout: 600_000,
  });
  return bin;
}
after(() => {
  if (gopath) removeDir(gopath);
});

test("the README's apt-get line for the Go and Python clients names every package the tests install", () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const setup = readFileSync(join(root, "scripts/setup.sh"), "utf8");
  const block = setup.slice(setup.indexOf("ensure_client_toolchains()"));
  const wanted = [...block.slice(0, block.indexOf("}")).matchAll(/:([a-z0-9.+-]+) \\?$/gm)]
    .map((m) => m[1] as string)
    .filter((p) => p.startsWith("golang-") || p === "python3-grpcio");
  assert.ok(wanted.includes("golang-github-golang-protobuf-1-5-dev"), wanted.join(" "));
  const readme = readFileSync(join(root, "README.md"), "utf8").replace(/\s+/g, " ");
  const line = /apt-get install ([^`]+)`/.exec(readme.slice(readme.indexOf("To try them")))?.[1] ?? "";
  for (const pkg of wanted)
    assert.ok(line.split(" ").includes(pkg), `README's apt-get line lacks ${pkg}: ${line}`);
});

test("Go (a module built offline from Debian's packages): the example consumer acks exactly the workload", async () => {
  {
    const bin = await goConsumer();
    const expected = await workload("go");
    const { stdout } = await execFileAsync(bin, [], {
      env: { ...consumerEnv("go", expected.length), SLUICE_TOKEN: token },
      timeout: 60_000,
    });
    assert.deepEqual(summary(stdout), expected);
    const status = await createSluiceClient({ baseUrl: server.url, token }).admin.getDestination({
      destination: "example",
    });
    assert.equal(status.destination?.clients.find((c) => c.clientId === "go")?.outstandingBatches, 0);
  }
});

test("Python (Debian's grpcio): the example consumer acks exactly the workload, across a server crash", async () => {
  const { printed, expected, stderr } = await consumeAcrossRestart(
    "/usr/bin/python3",
    [join(CLIENTS, "python/example.py")],
    "python",
    { PYTHONDONTWRITEBYTECODE: "1", SLUICE_TOKEN_FILE: tokenFile },
  );
  assert.deepEqual(printed, expected);
  assert.match(stderr, /opening it again/, "it noticed the crash and opened the stream again");
  const status = await createSluiceClient({ baseUrl: server.url, token }).admin.getDestination({
    destination: "example",
  });
  assert.equal(status.destination?.clients.find((c) => c.clientId === "python")?.outstandingBatches, 0);
});

test("Go and Python through a gateway (servers elected in ZooKeeper): exact acked rows across a SIGKILL of the running server; Python across a SIGKILL and restart of the gateway too", async () => {
  const zk = await startZooKeeper();
  const dir = makeTempDir("other-languages-gateway");
  const servers: ManagedProcess[] = [];
  let gateway: ManagedProcess | undefined;
  // The ZooKeeper session outlives the gateway's restart: the consumer's hold is still there
  // when it reopens its stream, which takes it over with its session.
  const gatewayArgs = ["--hold", "8s", "--zk-session-timeout", "30s"];
  const zkc = await ZkClient.connect(zk.connectString);
  try {
    const config = writeServerConfig(dir, zk, db);
    const [pa, pb, pg] = [await freePort(), await freePort(), await freePort()];
    servers.push(await startElectedServer(dir, "server-a", pa, config));
    servers.push(await startElectedServer(dir, "server-b", pb, config));
    gateway = await startSluiceGateway(dir, "gateway", pg, zk, gatewayArgs);
    const url = `http://127.0.0.1:${pg}`;
    let kills = 0;
    /** SIGKILLs the running server (the other takes over), then starts it again as a standby. */
    const killRunner = async () => {
      const { data } = await zkc.get(new ZkPaths().destinationRunning("example"));
      const address = (JSON.parse(data.toString("utf8")) as { address: string }).address;
      const i = address.endsWith(`:${pa}`) ? 0 : 1;
      await servers[i]?.kill();
      servers[i] = await startElectedServer(dir, `server-${i}-again-${++kills}`, i === 0 ? pa : pb, config);
    };

    const go = await consumeAcrossRestart(
      await goConsumer(),
      [],
      "go-gw",
      {},
      { gateway: url, crash: killRunner },
    );
    assert.deepEqual(go.printed, go.expected, "Go through the gateway");
    assert.match(go.stderr, /opening it again/, "it noticed and opened the stream again");

    const py = await consumeAcrossRestart(
      "/usr/bin/python3",
      [join(CLIENTS, "python/example.py")],
      "python-gw",
      { PYTHONDONTWRITEBYTECODE: "1" },
      {
        gateway: url,
        crash: async () => {
          const paths = new ZkPaths();
          const killed = (await zkc.get(paths.destinationRunning("example"))).stat.ephemeralOwner;
          await killRunner();
          // The consumer reopens its stream until the new runner serves; the gateway keeps a
          // reopened stream waiting for the new runner, its hold taken. Kill the gateway only
          // once the new runner and the hold have both lasted: a hold whose session never
          // reached the consumer would stand (already_exists) until the dead gateway's
          // ZooKeeper session expires.
          await waitFor(
            "the consumer's stream to settle on the new runner",
            async () => {
              const running = await zkc.get(paths.destinationRunning("example")).catch(() => undefined);
              if (!running || running.stat.ephemeralOwner === killed) return undefined;
              const hold = await zkc.get(paths.clientRunning("example", "python-gw")).catch(() => undefined);
              if (!hold) return undefined;
              const settled = Math.max(hold.stat.ctime, running.stat.ctime);
              return Date.now() - settled > 1500 ? true : undefined;
            },
            { timeoutMs: 30_000, intervalMs: 100 },
          );
          await gateway?.kill();
          gateway = await startSluiceGateway(dir, "gateway-again", pg, zk, gatewayArgs);
        },
      },
    );
    assert.deepEqual(py.printed, py.expected, "Python through the gateway");
    assert.match(py.stderr, /opening it again/, "it noticed and opened the stream again");
    // Every stream that ended, ended with a status the examples retry on (the gateway's errors
    // are gRPC status trailers, a killed gateway's connection is UNAVAILABLE to grpcio too).
    for (const { stderr } of [go, py]) {
      assert.doesNotMatch(
        stderr,
        /StatusCode\.(UNKNOWN|INTERNAL)|code = (Unknown|Internal)|without sending trailers/,
        stderr,
      );
    }
  } finally {
    zkc.close();
    await gateway?.stop();
    for (const p of servers) await p.stop();
    await zk.stop();
    removeDir(dir);
  }
});

test("Go and Python over TLS, with a client certificate (a server that requires one)", async () => {
  const dir = makeTempDir("other-languages-tls");
  const ca = TestCa.create(dir, "ca");
  const cert = ca.issue("server", { cn: "sluice-server", ips: ["127.0.0.1"], usage: "server" });
  const client = ca.issue("client", { cn: "consumer", usage: "client" });
  const tls = { ca: ca.cert, cert: client.cert, key: client.key };
  const secured = await startSluiceServer({
    name: "tls-server",
    sourceUrl: db.sourceUrl,
    dataDir: dir,
    extraArgs: ["--tls-cert", cert.cert, "--tls-key", cert.key, "--tls-client-ca", ca.cert],
    tls,
  });
  try {
    const pem = { ca: readFileSync(ca.cert), cert: readFileSync(client.cert), key: readFileSync(client.key) };
    for (const [language, command, args] of [
      ["go-tls", await goConsumer(), []],
      ["python-tls", "/usr/bin/python3", [join(CLIENTS, "python/example.py")]],
    ] as const) {
      await createSluiceClient({ baseUrl: secured.url, tls: pem }).canal.subscribe({
        destination: "example",
        clientId: language,
      });
      const expected = await workload(`${language}-plain`);
      const env = {
        ...consumerEnv(language, expected.length, `127.0.0.1:${secured.port}`),
        SLUICE_CA: ca.cert,
        SLUICE_CERT: client.cert,
        SLUICE_KEY: client.key,
        PYTHONDONTWRITEBYTECODE: "1",
      };
      const { stdout } = await execFileAsync(command, [...args], { env, timeout: 60_000 });
      assert.deepEqual(summary(stdout), expected, language);
      // Without the client certificate the server lets nothing through.
      const refused = await execFileAsync(command, [...args], {
        env: { ...env, SLUICE_CERT: "", SLUICE_KEY: "", SLUICE_MAX_ROWS: "1" },
        timeout: 20_000,
      }).then(
        () => "ran",
        (err: Error) => err.message,
      );
      assert.notEqual(refused, "ran", `${language}: no client certificate, no rows`);
    }
  } finally {
    await secured.stop();
    removeDir(dir);
  }
});
