// Spreads destinations over the servers able to run them. canal lets the first server to
// start grab everything; here a server that runs more than its fair share hands one
// destination at a time over to the least loaded server of that destination's cluster that
// runs at least two fewer, until no such server is left (4 destinations on 3 servers end as
// 2/1/1). Handing over is the same graceful path as an admin release
// (election.ts handOver): the old runner stops serving first, consumers resubscribe to the new
// one and continue from their durable cursors.
//
// Every server decides only about the destinations it runs, from what ZooKeeper shows, so no
// coordinator is needed; a move happens only when the target would still run fewer than this
// server afterwards (load(target) <= load(self) - 2), so moves always even things out and
// two servers never trade a destination back and forth.
import type { Logger } from "../../common/log.js";
import type { ZkClient } from "../../common/zk/client.js";
import type { ZkPaths } from "../../common/zk/paths.js";
import type { DestinationElection } from "./election.js";

export interface BalancerOptions {
  /** Wait this long after a change (a server joined, a move) before deciding again. */
  settleMs: number;
  /** Look again this often even without a change. */
  intervalMs: number;
}

export class Balancer {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #busy = false;

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    private readonly self: () => string,
    private readonly elections: ReadonlyMap<string, DestinationElection>,
    private readonly opts: BalancerOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.#watchServers();
    this.#schedule(this.opts.settleMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Servers joining or leaving change everyone's share. */
  async #watchServers(): Promise<void> {
    if (this.#stopped) return;
    await this.zk
      .children(this.paths.cluster(), (event) => {
        if (event === "session") return;
        this.#schedule(this.opts.settleMs);
        void this.#watchServers();
      })
      .catch(() => {});
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      void this.#balanceOnce()
        .catch((err) => {
          this.log.debug("balancing skipped", { error: (err as Error).message });
          return false;
        })
        .then((moved) => this.#schedule(moved ? this.opts.settleMs : this.opts.intervalMs));
    }, delayMs);
  }

  /** Moves at most one destination; the next round (after settleMs) may move another. */
  async #balanceOnce(): Promise<boolean> {
    if (this.#stopped || this.#busy || this.zk.state !== "connected") return false;
    this.#busy = true;
    try {
      const self = this.self();
      const live = new Set(await this.zk.children(this.paths.cluster()));
      const load = new Map<string, number>();
      const clusters = new Map<string, string[]>();
      const candidates = new Set<string>([self]);
      for (const name of this.elections.keys()) {
        const members = (await this.zk.children(this.paths.destinationCluster(name)).catch(() => [])).filter(
          (a) => live.has(a),
        );
        clusters.set(name, members);
        for (const m of members) candidates.add(m);
        const runner = await this.#runnerOf(name);
        if (runner) load.set(runner, (load.get(runner) ?? 0) + 1);
      }
      const mine = [...this.elections.values()].filter((e) => e.running);
      const share = this.elections.size / candidates.size;
      if (mine.length <= Math.floor(share)) return false;
      let best: { election: DestinationElection; to: string; load: number } | undefined;
      for (const e of mine) {
        for (const m of clusters.get(e.destination) ?? []) {
          if (m === self) continue;
          const l = load.get(m) ?? 0;
          if (l <= mine.length - 2 && (!best || l < best.load)) best = { election: e, to: m, load: l };
        }
      }
      if (!best) return false;
      this.log.info("balancing: handing a destination over", {
        destination: best.election.destination,
        to: best.to,
        running: mine.length,
        share: Number(share.toFixed(2)),
      });
      await best.election.handOver(
        best.to,
        `balancing: ${best.to} runs ${best.load}, this server ${mine.length}`,
      );
      return true;
    } finally {
      this.#busy = false;
    }
  }

  async #runnerOf(name: string): Promise<string | undefined> {
    try {
      const { data } = await this.zk.get(this.paths.destinationRunning(name));
      return String((JSON.parse(data.toString("utf8")) as { address?: unknown }).address ?? "");
    } catch {
      return undefined;
    }
  }
}
