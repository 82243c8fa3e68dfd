// canal's election of one runner per destination: every server able to run it competes for
// the ephemeral {root}/destinations/{d}/running node (canal's JSON). The winner runs the
// destination; its node's czxid is the destination's epoch. The others stand by, watching the
// node; when it goes, the previous owner may grab it again at once and the others wait a short
// delay first (canal's rule, against flapping).
import type { Logger } from "../../common/log.js";
import { type ZkClient, ZkError, ZOO_EPHEMERAL } from "../../common/zk/client.js";
import type { ZkPaths } from "../../common/zk/paths.js";

export interface RunnerInfo {
  address: string;
  /** czxid of the running node. */
  epoch: bigint;
  /** ctime of the running node, ms since the epoch. */
  since: number;
}

export interface ElectionHandlers {
  /** This server now runs the destination under `epoch`. Throwing releases the node. */
  elected(epoch: bigint): Promise<void>;
  /** This server no longer runs it (released, or its session is gone). */
  lost(reason: string): Promise<void>;
}

export class DestinationElection {
  #runner: RunnerInfo | undefined;
  #running = false;
  #stopped = false;
  #wasOwner = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    readonly destination: string,
    private readonly self: () => string,
    private readonly regrabDelayMs: number,
    private readonly handlers: ElectionHandlers,
    private readonly log: Logger,
  ) {}

  /** Who runs the destination, as last seen (this server or another). */
  get runner(): RunnerInfo | undefined {
    return this.#runner;
  }

  get running(): boolean {
    return this.#running;
  }

  async start(): Promise<void> {
    await this.zk.ensurePath(this.paths.destinationCluster(this.destination));
    await this.zk
      .create(`${this.paths.destinationCluster(this.destination)}/${this.self()}`, "", ZOO_EPHEMERAL)
      .catch((err) => {
        if (!(err instanceof ZkError && err.code === "NODEEXISTS")) throw err;
      });
    await this.#compete();
  }

  /** Gives the destination up (SIGTERM, admin release): a standby takes over at once. */
  async release(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#running) {
      this.#running = false;
      await this.handlers.lost("released");
      await this.zk.delete(this.paths.destinationRunning(this.destination)).catch(() => {});
    }
  }

  async #compete(): Promise<void> {
    if (this.#stopped || this.zk.state === "closed") return;
    const path = this.paths.destinationRunning(this.destination);
    const address = this.self();
    try {
      await this.zk.create(path, JSON.stringify({ active: true, address, cid: 1 }), ZOO_EPHEMERAL);
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "NODEEXISTS")) throw err;
      await this.#standBy();
      return;
    }
    const { stat } = await this.zk.get(path);
    const epoch = BigInt(stat.czxid);
    this.#runner = { address, epoch, since: stat.ctime };
    this.#running = true;
    this.#wasOwner = true;
    this.log.info("elected to run the destination", { epoch });
    try {
      await this.handlers.elected(epoch);
    } catch (err) {
      this.log.error("could not start the destination; giving it up", { error: (err as Error).message });
      this.#running = false;
      await this.zk.delete(path).catch(() => {});
      this.#wasOwner = false;
      this.#schedule(this.regrabDelayMs * 5);
      return;
    }
    // Watch our own node: if it vanishes while we run (session trouble), stop at once.
    await this.zk
      .exists(path, (event) => {
        if (event === "deleted" || event === "session") void this.#lostRunning("the running node went away");
      })
      .catch(() => {});
  }

  async #lostRunning(reason: string): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.log.warn("stopped running the destination", { reason });
    await this.handlers.lost(reason);
    this.#schedule(0);
  }

  async #standBy(): Promise<void> {
    const path = this.paths.destinationRunning(this.destination);
    let stat: Awaited<ReturnType<ZkClient["exists"]>>;
    let data = "";
    try {
      const got = await this.zk.get(path, (event) => {
        if (event === "deleted") {
          // canal: the previous owner may take it again at once; others wait, so that a server
          // restarting quickly gets its destinations back without a round of flapping.
          this.#schedule(this.#wasOwner ? 0 : this.regrabDelayMs);
        } else if (event !== "session") {
          void this.#standBy();
        }
      });
      stat = got.stat;
      data = got.data.toString("utf8");
    } catch (err) {
      if (err instanceof ZkError && err.code === "NONODE") {
        this.#schedule(0);
        return;
      }
      throw err;
    }
    let address = "";
    try {
      address = String((JSON.parse(data) as { address?: unknown }).address ?? "");
    } catch {
      address = data;
    }
    this.#runner = { address, epoch: BigInt(stat?.czxid ?? 0), since: stat?.ctime ?? 0 };
    this.#wasOwner = address === this.self();
    this.log.info("standing by", { runner: address });
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#compete().catch((err) => {
        this.log.warn("election attempt failed; retrying", { error: (err as Error).message });
        this.#schedule(Math.max(this.regrabDelayMs, 500));
      });
    }, delayMs);
  }
}
