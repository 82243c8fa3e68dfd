// The direction of imports (docs/design.md, "The parts"), checked on the sources: the protocol is
// a leaf, contracts sit just above it, clients never pull in server, gateway or common code,
// server and gateway never import each other, and the status page's browser code loads only its own
// files.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

// The sources, not dist/: the tests run from dist/test/unit/architecture.
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** The sluice files a source imports, as paths from the repository's root (src/...). */
function localImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) {
    out.push(relative(ROOT, resolve(dirname(join(ROOT, file)), m[1] as string)));
  }
  return out;
}

/** Each import of a file under `from` that points into one of `forbidden`. */
function violations(from: string, forbidden: string[]): string[] {
  const out: string[] = [];
  for (const file of sources(from)) {
    for (const target of localImports(file)) {
      if (forbidden.some((f) => target.startsWith(`${f}/`))) out.push(`${file} imports ${target}`);
    }
  }
  return out;
}

test("src/protocol imports only generated code and itself", () => {
  assert.deepEqual(
    violations("src/protocol", [
      "src/common",
      "src/contracts",
      "src/server",
      "src/gateway",
      "src/clients",
      "src/cli",
    ]),
    [],
  );
});

test("src/contracts imports only protocol and generated code", () => {
  assert.deepEqual(
    violations("src/contracts", ["src/common", "src/server", "src/gateway", "src/clients", "src/cli"]),
    [],
  );
});

test("clients import neither server, gateway nor common code", () => {
  assert.deepEqual(violations("src/clients", ["src/common", "src/server", "src/gateway", "src/cli"]), []);
});

test("server and gateway never import each other", () => {
  assert.deepEqual(violations("src/server", ["src/gateway", "src/clients", "src/cli"]), []);
  assert.deepEqual(violations("src/gateway", ["src/server", "src/clients", "src/cli"]), []);
});

test("src/security, shared by server and gateway, imports neither of them, nor clients or the command", () => {
  assert.deepEqual(violations("src/security", ["src/server", "src/gateway", "src/clients", "src/cli"]), []);
});

test("src/status-page, which server and gateway serve, imports only protocol and generated code", () => {
  assert.deepEqual(
    violations("src/status-page", [
      "src/common",
      "src/contracts",
      "src/security",
      "src/server",
      "src/gateway",
      "src/clients",
      "src/cli",
    ]),
    [],
  );
});

test("the status page's browser code loads only its own files (generated code only as types, which compile away)", () => {
  const out: string[] = [];
  for (const file of sources("src/status-page/browser")) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s*"([^"]+)"/gms)) {
      const target = relative(ROOT, resolve(dirname(join(ROOT, file)), m[2] as string));
      const own = target.startsWith("src/status-page/browser/");
      if (!own && !(m[1] && target.startsWith("src/gen/"))) out.push(`${file} imports ${m[2]}`);
    }
  }
  assert.deepEqual(out, []);
});

// Inside the server the stages run one way (docs/design.md, "The server's stages"): parse →
// filter (sink) → store → cursors (meta) → service, composed by destination/ and elected by
// cluster/. What every stage passes on (positions, a statement's classification, the filter
// subject) is in entry/, which imports no stage. No stage imports one after it, and the store
// knows neither where its entries come from nor how clients' filters judge them.
const SERVER_PARTS = [
  "binlog",
  "cluster",
  "config",
  "destination",
  "encode",
  "entry",
  "filter",
  "meta",
  "parse",
  "replication",
  "schema",
  "service",
  "sink",
  "store",
];

/** Each import of a file under src/server/`part` that points into a server part not in `allowed`. */
function serverViolations(part: string, allowed: string[]): string[] {
  const forbidden = SERVER_PARTS.filter((p) => p !== part && !allowed.includes(p)).map(
    (p) => `src/server/${p}`,
  );
  return violations(`src/server/${part}`, forbidden);
}

test("entry/, what the stages pass on, imports no server part", () => {
  assert.deepEqual(serverViolations("entry", []), []);
});

test("parse imports neither the filter stage, the store, the cursors nor the service", () => {
  assert.deepEqual(serverViolations("parse", ["binlog", "replication", "schema", "entry"]), []);
});

test("the filter stage (sink) imports neither parse, the store, the cursors nor the service", () => {
  assert.deepEqual(serverViolations("sink", ["entry", "filter", "encode"]), []);
});

test("the store imports neither parse, the filter stage, the cursors, the service, destinations nor the cluster", () => {
  assert.deepEqual(serverViolations("store", ["entry", "encode"]), []);
});

test("the cursors (meta) import neither parse, the filter stage, the store's entries nor the service", () => {
  assert.deepEqual(serverViolations("meta", ["entry"]), []);
});

test("the service imports neither parse, the filter stage nor the cluster", () => {
  const out = violations("src/server/service", ["src/server/parse", "src/server/sink", "src/server/cluster"]);
  assert.deepEqual(out, []);
});

test("the cluster imports neither parse, the filter stage, the store nor the service", () => {
  assert.deepEqual(
    violations("src/server/cluster", [
      "src/server/parse",
      "src/server/sink",
      "src/server/store",
      "src/server/service",
      "src/server/destination",
    ]),
    [],
  );
});
