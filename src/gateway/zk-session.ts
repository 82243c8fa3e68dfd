// The gateway's one ZooKeeper session, renewed when it expires. Everything the gateway knows
// lives in ZooKeeper: when the session ends, the holds it created (ephemeral nodes) are gone,
// and the watches with them; the parts that keep watches (runner table, holds) start again
// on the new session through onRenewed.
import type { Logger } from "../common/log.js";
import type { ZkAclPolicy, ZkCredentials } from "../common/zk/acl.js";
import { ZkClient, type ZkClientOptions } from "../common/zk/client.js";

export interface GatewayZkOptions {
  connect: string;
  sessionTimeoutMs: number;
  /** With credentials, the session authenticates and its nodes (holds) get `acl`. */
  auth?: { credentials: ZkCredentials; acl: ZkAclPolicy } | undefined;
  logger: Logger;
}

function clientOptions(opts: GatewayZkOptions): ZkClientOptions {
  return { sessionTimeoutMs: opts.sessionTimeoutMs, ...(opts.auth ?? {}) };
}

export class GatewayZk {
  #client: ZkClient;
  #closing = false;
  /** When the session's connection was lost (undefined while connected). */
  #disconnectedAt: number | undefined;
  readonly #renewed = new Set<(client: ZkClient) => void>();
  readonly #lost = new Set<(reason: string) => void>();

  private constructor(
    client: ZkClient,
    private readonly opts: GatewayZkOptions,
  ) {
    this.#client = client;
    this.#watch(client);
  }

  static async connect(opts: GatewayZkOptions): Promise<GatewayZk> {
    const client = await ZkClient.connect(opts.connect, clientOptions(opts));
    return new GatewayZk(client, opts);
  }

  get client(): ZkClient {
    return this.#client;
  }

  /** True while the session is connected. */
  get connected(): boolean {
    return this.#client.state === "connected";
  }

  /**
   * What /readyz and the health service report: true while the session is connected, and
   * while its connection is being made again for less than the session timeout (a ZooKeeper
   * leader election, a member restarting). Meanwhile the gateway routes with what it knows
   * (its watches fire when it reconnects), its holds live on with the session, and a balancer
   * that took every gateway out at once would turn a short ZooKeeper hiccup into an outage.
   * Past the session timeout the session has expired, or is about to, and its holds with it:
   * not ready until a session is connected again.
   */
  get ready(): boolean {
    const state = this.#client.state;
    if (state === "connected") return true;
    return (
      state === "connecting" &&
      this.#disconnectedAt !== undefined &&
      performance.now() - this.#disconnectedAt < this.#client.sessionTimeoutMs
    );
  }

  /** Called with the new client after the session was lost and a new one made. */
  onRenewed(fn: (client: ZkClient) => void): () => void {
    this.#renewed.add(fn);
    return () => this.#renewed.delete(fn);
  }

  /** Called when the session is lost (its ephemeral nodes are gone). */
  onLost(fn: (reason: string) => void): () => void {
    this.#lost.add(fn);
    return () => this.#lost.delete(fn);
  }

  #watch(client: ZkClient): void {
    client.onState((state, reason) => {
      if (client !== this.#client) return;
      if (state === "connected") {
        if (this.#disconnectedAt !== undefined) this.opts.logger.info("ZooKeeper connected again");
        this.#disconnectedAt = undefined;
      } else if (state === "connecting" && this.#disconnectedAt === undefined) {
        this.#disconnectedAt = performance.now();
        this.opts.logger.warn("ZooKeeper connection lost; reconnecting within the session");
      }
      if (state !== "closed" || this.#closing) return;
      this.opts.logger.warn("ZooKeeper session lost; its holds are gone; connecting again", { reason });
      for (const fn of this.#lost) fn(reason ?? "closed");
      void this.#reconnect();
    });
  }

  async #reconnect(): Promise<void> {
    for (let attempt = 0; !this.#closing; attempt++) {
      try {
        const client = await ZkClient.connect(this.opts.connect, clientOptions(this.opts));
        if (this.#closing) {
          client.close();
          return;
        }
        this.#client = client;
        this.#disconnectedAt = undefined;
        this.#watch(client);
        this.opts.logger.info("ZooKeeper session renewed");
        for (const fn of this.#renewed) fn(client);
        return;
      } catch (err) {
        const delay = Math.min(5_000, 200 * 2 ** attempt);
        this.opts.logger.warn("connecting to ZooKeeper failed; retrying", {
          error: (err as Error).message,
          inMs: delay,
        });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Ends the session: the holds this gateway created go at once. */
  close(): void {
    this.#closing = true;
    this.#client.close();
  }
}
