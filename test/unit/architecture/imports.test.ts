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
