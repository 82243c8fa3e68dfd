// The destinations this process runs, and what calls are told of the others: started here
// (standalone), or when this server wins a destination's election and stopped when it loses
// it (cluster/membership.ts drives those through DestinationHost). Keeps the registry the
// services read in step: starting, running here, or running elsewhere.
import type { DestinationHost, RunnerOf } from "../cluster/membership.js";
import type { CursorStore } from "../meta/cursor-store.js";
import type { ServerMetrics } from "../metrics.js";
import { ReplicationError } from "../replication/replication-client.js";
import type { Destination } from "./destination.js";
import type { DestinationRegistry } from "./registry.js";

export interface RunningDestinationsOptions {
  registry: DestinationRegistry;
  /** A new (not started) destination, its cursors in `store`. */
  make(name: string, store: CursorStore): Destination;
  /** Made ready before it starts (canal's cursors imported). */
  prepare(name: string, store: CursorStore): Promise<void>;
  metrics: ServerMetrics;
  /** The process cannot keep its promises: it exits, saying why. */
  fail(err: Error): void;
}

export class RunningDestinations implements DestinationHost {
  readonly #o: RunningDestinationsOptions;
  readonly #running = new Map<string, Destination>();

  constructor(opts: RunningDestinationsOptions) {
    this.#o = opts;
  }

  /** Starts `name` here for good (standalone): a failure is the caller's. */
  async start(name: string, store: CursorStore): Promise<void> {
    const d = this.#o.make(name, store);
    await this.#o.prepare(name, store);
    await d.start();
    this.#serving(d);
  }

  async claim(name: string): Promise<void> {
    // The running node is ours from now on: until the destination serves, calls are told it
    // is starting (NotApplied, retry shortly), not that it runs elsewhere, so that a gateway
    // sends them here again rather than wait for another runner.
    const { registry } = this.#o;
    registry.elsewhere.delete(name);
    registry.starting.add(name);
    // Never two readers of one destination in one process.
    await this.#running.get(name)?.stop();
  }

  async run(name: string, store: CursorStore, runner: RunnerOf): Promise<void> {
    const d = this.#o.make(name, store);
    try {
      await this.#o.prepare(name, store);
      await d.start();
    } catch (err) {
      // The election gives the node up: this server stands by again.
      this.standBy(name, runner);
      // The source refused this server for good (credentials, privileges, binlog settings):
      // exit, so that a supervisor restarts it, rather than hold on.
      if (err instanceof ReplicationError && !err.retryable) {
        this.#o.fail(new Error(`destination ${name}: ${err.message}`));
      }
      throw err;
    }
    this.#serving(d);
    this.#o.metrics.electionWon(name);
  }

  async stop(name: string, runner: RunnerOf): Promise<void> {
    this.#o.metrics.electionLost(name);
    const d = this.#running.get(name);
    this.#running.delete(name);
    this.#o.registry.remove(name);
    this.#o.registry.elsewhere.set(name, runner);
    await d?.stop();
  }

  standBy(name: string, runner: RunnerOf): void {
    this.#o.registry.elsewhere.set(name, runner);
    this.#o.registry.starting.delete(name);
  }

  suspendAll(reason: string): void {
    for (const d of this.#running.values()) d.suspend(reason);
  }

  resumeAll(): void {
    for (const d of this.#running.values()) d.resume();
  }

  async stopAll(reason: string): Promise<void> {
    this.suspendAll(reason);
    for (const [name, d] of this.#running) {
      this.#o.registry.remove(name);
      this.#o.registry.starting.add(name);
      await d.stop();
    }
    this.#running.clear();
  }

  /** Stops every destination (the server is closing). */
  async close(): Promise<void> {
    for (const d of this.#running.values()) await d.stop();
    this.#running.clear();
  }

  #serving(d: Destination): void {
    this.#running.set(d.name, d);
    this.#o.registry.add(d);
    this.#o.registry.starting.delete(d.name);
  }
}
