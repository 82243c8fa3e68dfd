// The README's first command: starts a private MariaDB and ZooKeeper, two sluice servers (one
// runs the destination, the other stands by), a gateway, a small write workload, and a
// consumer (the TypeScript client, through the gateway) that streams the row changes, prints
// them and acks. Passwords go as in production (docs/security.md): the source's in the
// environment, never in a command line; ZooKeeper's in a file, so that every node the servers
// and the gateway create carries an ACL. Every port speaks TLS with certificates of a
// throwaway CA made here: the servers take only callers with a certificate of that CA and the
// gateways' shared secret (the gateway), the consumer and curl trust the CA. The gateway
// authenticates callers with a bearer token made here (a token file holds its scrypt hash).
//   node dist/scripts/quickstart.js [--seconds N]
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createSluiceClient } from "../src/clients/typescript/index.js";
import { createToken } from "../src/security/tokens.js";
import { probeTls, TestCa } from "../test/harness/certificates.js";
import { startMariaDB } from "../test/harness/mariadb.js";
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  spawnManaged,
  waitFor,
} from "../test/harness/processes.js";
import { startZooKeeper } from "../test/harness/zookeeper.js";
import { formatChange } from "./quickstart-decode.js";

const { values } = parseArgs({
  options: { seconds: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log(
    "Usage: bash scripts/quickstart.sh [--seconds N]\nStops by itself after N seconds, else on Ctrl-C.",
  );
  process.exit(0);
}
const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
if (seconds !== undefined && !(seconds > 0)) {
  console.error(`--seconds must be a positive number, got "${values.seconds}"`);
  process.exit(2);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const SLUICE = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

say("sluice quickstart: starting a private MariaDB and ZooKeeper on loopback ...");
const [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
const work = makeTempDir("quickstart");
let stopping = false;
const cleanups: Array<() => Promise<void> | void> = [() => db.stop(), () => zk.stop(), () => removeDir(work)];
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  }
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  await db.query(
    "CREATE DATABASE shop; CREATE TABLE shop.orders (" +
      "id INT PRIMARY KEY AUTO_INCREMENT, item VARCHAR(40) NOT NULL, qty INT NOT NULL, " +
      "price DECIMAL(10,2) NOT NULL, status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new', " +
      "created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))",
  );

  // A throwaway CA and its certificates: the servers' and the gateway's name 127.0.0.1 (the
  // address they are reached at), the gateway's also serves as its client certificate.
  const ca = TestCa.create(work, "ca", "sluice quickstart CA");
  const serverCert = ca.issue("server", { cn: "sluice-server", ips: ["127.0.0.1"], usage: "server" });
  const gatewayCert = ca.issue("gateway", {
    cn: "sluice-gateway",
    ips: ["127.0.0.1"],
    dns: ["localhost"],
    usage: "both",
  });
  // Two servers (one runs the destination, the other stands by) and a gateway in front.
  const ready = async (
    name: string,
    p: ManagedProcess,
    port: number,
    client?: { cert: string; key: string },
  ) =>
    waitFor(
      name,
      async () => ((await probeTls(port, "/readyz", { ca: ca.cert, ...client })) ? true : undefined),
      {
        timeoutMs: 30_000,
        failIf: () => (p.child.exitCode !== null ? `exited; see ${p.logFile}` : undefined),
      },
    );
  // A throwaway ZooKeeper password, readable by this user only.
  const zkPasswordFile = join(work, "zk.password");
  writeFileSync(zkPasswordFile, `${randomBytes(18).toString("base64url")}\n`, { mode: 0o600 });
  // The gateways' shared secret (servers serve only callers that prove it) and a token for the
  // consumer and curl, what `sluice token create` makes.
  const gatewaySecretFile = join(work, "gateway.secret");
  writeFileSync(gatewaySecretFile, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  const made = await createToken("quickstart", ["read:example", "admin:example"]);
  const tokensFile = join(work, "tokens");
  writeFileSync(tokensFile, `${made.line}\n`, { mode: 0o600 });
  const token = made.token;
  const source = `mysql://${db.replUser}@127.0.0.1:${db.port}`;
  const env = {
    ...process.env,
    SLUICE_LOG_LEVEL: "warn",
    SLUICE_SOURCE_PASSWORD: db.replPassword,
    SLUICE_ZK_USER: "sluice",
    SLUICE_ZK_PASSWORD_FILE: zkPasswordFile,
  };
  const [portA, portB, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  const servers: ManagedProcess[] = [];
  for (const [name, port] of [
    ["server-a", portA],
    ["server-b", portB],
  ] as const) {
    const server = spawnManaged(
      `sluice-${name}`,
      process.execPath,
      [
        SLUICE,
        "server",
        "--host=127.0.0.1",
        `--port=${port}`,
        `--source=${source}`,
        "--destination=example",
        `--zk=${zk.connectString}`,
        "--metrics-port=off",
        // TLS, and only callers with a certificate of the CA: the gateway.
        `--tls-cert=${serverCert.cert}`,
        `--tls-key=${serverCert.key}`,
        `--tls-client-ca=${ca.cert}`,
        "--tls-client-auth=require",
        `--gateway-secret-file=${gatewaySecretFile}`,
      ],
      { logFile: join(work, `${name}.log`), env },
    );
    servers.push(server);
    cleanups.push(() => server.stop());
    await ready(`sluice ${name}`, server, port, gatewayCert);
  }
  const gateway = spawnManaged(
    "sluice-gateway",
    process.execPath,
    [
      SLUICE,
      "gateway",
      "--host=127.0.0.1",
      `--port=${gatewayPort}`,
      `--zk=${zk.connectString}`,
      "--metrics-port=off",
      `--tls-cert=${gatewayCert.cert}`,
      `--tls-key=${gatewayCert.key}`,
      // To the servers: TLS, trusting the CA, showing the gateway's certificate.
      `--tls-upstream-ca=${ca.cert}`,
      `--tls-upstream-cert=${gatewayCert.cert}`,
      `--tls-upstream-key=${gatewayCert.key}`,
      // Its callers: a token of the token file; to the servers: the shared secret.
      `--auth-tokens=${tokensFile}`,
      `--gateway-secret-file=${gatewaySecretFile}`,
    ],
    { logFile: join(work, "gateway.log"), env },
  );
  cleanups.push(() => gateway.stop());
  await ready("sluice gateway", gateway, gatewayPort);
  const url = `https://127.0.0.1:${gatewayPort}`;

  say("");
  say(`  MariaDB    127.0.0.1:${db.port}   source ${source} (password in SLUICE_SOURCE_PASSWORD)`);
  say(`  ZooKeeper  ${zk.connectString}   canal's layout under /otter/canal, writable only by user sluice`);
  say(
    `  servers    https://127.0.0.1:${portA}, https://127.0.0.1:${portB}   one runs "example", the other stands by;`,
  );
  say("             they take only the gateway (a certificate of the CA and the gateways' secret)");
  say(`  gateway    ${url}   routes to the runner, one holder per clientId;`);
  say(`             takes callers with a token of ${tokensFile}`);
  say(`  TLS        every port; the throwaway CA is ${ca.cert}`);
  say("");
  say("  Try it from another shell while this runs (kill a server: the consumer goes on):");
  say(`    export SLUICE=${url} SLUICE_CA=${ca.cert} SLUICE_TOKEN=${token}`);
  say(
    `    curl -s --cacert $SLUICE_CA -H "Authorization: Bearer $SLUICE_TOKEN" -H 'Content-Type: application/json' --data '{}' $SLUICE/sluice.v1.AdminService/ListDestinations`,
  );
  say("    node bin/sluice.js status --server $SLUICE --ca $SLUICE_CA   # sends SLUICE_TOKEN");
  say("    # and the README's curl recipes");
  say("");
  say("Writing to shop.orders every second; a consumer (clientId 1001) streams through the gateway,");
  say("prints and acks:");
  say("");

  const client = createSluiceClient({
    baseUrl: url,
    transport: "connect",
    httpVersion: "1.1",
    tls: { ca: readFileSync(ca.cert) },
    token,
  });
  const abort = new AbortController();
  cleanups.push(() => abort.abort());
  let changes = 0;
  // The first subscription stores the consumer's cursor at the current head: the writes start
  // once it is there, so every one of them reaches the consumer.
  let subscribed!: () => void;
  const firstSubscription = new Promise<void>((resolve) => {
    subscribed = resolve;
  });
  const consumer = (async () => {
    for await (const batch of client.stream({
      destination: "example",
      clientId: "1001",
      batchSize: 100,
      flat: true,
      signal: abort.signal,
      onSubscribed: () => subscribed(),
      onRetry: ({ error }) => say(`  (the consumer subscribes again: ${error.message})`),
    })) {
      if (!(await batch.ack())) continue; // a failover: these rows come again
      for (const flat of batch.flatMessages) {
        for (const line of formatChange(flat)) {
          changes++;
          say(`  ${line}`);
        }
      }
    }
  })().catch((err: Error) => {
    if (!stopping && !abort.signal.aborted) {
      console.error(`consumer stopped: ${err.message}`);
      void shutdown(1);
    }
  });

  await firstSubscription;
  const items = ["kettle", "teapot", "mug", "saucer", "spoon", "tea caddy"];
  let n = 0;
  const deadline = seconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + seconds * 1000;
  while (!stopping && Date.now() < deadline) {
    n++;
    const item = items[n % items.length];
    await db.query("INSERT INTO shop.orders (item, qty, price) VALUES (?, ?, ?)", [
      item,
      (n % 3) + 1,
      `${n}.50`,
    ]);
    if (n % 2 === 0) await db.query("UPDATE shop.orders SET status = 'paid' WHERE id = ?", [n - 1]);
    if (n % 5 === 0) await db.query("DELETE FROM shop.orders WHERE id = ?", [n - 4]);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Let the last changes arrive before stopping.
  await new Promise((r) => setTimeout(r, 1000));
  abort.abort();
  await consumer;
  say("");
  say(`Done: ${n} write rounds, ${changes} row changes streamed and acked. Stopping everything.`);
  await shutdown(0);
} catch (err) {
  console.error(`quickstart failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
