// A security setting that cannot be used: a file that cannot be read or has a mistake. The
// message names the file (and the line) and what to change; it never quotes a secret.
export class SecurityConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecurityConfigError";
  }
}

/** A file's text, or a SecurityConfigError saying why it cannot be read (never what it holds). */
export function fileProblem(file: string, err: unknown): SecurityConfigError {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === "ENOENT"
      ? "no such file"
      : e.code === "EACCES"
        ? "permission denied"
        : e.code === "EISDIR"
          ? "is a directory"
          : (e.code ?? "unreadable");
  return new SecurityConfigError(`${file}: cannot read it: ${why}`);
}
