/**
 * An invalid configuration. `problems` lists every problem found, each starting with the path
 * of the bad key (`destinations[1].source: ...`, `store.maxBytes: ...`) or the flag or
 * environment variable it came from (`--port: ...`, `SLUICE_PORT: ...`), and ending with the
 * file position when it came from the config file. No password appears in them.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.problems = problems;
  }
}
