// Keeps docs/cli.md's help blocks equal to what `sluice <command> --help` prints: each block
// sits between `<!-- help: NAME -->` and `<!-- /help -->` ("sluice" for the top-level usage).
//   node dist/scripts/cli-reference.js          checks, exit 1 naming the blocks that differ
//   node dist/scripts/cli-reference.js --write  rewrites the blocks
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { COMMANDS, usage } from "../src/cli/commands.js";

export const CLI_DOC = fileURLToPath(new URL("../../docs/cli.md", import.meta.url));

/** What each block must hold: name → help text. */
export function helpTexts(): Map<string, string> {
  return new Map([["sluice", usage()], ...COMMANDS.map((c) => [c.name, c.help] as [string, string])]);
}

const BLOCK = /<!-- help: ([\w-]+) -->\n```text\n([\s\S]*?)\n```\n<!-- \/help -->/g;

/** The doc's blocks: name → text. */
export function docBlocks(doc: string): Map<string, string> {
  return new Map([...doc.matchAll(BLOCK)].map((m) => [m[1] as string, m[2] as string]));
}

export function rewrite(doc: string, texts: Map<string, string>): string {
  return doc.replace(BLOCK, (whole, name: string) => {
    const text = texts.get(name);
    return text === undefined ? whole : `<!-- help: ${name} -->\n\`\`\`text\n${text}\n\`\`\`\n<!-- /help -->`;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(CLI_DOC, "utf8");
  if (process.argv.includes("--write")) {
    writeFileSync(CLI_DOC, rewrite(doc, helpTexts()));
  } else {
    const blocks = docBlocks(doc);
    const wrong = [...helpTexts()].filter(([name, text]) => blocks.get(name) !== text).map(([n]) => n);
    if (wrong.length > 0) {
      console.error(`docs/cli.md differs from --help for: ${wrong.join(", ")} (run with --write)`);
      process.exit(1);
    }
  }
}
