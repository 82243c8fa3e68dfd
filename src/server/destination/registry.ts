// The destinations this server runs, by name.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Destination } from "./destination.js";

export class DestinationRegistry {
  readonly #byName = new Map<string, Destination>();
  /** Names configured but not started yet: calls for them get unavailable, not not_found. */
  readonly starting = new Set<string>();

  add(d: Destination): void {
    this.#byName.set(d.name, d);
  }

  get all(): Destination[] {
    return [...this.#byName.values()];
  }

  /** The destination, or a not_found error naming the ones that exist (invalid_argument when empty). */
  require(name: string): Destination {
    if (!name) throw new ConnectError("destination: is required", Code.InvalidArgument);
    const d = this.#byName.get(name);
    if (!d && this.starting.has(name)) {
      throw new ConnectError(
        `destination ${JSON.stringify(name)} is starting; retry shortly`,
        Code.Unavailable,
      );
    }
    if (!d) {
      const known = [...this.#byName.keys()].join(", ") || "none";
      throw new ConnectError(
        `destination ${JSON.stringify(name)} is not served here (destinations: ${known})`,
        Code.NotFound,
      );
    }
    return d;
  }
}
