// Secrets (database and ZooKeeper passwords) come from the environment or from files, never
// from flags: argv is visible to every local user (`ps`, /proc/PID/cmdline) and ends up in
// process listings, shell history and telemetry. See docs/security.md, "Secrets".
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export class SecretFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretFileError";
  }
}

/**
 * The secret held in a file: its text without the line break at its end (what `echo` and
 * editors leave), so that `echo secret > file` works. Errors say why the file cannot be used,
 * never what it holds.
 */
export function readSecretFile(name: string, cwd: string = process.cwd()): string {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, name), "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "ENOENT"
        ? "no such file"
        : e.code === "EACCES"
          ? "permission denied"
          : e.code === "EISDIR"
            ? "is a directory"
            : (e.code ?? "unreadable");
    throw new SecretFileError(`cannot read ${JSON.stringify(name)}: ${why}`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "") throw new SecretFileError(`${JSON.stringify(name)} is empty`);
  if (/[\r\n]/.test(secret)) {
    throw new SecretFileError(`${JSON.stringify(name)} holds more than one line; a password file holds one`);
  }
  return secret;
}

/** The password of a URL's userinfo ("mysql://user:secret@host"), "" when it has none. */
export function urlPassword(text: string): string {
  try {
    return new URL(text).password;
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/?#:@]*:([^/?#@]*)@/i.exec(text)?.[1] ?? "";
  }
}
