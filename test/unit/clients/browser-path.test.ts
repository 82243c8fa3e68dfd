// What a browser loads of the TypeScript client (SluiceClient over a Connect-Web transport, its
// batches, rows and typed values) uses nothing of Node: no node: modules, no connect-node, no
// Buffer. Checked on the sources, following the imports that load code (not `import type`).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { columnValue, SqlType } from "../../../src/clients/typescript/values.js";
import { ColumnSchema } from "../../../src/gen/sluice/v1/entry_pb.js";

// The sources, not dist/: the tests run from dist/test/unit/clients.
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** The source without comments (a rough cut: enough for these sources). */
function code(file: string): string {
  return readFileSync(join(ROOT, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** Modules a source loads at run time: [local files as src/... paths, packages]. */
function runtimeImports(file: string): [string[], string[]] {
  const locals: string[] = [];
  const packages: string[] = [];
  for (const m of code(file).matchAll(/^(?:import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?"([^"]+)"/gm)) {
    if (m[1] !== undefined) continue;
    const spec = m[2] as string;
    if (spec.startsWith(".")) {
      const js = relative(ROOT, resolve(dirname(join(ROOT, file)), spec));
      const ts = js.replace(/\.js$/, ".ts");
      locals.push(existsSync(join(ROOT, ts)) ? ts : js);
    } else packages.push(spec);
  }
  return [locals, packages];
}

function closure(entries: string[]): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const f = queue.shift() as string;
    if (files.includes(f)) continue;
    files.push(f);
    const [locals, pkgs] = runtimeImports(f);
    queue.push(...locals);
    for (const p of pkgs) packages.add(p);
  }
  return { files, packages };
}

test("SluiceClient, its batches, rows and typed values load nothing of Node", () => {
  const { files, packages } = closure([
    "src/clients/typescript/client.ts",
    "src/clients/typescript/rows.ts",
    "src/clients/typescript/values.ts",
  ]);
  assert.ok(files.includes("src/clients/typescript/wire/row-reader.ts"), files.join(", "));
  for (const p of packages) {
    assert.ok(
      p.startsWith("@bufbuild/protobuf") || p === "@connectrpc/connect",
      `a browser cannot load ${p} (imported on SluiceClient's path)`,
    );
  }
  for (const f of files) {
    assert.doesNotMatch(code(f), /\bBuffer\.\w+\(/, `${f} calls Node's Buffer`);
  }
});

test("without a global Buffer (a browser), a base64 value is its bytes as a Uint8Array", () => {
  const column = create(ColumnSchema, { sqlType: SqlType.BLOB, base64: true, value: "AP8Q3q2+7w==" });
  const bytes = [0x00, 0xff, 0x10, 0xde, 0xad, 0xbe, 0xef];
  assert.deepEqual(columnValue(column), Buffer.from(bytes), "under Node: a Buffer");
  const g = globalThis as { Buffer?: unknown };
  const nodeBuffer = g.Buffer;
  let value: unknown;
  try {
    g.Buffer = undefined;
    value = columnValue(column);
  } finally {
    g.Buffer = nodeBuffer;
  }
  assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype);
  assert.deepEqual([...(value as Uint8Array)], bytes);
});
