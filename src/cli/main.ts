// The `sluice` command: one binary, one subcommand per part. This is the only module that
// wires server, gateway and client code together (see docs/design.md, "The parts").
import "./runtime-flags.js";
import { readFileSync } from "node:fs";
import { binlogCommand } from "./binlog-command.js";
import { type Command, EXIT_USAGE, UsageError } from "./command.js";
import { cursorCommand } from "./cursor-command.js";
import { gatewayCommand } from "./gateway-command.js";
import { serverCommand } from "./server-command.js";
import { skipEventCommand } from "./skip-event-command.js";
import { statusCommand } from "./status-command.js";
import { tailCommand } from "./tail-command.js";
import { tokenCommand } from "./token-command.js";
import { zkAclCommand } from "./zk-acl-command.js";

const COMMANDS: Command[] = [
  serverCommand,
  gatewayCommand,
  tailCommand,
  statusCommand,
  cursorCommand,
  skipEventCommand,
  binlogCommand,
  zkAclCommand,
  tokenCommand,
];

// Named in docs/design.md and coming with later issues; listed so that --help tells the truth.
const PLANNED: string[][] = [];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(
    ...COMMANDS.map((c) => c.name.length),
    ...PLANNED.map(([n]) => (n as string).length),
  );
  const lines = [
    "Usage: sluice <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    ...PLANNED.map(([n, s]) => `  ${(n as string).padEnd(width)}  ${s}`),
    "",
    "Run 'sluice <command> --help' for a command's options.",
    "Exit codes: 0 ok, 1 failure, 2 bad usage (some commands add their own; see their --help).",
  ];
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === "--version" || name === "version") {
    process.stdout.write(`sluice ${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const planned = PLANNED.find(([n]) => n === name);
    process.stderr.write(
      planned ? `sluice ${name}: not built yet\n` : `sluice: unknown command "${name}"\n\n${usage()}\n`,
    );
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sluice ${name}: ${err.message}\nRun 'sluice ${name} --help' for usage.\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`sluice ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
