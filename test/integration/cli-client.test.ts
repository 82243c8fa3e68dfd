// `sluice tail` and `sluice status` run as child processes against a live `sluice server`:
// the exact rows of a known workload, acked or read-only, the text view, status in both
// forms, and the documented exit codes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir } from "../harness/processes.js";
import { SLUICE_MAIN, type SluiceServerProcess, startSluiceServer } from "../harness/sluice-server.js";

let db: MariaDB;
let dataDir: string;
let server: SluiceServerProcess;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SLUICE_MAIN, ...args],
      { env: { ...process.env, SLUICE_URL: server.url }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

before(async () => {
  db = await startMariaDB();
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dataDir = makeTempDir("cli-client");
  server = await startSluiceServer({ name: "server", sourceUrl: db.sourceUrl, dataDir });
});
after(async () => {
  await server?.stop();
  await db?.stop();
  removeDir(dataDir);
});

describe("sluice tail", () => {
  test("--help, and bad usage exits 2 naming the flag", async () => {
    const help = await sluice(["tail", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: sluice tail/);
    assert.match(help.stdout, /Exit codes: 0 ok/);
    for (const [args, flag] of [
      [["--format", "xml"], /--format/],
      [["--max-rows", "0"], /--max-rows/],
      [["--max-seconds", "soon"], /--max-seconds/],
      [["--server", "localhost:1"], /--server/],
      [["--bogus"], /bogus/],
    ] as const) {
      const r = await sluice(["tail", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, flag);
    }
    const top = await sluice(["--help"]);
    assert.match(top.stdout, /tail +stream a destination/);
    assert.match(top.stdout, /status +destinations/);
  });

  test("json lines: exactly the workload, in order, acked; the next tail goes on after it", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "cli" });
    const values = Array.from({ length: 40 }, (_, i) => `(${i + 1}, 'item-${i + 1}')`).join(",");
    await db.query(`INSERT INTO shop.orders VALUES ${values}`);
    await db.query("UPDATE shop.orders SET item = 'changed' WHERE id = 2");
    await db.query("DELETE FROM shop.orders WHERE id = 3");
    const r = await sluice([
      "tail",
      "-c",
      "cli",
      "--format",
      "json",
      "--max-rows",
      "42",
      "--batch-size",
      "7",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = jsonLines(r.stdout);
    assert.deepEqual(
      rows.map((x) => `${x.type} ${((x.after ?? x.before) as Record<string, string>).id}`),
      [...Array.from({ length: 40 }, (_, i) => `INSERT ${i + 1}`), "UPDATE 2", "DELETE 3"],
    );
    assert.deepEqual(rows[40]?.before, { id: "2", item: "item-2" });
    assert.deepEqual(rows[40]?.after, { id: "2", item: "changed" });
    assert.equal(rows[0]?.table, "orders");
    assert.equal(rows[0]?.schema, "shop");
    assert.ok(typeof rows[0]?.lagMs === "number" && (rows[0].lagMs as number) >= 0);
    assert.match(String(rows[0]?.position), /^mysql-bin\.\d+:\d+$/);

    // Everything was acked: a second tail sees only what comes next.
    await db.query("INSERT INTO shop.orders VALUES (100, 'next')");
    const next = await sluice(["tail", "-c", "cli", "--format", "json", "--max-rows", "1"]);
    assert.deepEqual(
      jsonLines(next.stdout).map((x) => (x.after as Record<string, string>).id),
      ["100"],
    );
    const quiet = await sluice([
      "tail",
      "-c",
      "cli",
      "--format",
      "json",
      "--max-seconds",
      "1.5",
      "--progress",
      "0.5",
    ]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, "", "nothing new, nothing printed, and it stopped by itself");
    assert.match(quiet.stderr, /^sluice tail: 0 rows, lag -$/m, "progress on stderr");
  });

  test("--read-only prints the rows and never acks: they come again, then an acking tail takes them", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "peek" });
    await db.query("INSERT INTO shop.orders VALUES (200, 'a'), (201, 'b')");
    await db.query("INSERT INTO shop.orders VALUES (202, 'c')");
    const ids = (r: Run) => jsonLines(r.stdout).map((x) => (x.after as Record<string, string>).id);
    for (let i = 0; i < 2; i++) {
      const r = await sluice(["tail", "-c", "peek", "--read-only", "--format", "json", "--max-rows", "3"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(ids(r), ["200", "201", "202"], `read-only run ${i + 1}`);
    }
    const status = await client.admin.getDestination({ destination: "example" });
    assert.equal(status.destination?.clients.find((c) => c.clientId === "peek")?.outstandingBatches, 0);
    const acking = await sluice(["tail", "-c", "peek", "--format", "json", "--max-rows", "3"]);
    assert.deepEqual(ids(acking), ["200", "201", "202"]);
  });

  test("the text view: one readable line per row with the lag", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "eyes" });
    await db.query("INSERT INTO shop.orders VALUES (300, 'kettle')");
    await db.query("UPDATE shop.orders SET item = 'teapot' WHERE id = 300");
    await db.query("ALTER TABLE shop.orders ADD COLUMN note VARCHAR(5)");
    await db.query("INSERT INTO shop.orders VALUES (301, 'two\\nlines', 'it''s')");
    const r = await sluice(["tail", "-c", "eyes", "--format", "text", "--max-rows", "4"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 4, "one line per change, embedded newlines escaped");
    assert.match(lines[3] as string, /INSERT shop\.orders id=301 item='two\\nlines' note='it\\'s'/);
    assert.match(
      lines[0] as string,
      /^\d\d:\d\d:\d\d INSERT shop\.orders id=300 item='kettle' {2}lag \d+\.\ds$/,
    );
    assert.match(
      lines[1] as string,
      /^\d\d:\d\d:\d\d UPDATE shop\.orders id=300 item: 'kettle' -> 'teapot' {2}lag /,
    );
    assert.match(
      lines[2] as string,
      /ALTER +shop\.orders ALTER TABLE shop\.orders ADD COLUMN note VARCHAR\(5\)/,
    );
  });

  test("an unknown destination exits 3; a server never reached exits 1 once the time is up", async () => {
    const r = await sluice(["tail", "-d", "nope", "--max-seconds", "10"]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /destination "nope"/);
    const down = await sluice(["tail", "--server", "http://127.0.0.1:1", "--max-seconds", "1"]);
    assert.equal(down.code, 1, "retries until --max-seconds, then fails: it never got through");
    assert.match(down.stderr, /subscribing again in \d+ ms/);
    assert.match(down.stderr, /sluice tail: unavailable: /);
  });
});

describe("sluice status", () => {
  test("text and --json: destination, runner, head, clients with cursor and lag", async () => {
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "watched", filter: "shop\\..*" });
    const text = await sluice(["status"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^destination example$/m);
    assert.match(text.stdout, new RegExp(`running +127\\.0\\.0\\.1:${server.port} \\(epoch \\d+, since `));
    assert.match(text.stdout, /head +mysql-bin\.\d+:\d+/);
    assert.match(text.stdout, /CLIENT +CURSOR +LAG +OUTSTANDING +HOLDER +FILTER/);
    assert.match(text.stdout, /^ {2}watched +mysql-bin\.\d+:\d+ .* +\d+\.\ds +0 +- +shop\\\.\.\*$/m);

    const json = await sluice(["status", "--json", "-d", "example"]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as {
      destinations: Array<{
        name: string;
        running: { address: string };
        clients: Array<{ clientId: string }>;
      }>;
    };
    assert.equal(parsed.destinations[0]?.name, "example");
    assert.equal(parsed.destinations[0]?.running.address, `127.0.0.1:${server.port}`);
    assert.ok(parsed.destinations[0]?.clients.some((c) => c.clientId === "watched"));

    const missing = await sluice(["status", "-d", "nope"]);
    assert.equal(missing.code, 3);
    const down = await sluice(["status", "--server", "http://127.0.0.1:1"]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /sluice status: unavailable/);
    assert.equal((await sluice(["status", "--help"])).code, 0);
  });
});
