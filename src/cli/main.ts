// The `sluice` command: one binary, one subcommand per part. This is the only module that
// wires server, gateway and client code together (see docs/design.md, "The parts").
import "./runtime-flags.js";
import { EXIT_USAGE, UsageError } from "./command.js";
import { COMMANDS, PLANNED, usage, version } from "./commands.js";

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
