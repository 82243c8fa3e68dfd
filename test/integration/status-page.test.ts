// The status page (GET /status) in headless Chromium, against live processes: a cluster (two
// elected servers, a gateway, a consumer holding clientId 1001 with an unacked batch), a
// standalone server, and a gateway that authenticates (the page asks for a token). The page
// must show what the admin API says and follow it by itself; screenshots go to test-output/.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Browser, Page } from "playwright-core";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { createToken } from "../../src/security/tokens.js";
import { startSluiceGateway, startSluiceServer, writeServerConfig } from "../gateway/cluster.js";
import { launchChromium, screenshotPath } from "../harness/browser.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, type ManagedProcess, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { startSluiceServer as startStandalone } from "../harness/sluice-server.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

let db: MariaDB;
let zk: ZooKeeper;
let dir: string;
let browser: Browser;
const servers: { address: string; p: ManagedProcess }[] = [];
let gateway: ManagedProcess;
let gatewayPort: number;
let authGatewayPort: number;
let authGateway: ManagedProcess;
let opsToken: string;
let nextId = 1;

before(async () => {
  [db, zk, browser] = await Promise.all([startMariaDB(), startZooKeeper(), launchChromium()]);
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dir = makeTempDir("status-page");
  const config = writeServerConfig(dir, zk, db);
  for (const name of ["server-a", "server-b"]) {
    const port = await freePort();
    servers.push({ address: `127.0.0.1:${port}`, p: await startSluiceServer(dir, name, port, config) });
  }
  const ops = await createToken("ops");
  opsToken = ops.token;
  writeFileSync(join(dir, "tokens"), `${ops.line}\n`);
  [gatewayPort, authGatewayPort] = [await freePort(), await freePort()];
  [gateway, authGateway] = await Promise.all([
    startSluiceGateway(dir, "gateway", gatewayPort, zk, ["--lease-idle", "5m"]),
    startSluiceGateway(dir, "gateway-auth", authGatewayPort, zk, ["--auth-tokens", join(dir, "tokens")]),
  ]);
});

after(async () => {
  await browser?.close();
  await Promise.all([gateway?.stop(), authGateway?.stop()]);
  await Promise.all(servers.map((s) => s.p.stop()));
  await Promise.all([db?.stop(), zk?.stop()]);
  removeDir(dir);
});

async function insertRows(n: number): Promise<void> {
  const values = Array.from({ length: n }, () => `(${nextId++}, 'x')`).join(", ");
  await db.query(`INSERT INTO shop.orders VALUES ${values}`);
}

/** A unary consumer of clientId on `url`: subscribes, then gets (and acks) batches. */
async function consumer(url: string, clientId: string) {
  const canal: Client<typeof CanalService> = createClient(
    CanalService,
    createConnectTransport({ baseUrl: url, httpVersion: "1.1" }),
  );
  const { session } = await canal.subscribe({ destination: "example", clientId });
  return {
    /** Gets the next batch with rows (waiting for them); returns its id. */
    async get(): Promise<string> {
      const r = await canal.get({
        destination: "example",
        clientId,
        session,
        batchSize: 1000,
        timeoutMs: 10_000n,
      });
      assert.ok(r.batchId, "a batch");
      return r.batchId;
    },
    ack: (batchId: string) => canal.ack({ destination: "example", clientId, session, batchId }),
  };
}

/** A fresh tab on `url` + /status; console errors (a CSP refusal, a script error) are collected. */
async function openStatusPage(url: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${url}/status`);
  return { page, problems };
}

const cell = (client: string, field: string) =>
  `[data-destination="example"] [data-client="${client}"] [data-field="${field}"]`;

/** Waits until the element's text passes `ok`; returns the text. */
async function textWhen(page: Page, selector: string, ok: (text: string) => boolean): Promise<string> {
  let last = "";
  try {
    return await waitFor(
      selector,
      async () => {
        const e = page.locator(selector);
        if ((await e.count()) === 0) return undefined;
        last = (await e.first().textContent()) ?? "";
        return ok(last) ? last : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last text: ${JSON.stringify(last)}`);
  }
}

async function samplesOf(page: Page, client: string): Promise<number> {
  return Number(await page.locator(`${cell(client, "trend")} svg`).getAttribute("data-samples"));
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = screenshotPath(name);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

test("through a gateway: the runner, the standby, the client's holder, cursor, lag and unacked batches, updating by itself", async () => {
  const c = await consumer(`http://127.0.0.1:${gatewayPort}`, "1001");
  await insertRows(3);
  await c.ack(await c.get());
  await insertRows(2);
  await c.get(); // not acked

  const { page, problems } = await openStatusPage(`http://127.0.0.1:${gatewayPort}`);
  await textWhen(page, cell("1001", "unacked"), (t) => t === "1");
  const section = page.locator('[data-destination="example"]');
  assert.equal(await section.getAttribute("data-state"), "running");
  const runner = await textWhen(page, '[data-destination="example"] [data-field="runner"]', (t) => t !== "");
  const standbys = await textWhen(
    page,
    '[data-destination="example"] [data-field="standbys"]',
    (t) => t !== "",
  );
  const running = servers.find((s) => runner.startsWith(s.address));
  assert.ok(running, `runner ${runner} is one of ${servers.map((s) => s.address).join(", ")}`);
  const standby = servers.find((s) => s !== running);
  assert.equal(standbys, standby?.address);
  assert.match(runner, /epoch \d+ · for \d+/);
  assert.match(
    await textWhen(page, '[data-destination="example"] [data-field="head"]', Boolean),
    /^mysql-bin\.\d+:\d+ \(0-1-\d+\) · \d{4}-/,
  );
  assert.match(
    await textWhen(page, cell("1001", "holder"), Boolean),
    new RegExp(`^127\\.0\\.0\\.1:\\d+ via 127\\.0\\.0\\.1:${gatewayPort} for \\d+ s`),
  );
  assert.match(await textWhen(page, cell("1001", "cursor"), Boolean), /^mysql-bin\.\d+:\d+ \(0-1-\d+\)$/);
  // Rows came after the acked batch, so the head is ahead of the cursor: a lag, measured.
  const lag = await textWhen(page, cell("1001", "lag"), (t) => t !== "unknown");
  assert.match(lag, /^\d+(\.\d)? (ms|s)$|min/);

  // By itself: the page follows a second unacked batch, and each poll adds a sample.
  const samples = await samplesOf(page, "1001");
  await insertRows(2);
  await c.get();
  await textWhen(page, cell("1001", "unacked"), (t) => t === "2");
  await waitFor(
    "two more samples",
    async () => ((await samplesOf(page, "1001")) >= samples + 2 ? true : undefined),
    {
      timeoutMs: 15_000,
    },
  );
  assert.ok((await page.locator(`${cell("1001", "trend")} polyline`).count()) >= 1, "a sparkline is drawn");
  assert.match(
    (await page.locator("#state").textContent()) ?? "",
    /^Updated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/,
  );
  await screenshot(page, "status-page-gateway");
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("a standalone server serves the page too: its destination, itself as the runner, no standbys", async () => {
  const dataDir = join(dir, "standalone");
  mkdirSync(dataDir);
  const server = await startStandalone({ name: "standalone", sourceUrl: db.sourceUrl, dataDir });
  try {
    const c = await consumer(server.url, "2002");
    await insertRows(2);
    await c.ack(await c.get());
    await insertRows(2);
    await c.get(); // not acked
    const { page, problems } = await openStatusPage(server.url);
    await textWhen(page, cell("2002", "unacked"), (t) => t === "1");
    assert.match(
      await textWhen(page, '[data-destination="example"] [data-field="runner"]', Boolean),
      new RegExp(`^127\\.0\\.0\\.1:${server.port} · (epoch \\d+ · )?for \\d+`),
    );
    assert.equal(
      await textWhen(page, '[data-destination="example"] [data-field="standbys"]', Boolean),
      "none",
    );
    // A server holds no clientId (holds are the gateways').
    assert.equal(await textWhen(page, cell("2002", "holder"), Boolean), "nobody");
    assert.match(await textWhen(page, cell("2002", "cursor"), Boolean), /^mysql-bin\.\d+:\d+/);
    assert.match(await textWhen(page, cell("2002", "lag"), (t) => t !== "unknown"), /\d/);
    await screenshot(page, "status-page-standalone");
    assert.deepEqual(problems, []);
    await page.context().close();
  } finally {
    await server.stop();
  }
});

test("with authentication: the page holds no data, asks for a token, refuses a wrong one, then shows the status", async () => {
  const c = await consumer(`http://127.0.0.1:${gatewayPort}`, "3003");
  await insertRows(1);
  await c.get(); // not acked
  const url = `http://127.0.0.1:${authGatewayPort}`;
  // The page itself is served to anyone; the data is the admin API's, which wants a token.
  const plain = await fetch(`${url}/status`);
  assert.equal(plain.status, 200);
  assert.match(plain.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  assert.equal((await fetch(`${url}/status`, { method: "POST" })).status, 405);
  const list = await fetch(`${url}/sluice.v1.AdminService/ListDestinations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(list.status, 401);

  const { page, problems } = await openStatusPage(url);
  await page.locator("#login").waitFor({ state: "visible" });
  assert.equal(await page.locator("[data-destination]").count(), 0);
  await page.locator("#token").fill("ops.not-the-secret");
  await page.locator('#login button[type="submit"]').click();
  await textWhen(page, "#login-error", (t) => t.startsWith("The token was refused"));
  assert.equal(await page.locator("[data-destination]").count(), 0);

  await page.locator("#token").fill(opsToken);
  await page.locator('#login button[type="submit"]').click();
  await textWhen(page, cell("3003", "unacked"), (t) => t === "1");
  assert.equal(await page.locator("#login").isVisible(), false);
  assert.match(
    await textWhen(page, cell("3003", "holder"), Boolean),
    new RegExp(`via 127\\.0\\.0\\.1:${gatewayPort}`),
  );
  // The token stays with the tab: a reload shows the status without asking again.
  await page.reload();
  await textWhen(page, cell("3003", "unacked"), (t) => t === "1");
  assert.equal(await page.locator("#login").isVisible(), false);
  await screenshot(page, "status-page-authenticated");
  // Chromium logs each refused fetch (401) as a console error; nothing else may appear.
  assert.deepEqual(
    problems.filter((p) => !/status of 401/.test(p)),
    [],
  );
  await page.context().close();
});
