// Every `sluice` subcommand and the top-level usage, in one place for main.ts and for the
// test that keeps docs/cli.md equal to each command's --help.
import { sluiceVersion } from "../common/version.js";
import { binlogCommand } from "./binlog-command.js";
import type { Command } from "./command.js";
import { cursorCommand } from "./cursor-command.js";
import { gatewayCommand } from "./gateway-command.js";
import { serverCommand } from "./server-command.js";
import { skipEventCommand } from "./skip-event-command.js";
import { statusCommand } from "./status-command.js";
import { tailCommand } from "./tail-command.js";
import { tokenCommand } from "./token-command.js";
import { zkAclCommand } from "./zk-acl-command.js";

export const COMMANDS: Command[] = [
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
export const PLANNED: string[][] = [];

export function version(): string {
  return sluiceVersion();
}

export function usage(): string {
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
