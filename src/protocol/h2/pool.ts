// The gateway's own HTTP/2 connections to servers for unary calls (connection.ts), one per
// server address, made on first use and again after one closes.
import type { Socket } from "node:net";
import { H2Connection, type H2ConnectionOptions } from "./connection.js";

export class H2Pool {
  readonly #byAddress = new Map<string, H2Connection>();

  constructor(
    private readonly connect: (address: string) => Socket,
    private readonly options: H2ConnectionOptions = {},
  ) {}

  /** The connection to `address`, once the server answered its SETTINGS; rejects when it cannot be reached. */
  async connected(address: string): Promise<H2Connection> {
    let c = this.#byAddress.get(address);
    if (!c?.usable) {
      const made = new H2Connection(this.connect(address), this.options);
      made.onClose(() => {
        if (this.#byAddress.get(address) === made) this.#byAddress.delete(address);
      });
      this.#byAddress.set(address, made);
      c = made;
    }
    await c.ready();
    return c;
  }

  /** Closes every connection at once (the gateway stops). */
  close(): void {
    for (const c of this.#byAddress.values()) c.destroy();
    this.#byAddress.clear();
  }
}
