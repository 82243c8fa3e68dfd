// The clients as a user installs them, each consuming a known workload from a live `sluice
// server`, with no network:
// - TypeScript: `npm pack` of this repository, unpacked into a scratch project's node_modules
//   beside only the client's own dependencies, with the server, gateway and command left out
//   of the package: `import ... from "sluice/client"` type-checks with tsc and runs.
// - Python: `pip install --no-deps --no-build-isolation --no-index src/clients/python` into a
//   venv that sees Debian's python3-grpcio and python3-protobuf; the example consumer, run
//   away from the sources, imports the installed `sluice.v1`.
// (The Go module is built offline with Debian's packages in other-languages.test.ts.)
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir } from "../harness/processes.js";
import { type SluiceServerProcess, startSluiceServer } from "../harness/sluice-server.js";

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** What the client needs at run time and to type-check: nothing of the server's. */
const CLIENT_DEPENDENCIES = ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node"];

let db: MariaDB;
let dir: string;
let server: SluiceServerProcess;
let nextId = 1;

before(async () => {
  db = await startMariaDB();
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dir = makeTempDir("packaged-clients");
  server = await startSluiceServer({ name: "server", sourceUrl: db.sourceUrl, dataDir: dir });
});
after(async () => {
  await server?.stop();
  await db?.stop();
  if (dir) removeDir(dir);
});

/** Rows inserted once `subscribe` has registered the clientId, as the consumers print them. */
async function workload(subscribe: () => Promise<void>): Promise<string[]> {
  await subscribe();
  const ids = Array.from({ length: 30 }, () => nextId++);
  for (let i = 0; i < ids.length; i += 10) {
    const tx = ids.slice(i, i + 10);
    await db.query(`INSERT INTO shop.orders VALUES ${tx.map((id) => `(${id}, 'item-${id}')`).join(",")}`);
  }
  return ids.map((id) => `INSERT ${id} item-${id}`);
}

function printed(stdout: string): string[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; after: Record<string, string | null> })
    .map((r) => `${r.type} ${r.after.id} ${r.after.item}`);
}

const CONSUMER_TS = `import { createSluiceClient, type FlatRow } from "sluice/client";

const client = createSluiceClient({ baseUrl: process.env.SLUICE_URL ?? "" });
const clientId = process.env.SLUICE_CLIENT_ID ?? "";
if (process.argv[2] === "subscribe") {
  await client.canal.subscribe({ destination: "example", clientId });
} else {
  const want = Number(process.env.SLUICE_MAX_ROWS);
  let printed = 0;
  for await (const batch of client.stream({ destination: "example", clientId })) {
    const rows: FlatRow[] = batch.rows();
    if (!(await batch.ack())) continue;
    for (const row of rows) console.log(JSON.stringify({ type: row.type, after: row.after }));
    printed += rows.length;
    if (printed >= want) break;
  }
}
`;

test("TypeScript: the packed package's sluice/client, alone in a scratch project, type-checks and consumes", async () => {
  const scratch = join(dir, "ts-scratch");
  const modules = join(scratch, "node_modules");
  mkdirSync(modules, { recursive: true });
  // dist/ is fresh (scripts/test.sh builds it); prepack would build it again.
  const { stdout } = await execFileAsync(
    "npm",
    ["pack", "--ignore-scripts", "--offline", "--json", "--pack-destination", scratch],
    { cwd: ROOT, timeout: 60_000 },
  );
  const tarball = join(scratch, (JSON.parse(stdout) as Array<{ filename: string }>)[0]?.filename ?? "");
  await execFileAsync("tar", ["-xzf", tarball, "-C", modules]);
  renameSync(join(modules, "package"), join(modules, "sluice"));
  const pkg = join(modules, "sluice");
  assert.ok(existsSync(join(pkg, "dist/src/clients/typescript/index.d.ts")), "declarations are packed");
  assert.ok(!existsSync(join(pkg, "dist/test")), "no tests in the package");
  // A client never loads the server, the gateway or the command: without them it still works.
  for (const part of ["server", "gateway", "cli"]) rmSync(join(pkg, "dist/src", part), { recursive: true });
  for (const dep of [...CLIENT_DEPENDENCIES, "@types/node"]) {
    mkdirSync(join(modules, dep, ".."), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", dep), join(modules, dep));
  }
  writeFileSync(
    join(scratch, "package.json"),
    JSON.stringify({ name: "scratch", private: true, type: "module" }),
  );
  writeFileSync(
    join(scratch, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: true,
        types: ["node"],
        outDir: "out",
      },
      files: ["consumer.ts"],
    }),
  );
  writeFileSync(join(scratch, "consumer.ts"), CONSUMER_TS);
  await execFileAsync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", scratch], {
    timeout: 120_000,
  });

  const env = { ...process.env, SLUICE_URL: server.url, SLUICE_CLIENT_ID: "packed-ts" };
  const consumer = join(scratch, "out/consumer.js");
  const expected = await workload(async () => {
    await execFileAsync(process.execPath, [consumer, "subscribe"], { cwd: scratch, env, timeout: 30_000 });
  });
  const run = await execFileAsync(process.execPath, [consumer], {
    cwd: scratch,
    env: { ...env, SLUICE_MAX_ROWS: String(expected.length) },
    timeout: 60_000,
  });
  assert.deepEqual(printed(run.stdout), expected);
});

test("Python: pip-installed offline into a venv with Debian's grpcio and protobuf, the example consumes", async () => {
  const work = join(dir, "python");
  // A copy: building writes build/ and *.egg-info beside the sources.
  cpSync(join(ROOT, "src/clients/python"), join(work, "src"), { recursive: true });
  const venv = join(work, "venv");
  // The venv borrows Debian's pip, setuptools and wheel, grpcio and protobuf from the system.
  await execFileAsync("/usr/bin/python3", ["-m", "venv", "--system-site-packages", "--without-pip", venv]);
  const python = join(venv, "bin/python");
  const pipEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHONDONTWRITEBYTECODE: "1" };
  await execFileAsync(
    python,
    ["-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", join(work, "src")],
    { env: pipEnv, timeout: 120_000 },
  );
  const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
    .version;
  const installed = await execFileAsync(
    python,
    [
      "-c",
      "import importlib.metadata as m, sluice.v1.canal_service_pb2_grpc as g; print(m.version('sluice-client')); print(g.__file__)",
    ],
    { cwd: work, env: pipEnv },
  );
  const [installedVersion, where] = installed.stdout.trim().split("\n");
  assert.equal(installedVersion, version, "the Python client's version is the package's");
  assert.ok(where?.startsWith(join(venv, "lib")), `imported from the venv: ${where}`);

  // The example, away from the sources (its own folder has no sluice/ package).
  const run = join(work, "run");
  mkdirSync(run);
  cpSync(join(ROOT, "src/clients/python/example.py"), join(run, "example.py"));
  const expected = await workload(async () => {
    await fetch(`${server.url}/sluice.v1.CanalService/Subscribe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ destination: "example", clientId: "pip" }),
    }).then((r) => assert.equal(r.status, 200));
  });
  const { stdout } = await execFileAsync(python, [join(run, "example.py")], {
    cwd: run,
    env: {
      ...pipEnv,
      SLUICE_ADDR: `127.0.0.1:${server.port}`,
      SLUICE_CLIENT_ID: "pip",
      SLUICE_MAX_ROWS: String(expected.length),
    },
    timeout: 60_000,
  });
  assert.deepEqual(printed(stdout), expected);
});
