// What every `sluice` subcommand provides.
import { InsecureListenError } from "../security/listen-rule.js";

export interface Command {
  name: string;
  /** One line for `sluice --help`. */
  summary: string;
  /** The full `sluice <name> --help` text. */
  help: string;
  /** Runs the command; resolves with the process exit code. */
  run(args: string[]): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad flags or arguments: reported with the command's help and exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A start refused for its settings (an insecure listen) is bad usage: exit 2, the message as it is. */
export function refusedAsUsage(err: unknown): never {
  if (err instanceof InsecureListenError) throw new UsageError(err.message);
  throw err;
}
