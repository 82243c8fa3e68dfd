// A file read once and again whenever it changes (polled: fs.watch misses editors' renames),
// for the token and policy files: a token revoked or a rule changed takes effect without a
// restart. A change that cannot be read or has a mistake is logged and the last good content
// kept, so that a half-written file never opens or closes everything.
import { unwatchFile, watchFile } from "node:fs";
import type { Logger } from "../common/log.js";

const POLL_MS = 2000;

export class ReloadingFile<T> {
  #current: T;
  readonly #listener: () => void;

  constructor(
    readonly file: string,
    read: (file: string) => T,
    log: Logger,
    /** Told after each reload (caches are dropped). */
    onReload: () => void = () => {},
  ) {
    this.#current = read(file);
    this.#listener = () => {
      try {
        this.#current = read(file);
        onReload();
        log.info("reloaded", { file });
      } catch (err) {
        log.error("a changed security file cannot be used; keeping what it said before", {
          file,
          error: (err as Error).message,
        });
      }
    };
    watchFile(file, { interval: POLL_MS, persistent: false }, this.#listener);
  }

  get current(): T {
    return this.#current;
  }

  close(): void {
    unwatchFile(this.file, this.#listener);
  }
}
