// Exit codes of the client commands (tail, status), so scripts can tell failures apart.
import { Code, ConnectError } from "../clients/typescript/index.js";
import { EXIT_FAILURE } from "./command.js";

/** The destination does not exist (not_found). */
export const EXIT_NOT_FOUND = 3;
/** Another consumer holds the clientId (already_exists). */
export const EXIT_HELD = 4;

export const CLIENT_EXIT_CODES = `Exit codes: 0 ok (stopped by --max-rows, --max-seconds or Ctrl-C), 1 runtime failure (the
server refused or could not be reached; the message says why), 2 bad usage, 3 unknown
destination, 4 the clientId is held by another consumer.`;

/** Prints a client-side failure as one line and returns its exit code. */
export function reportClientError(command: string, err: unknown): number {
  const e = err instanceof ConnectError ? err : undefined;
  const message = e ? `${e.code === Code.Unavailable ? "unavailable: " : ""}${e.rawMessage}` : String(err);
  process.stderr.write(`sluice ${command}: ${message}\n`);
  if (e?.code === Code.NotFound) return EXIT_NOT_FOUND;
  if (e?.code === Code.AlreadyExists) return EXIT_HELD;
  return EXIT_FAILURE;
}
