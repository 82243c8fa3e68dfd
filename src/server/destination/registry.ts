// The destinations this server runs, by name.
import { Code, ConnectError } from "@connectrpc/connect";
import { notApplied } from "../../contracts/not-applied.js";
import type { Destination } from "./destination.js";

export class DestinationRegistry {
  readonly #byName = new Map<string, Destination>();
  /** Names configured but not started yet: calls for them get unavailable, not not_found. */
  readonly starting = new Set<string>();
  /** Destinations another server runs (this one stands by): name → the runner's address. */
  readonly elsewhere = new Map<string, () => string | undefined>();

  add(d: Destination): void {
    this.#byName.set(d.name, d);
  }

  remove(name: string): void {
    this.#byName.delete(name);
  }

  get all(): Destination[] {
    return [...this.#byName.values()];
  }

  /** The destination, or a not_found error naming the ones that exist (invalid_argument when empty). */
  require(name: string): Destination {
    if (!name) throw new ConnectError("destination: is required", Code.InvalidArgument);
    const d = this.#byName.get(name);
    const runner = d ? undefined : this.elsewhere.get(name)?.();
    if (!d && runner !== undefined) {
      throw notApplied(
        new ConnectError(
          `destination ${JSON.stringify(name)} runs on ${runner || "another server"}; this server stands by. ` +
            "Call the runner (a gateway routes there by itself), or retry shortly if it is failing over",
          Code.Unavailable,
        ),
      );
    }
    if (!d && this.starting.has(name)) {
      throw notApplied(
        new ConnectError(`destination ${JSON.stringify(name)} is starting; retry shortly`, Code.Unavailable),
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
