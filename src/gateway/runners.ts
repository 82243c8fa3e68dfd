// The live table destination → running server, read from canal's running node
// ({root}/destinations/{d}/running, JSON with "address"; its czxid is the runner's epoch).
// A destination is watched from the first call that names it; every change of its running
// node (a new runner, none during an election) updates the table and wakes the calls that
// wait for a runner, and tells the open streams of that destination (they end on a change).

import type { Logger } from "../common/log.js";
import { type ZkClient, ZkError } from "../common/zk/client.js";
import type { ZkPaths } from "../common/zk/paths.js";
import type { CancelSignal } from "../protocol/call-cancel.js";
import { notFound, unavailable } from "../protocol/index.js";
import type { GatewayZk } from "./zk-session.js";

export interface Runner {
  /** host:port of the server's Connect port. */
  address: string;
  /** czxid of the running node. */
  epoch: bigint;
}

interface Entry {
  /** undefined while not read yet; null when no server runs it (election in progress). */
  runner: Runner | null | undefined;
  /** Resolves at the next change of runner. */
  changed: Promise<void>;
  wake: () => void;
  readonly listeners: Set<(runner: Runner | null) => void>;
  /** The read in progress, and whether another must follow it. */
  refreshing?: Promise<void> | undefined;
  dirty?: boolean;
}

export class RunnerTable {
  readonly #entries = new Map<string, Entry>();
  readonly #holdMs: number;

  constructor(
    private readonly zk: GatewayZk,
    private readonly paths: ZkPaths,
    /** How long a call waits for a runner while none is elected. */
    holdMs: number,
    private readonly log: Logger,
  ) {
    this.#holdMs = holdMs;
    zk.onRenewed(() => {
      // Watches went with the old session: read every destination again.
      for (const name of this.#entries.keys()) void this.#refresh(name);
    });
  }

  /** How long a call waits for a runner, and sends again a call that did not take effect. */
  get holdMs(): number {
    return this.#holdMs;
  }

  /** Destinations whose running server is known (metrics). */
  get knownRunners(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.runner) n++;
    return n;
  }

  /** The runner as last seen, without waiting (undefined when unknown or none). */
  current(destination: string): Runner | undefined {
    return this.#entries.get(destination)?.runner ?? undefined;
  }

  /** Called whenever destination's runner changes (null: none). Returns an unsubscribe function. */
  onChange(destination: string, fn: (runner: Runner | null) => void): () => void {
    const entry = this.#entry(destination);
    entry.listeners.add(fn);
    return () => entry.listeners.delete(fn);
  }

  /**
   * Fires `onMoved` once when `destination`'s runner is no longer `runner` (another server runs
   * it, or none does while an election is in progress): whatever was relayed to `runner` and
   * is still waiting for its answer will not be answered by the destination's runner (a
   * frozen server, or one that lost or handed over the destination). Returns a stop function.
   */
  onMoved(destination: string, runner: Runner, onMoved: (next: Runner | null) => void): () => void {
    const stop = this.onChange(destination, (next) => {
      if (next?.address === runner.address && next.epoch === runner.epoch) return;
      stop();
      onMoved(next);
    });
    const now = this.#entries.get(destination)?.runner;
    if (now !== undefined && (now === null || now.epoch !== runner.epoch || now.address !== runner.address)) {
      stop();
      onMoved(now);
    }
    return stop;
  }

  /**
   * The running server of `destination`. Waits up to the hold time (or the signal) while an
   * election is in progress, then fails with unavailable and a retry delay. not_found when
   * ZooKeeper has no such destination. `retry`: the runner of that epoch just answered that a
   * call did not take effect; while it still runs the destination, pause `pauseMs` (or until
   * the runner changes) before routing to it again: it may be starting, or waiting for
   * ZooKeeper during a leader election, and serve again in a moment.
   */
  async route(
    destination: string,
    signal?: CancelSignal,
    retry?: { epoch: bigint; pauseMs: number },
  ): Promise<Runner> {
    const deadline = Date.now() + this.holdMs;
    const entry = this.#entry(destination);
    if (retry !== undefined && entry.runner?.epoch === retry.epoch) {
      await waitFor(entry.changed, retry.pauseMs, signal);
    }
    for (;;) {
      if (entry.runner === undefined) await this.#refresh(destination);
      // Taken before the awaits below: a runner elected while they wait wakes this one at once
      // (read after them, it would be the promise of the change after that: a wait in vain).
      const changed = entry.changed;
      const r = entry.runner;
      if (r) return r;
      if (r === null) {
        if (!(await this.#exists(destination))) {
          throw notFound(
            `destination ${JSON.stringify(destination)} is not known to ZooKeeper: no server is configured to run it`,
          );
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) {
        throw unavailable(
          `destination ${JSON.stringify(destination)} has no running server right now (election in progress)`,
          500,
        );
      }
      await waitFor(changed, Math.min(left, 1000), signal);
    }
  }

  #entry(destination: string): Entry {
    let entry = this.#entries.get(destination);
    if (!entry) {
      let wake!: () => void;
      const changed = new Promise<void>((r) => {
        wake = r;
      });
      entry = { runner: undefined, changed, wake, listeners: new Set() };
      this.#entries.set(destination, entry);
    }
    return entry;
  }

  async #exists(destination: string): Promise<boolean> {
    return (await this.zk.client.exists(this.paths.destination(destination))) !== undefined;
  }

  /**
   * Reads the running node again. One read at a time per destination (a change during a read
   * makes one more), so that watches fired together do not multiply the reads and watches.
   */
  #refresh(destination: string): Promise<void> {
    const entry = this.#entry(destination);
    if (entry.refreshing) {
      entry.dirty = true;
      return entry.refreshing;
    }
    entry.refreshing = (async () => {
      do {
        entry.dirty = false;
        await this.#read(destination);
      } while (entry.dirty);
    })().finally(() => {
      entry.refreshing = undefined;
    });
    return entry.refreshing;
  }

  /** Reads the running node with a watch that reads it again on every change. */
  async #read(destination: string): Promise<void> {
    const client: ZkClient = this.zk.client;
    const path = this.paths.destinationRunning(destination);
    const again = (event: string) => {
      if (event !== "session" && client === this.zk.client) void this.#refresh(destination);
    };
    let runner: Runner | null;
    try {
      const { data, stat } = await client.get(path, again);
      runner = { address: parseAddress(data.toString("utf8")), epoch: BigInt(stat.czxid) };
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "NONODE")) {
        // No watch is set: leave the runner unknown, so that the next call reads it again.
        this.log.warn("reading the running node failed", { destination, error: (err as Error).message });
        const entry = this.#entry(destination);
        if (entry.runner === null) entry.runner = undefined;
        return;
      } else {
        runner = null;
        // Watch for its creation; if it appeared in between, read it.
        const stat = await client.exists(path, again).catch(() => undefined);
        if (stat) {
          this.#entry(destination).dirty = true; // created meanwhile: read it
          return;
        }
      }
    }
    this.#set(destination, runner);
  }

  #set(destination: string, runner: Runner | null): void {
    const entry = this.#entry(destination);
    const before = entry.runner;
    entry.runner = runner;
    const same =
      before !== undefined &&
      ((before === null && runner === null) ||
        (before !== null &&
          runner !== null &&
          before.address === runner.address &&
          before.epoch === runner.epoch));
    if (same) return;
    if (before !== undefined) {
      this.log.info("runner changed", {
        destination,
        from: before ? `${before.address}@${before.epoch}` : "none",
        to: runner ? `${runner.address}@${runner.epoch}` : "none",
      });
    }
    const wake = entry.wake;
    entry.changed = new Promise<void>((r) => {
      entry.wake = r;
    });
    wake();
    if (before !== undefined) for (const fn of [...entry.listeners]) fn(runner);
  }
}

function parseAddress(data: string): string {
  try {
    const address = (JSON.parse(data) as { address?: unknown }).address;
    if (typeof address === "string" && address) return address;
  } catch {
    // canal writes JSON; anything else is taken as the address itself
  }
  return data.trim();
}

function waitFor(p: Promise<void>, ms: number, signal?: CancelSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    void p.then(done);
  });
}
