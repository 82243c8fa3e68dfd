// Every subcommand's --help is what docs/cli.md shows, and the flag tables of docs/gateway.md
// and docs/configuration.md name every flag of the gateway and the server.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CLI_DOC, docBlocks, helpTexts } from "../../../scripts/cli-reference.js";
import { COMMANDS } from "../../../src/cli/commands.js";
import { GATEWAY_FLAGS } from "../../../src/cli/gateway-options.js";
import { OPTIONS } from "../../../src/server/config/args.js";

const doc = (name: string) => readFileSync(new URL(`../../../../docs/${name}`, import.meta.url), "utf8");

test("docs/cli.md shows each command's --help as it is (node dist/scripts/cli-reference.js --write)", () => {
  const blocks = docBlocks(readFileSync(CLI_DOC, "utf8"));
  assert.deepEqual([...blocks.keys()].sort(), ["sluice", ...COMMANDS.map((c) => c.name)].sort());
  for (const [name, text] of helpTexts()) assert.equal(blocks.get(name), text, `the help of ${name}`);
});

test("each command's --help names only flags it takes, and docs/gateway.md and configuration.md name every flag", () => {
  const gatewayDoc = doc("gateway.md");
  for (const f of GATEWAY_FLAGS) {
    assert.ok(gatewayDoc.includes(`\`--${f.name}`), `docs/gateway.md names --${f.name}`);
  }
  const gatewayHelp = COMMANDS.find((c) => c.name === "gateway")?.help ?? "";
  const inHelp = new Set([...gatewayHelp.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));
  for (const f of GATEWAY_FLAGS) assert.ok(inHelp.has(f.name), `sluice gateway --help names --${f.name}`);
  const known = new Set([...GATEWAY_FLAGS.map((f) => f.name), "help", "zk-password", "auth-canal-passwd"]);
  // Flags of servers named in the gateway's help (e.g. "the servers' --gateway-secret-file").
  for (const name of inHelp)
    assert.ok(known.has(name as string), `--${name} in sluice gateway --help is a flag`);
  const configDoc = doc("configuration.md");
  for (const o of OPTIONS)
    assert.ok(configDoc.includes(`--${o.flag}`), `docs/configuration.md names --${o.flag}`);
});
