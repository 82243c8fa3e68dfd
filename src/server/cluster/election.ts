// canal's election of one runner per destination: every server able to run it competes for
// the ephemeral {root}/destinations/{d}/running node (canal's JSON). The winner runs the
// destination; its node's czxid is the destination's epoch. The others stand by, watching the
// node; when it goes they compete at once if its server crashed or handed it over, and after a
// short delay otherwise (canal's rule, against flapping; see #runnerGone).
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

/** How long a handover names who may take the destination (the others wait that long). */
export const HANDOFF_WINDOW_MS = 10_000;

interface Handoff {
  from: string;
  to: string;
  at: number;
}

export class DestinationElection {
  #runner: RunnerInfo | undefined;
  /** After handing the destination over, this server does not compete before this time. */
  #holdOffUntil = 0;
  #competing = false;
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

  /**
   * Gives the destination up for good (SIGTERM): a handover to nobody in particular, so that
   * a standby takes over at once rather than after regrabDelay.
   */
  async release(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#running) {
      this.#running = false;
      await this.#writeHandoff("").catch((err: Error) => {
        this.log.warn("could not announce the handover; standbys take over after regrabDelay", {
          error: err.message,
        });
      });
      await this.handlers.lost("released");
      await this.zk.delete(this.paths.destinationRunning(this.destination)).catch(() => {});
    }
  }

  async #writeHandoff(to: string): Promise<void> {
    const handoff = this.paths.handoff(this.destination);
    await this.zk.ensurePath(handoff.slice(0, handoff.lastIndexOf("/")));
    await this.zk.delete(handoff).catch(() => {});
    const body: Handoff = { from: this.self(), to, at: Date.now() };
    await this.zk.create(handoff, JSON.stringify(body), ZOO_EPHEMERAL);
  }

  /**
   * Hands the destination over (AdminService.ReleaseDestination, balancing): to `to` when
   * given, else to whichever other server wins. Stops serving before the running node goes;
   * this server then stands by and competes again only if nobody took over within
   * HANDOFF_WINDOW_MS (a destination is never left without a runner).
   */
  async handOver(to: string, reason: string): Promise<void> {
    if (!this.#running) throw new Error(`this server does not run ${this.destination}`);
    await this.#writeHandoff(to);
    this.#holdOffUntil = Date.now() + HANDOFF_WINDOW_MS;
    this.#wasOwner = false;
    this.#running = false;
    this.log.info("handing the destination over", { to: to || "any other server", reason });
    await this.handlers.lost(reason);
    await this.zk.delete(this.paths.destinationRunning(this.destination)).catch(() => {});
    await this.#standBy().catch((err) => this.#retryAfter(err));
  }

  async #readHandoff(): Promise<Handoff | undefined> {
    try {
      const { data } = await this.zk.get(this.paths.handoff(this.destination));
      const h = JSON.parse(data.toString("utf8")) as Partial<Handoff>;
      if (typeof h.at !== "number" || Date.now() - h.at > HANDOFF_WINDOW_MS) return undefined;
      return { from: String(h.from ?? ""), to: String(h.to ?? ""), at: h.at };
    } catch {
      return undefined;
    }
  }

  /**
   * The runner's node went: when to compete.
   * - A handover named us: at once. It named another server: after it had its chance.
   *   It named nobody (a graceful release): at once, unless we are the one who let go.
   * - The runner's server is gone from the cluster too (its session expired: a crash, a
   *   freeze, a partition): at once; nobody is coming back for it.
   * - Otherwise the runner is alive and let go without a handover (it could not start the
   *   destination, say): canal's rule against flapping, the previous owner at once and the
   *   others after regrabDelay.
   */
  async #runnerGone(): Promise<void> {
    const previous = this.#runner?.address;
    let delay = this.#wasOwner ? 0 : this.regrabDelayMs;
    const handoff = await this.#readHandoff();
    if (handoff?.to === this.self()) {
      // Named: take it now, even if we handed it over ourselves a moment ago.
      this.#holdOffUntil = 0;
      delay = 0;
    } else if (handoff?.to) {
      delay = this.regrabDelayMs + HANDOFF_WINDOW_MS;
    } else if (handoff && handoff.from !== this.self()) {
      delay = 0;
    } else if (previous && !(await this.zk.exists(this.paths.server(previous)).catch(() => true))) {
      delay = 0;
    }
    this.#schedule(delay);
    await this.#watchForRunner();
  }

  /**
   * While we wait to compete (or hold off after a handover), whoever takes the destination
   * becomes the runner to watch: its node going (released right after a handover, say) must
   * wake us too.
   */
  async #watchForRunner(): Promise<void> {
    const stat = await this.zk.exists(this.paths.destinationRunning(this.destination), (event) => {
      if (event === "created") void this.#standBy().catch((err) => this.#retryAfter(err));
    });
    if (stat) await this.#standBy();
  }

  /** One attempt at a time: two overlapping attempts would both find our node and run twice. */
  async #compete(): Promise<void> {
    if (this.#competing) return;
    this.#competing = true;
    try {
      await this.#competeOnce();
    } finally {
      this.#competing = false;
    }
  }

  async #competeOnce(): Promise<void> {
    if (this.#stopped || this.#running || this.zk.state === "closed") return;
    const path = this.paths.destinationRunning(this.destination);
    const address = this.self();
    try {
      await this.zk.create(path, JSON.stringify({ active: true, address, cid: 1 }), ZOO_EPHEMERAL);
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "NODEEXISTS")) throw err;
      // Ours already if an earlier create succeeded but its answer was lost on the way.
      if (!(await this.#ownsNode())) {
        await this.#standBy();
        return;
      }
    }
    const { stat } = await this.zk.get(path);
    if (stat.ephemeralOwner !== this.zk.sessionId) {
      // Gone and taken by someone else between our create and this read.
      await this.#standBy();
      return;
    }
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
    // A handover that named us (or anyone) is done.
    await this.zk.delete(this.paths.handoff(this.destination)).catch(() => {});
    await this.#watchOwnNode();
  }

  async #ownsNode(): Promise<boolean> {
    const stat = await this.zk.exists(this.paths.destinationRunning(this.destination));
    return stat !== undefined && stat.ephemeralOwner === this.zk.sessionId;
  }

  /**
   * While we run, our running node goes only if someone deletes it or our session ends.
   * Connection trouble within the session (reconnecting, an ensemble leader election) is not
   * a loss: the C client calls every watch with a session event then and keeps the watch;
   * the session lease (session-lease.ts) decides whether we may serve meanwhile, and the
   * server rejoins when the session expires.
   */
  async #watchOwnNode(): Promise<void> {
    const path = this.paths.destinationRunning(this.destination);
    try {
      const stat = await this.zk.exists(path, (event) => {
        if (event === "deleted") void this.#lostRunning("the running node was deleted");
        else if (event !== "session" && this.#running) void this.#watchOwnNode();
      });
      if (!stat || stat.ephemeralOwner !== this.zk.sessionId) {
        await this.#lostRunning("the running node is no longer ours");
      }
    } catch (err) {
      // The session is gone (the server rejoins) or the connection is down right now (the
      // watch cannot be set; check again shortly while we still run).
      if (this.zk.state !== "closed" && this.#running) {
        this.log.debug("could not watch the running node; retrying", { error: (err as Error).message });
        setTimeout(() => void this.#watchOwnNode(), Math.max(100, this.regrabDelayMs));
      }
    }
  }

  async #lostRunning(reason: string): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.log.warn("stopped running the destination", { reason });
    await this.handlers.lost(reason);
    this.#schedule(0);
  }

  async #standBy(): Promise<void> {
    if (this.#stopped || this.#running) return;
    const path = this.paths.destinationRunning(this.destination);
    let stat: Awaited<ReturnType<ZkClient["exists"]>>;
    let data = "";
    try {
      const got = await this.zk.get(path, (event) => {
        if (event === "deleted") {
          void this.#runnerGone().catch((err) => this.#retryAfter(err));
        } else if (event !== "session") {
          // Data changed: read it again (and watch again). Session events leave the watch set.
          void this.#standBy().catch((err) => this.#retryAfter(err));
        }
      });
      stat = got.stat;
      data = got.data.toString("utf8");
    } catch (err) {
      if (err instanceof ZkError && err.code === "NONODE") {
        this.#schedule(0);
        await this.#watchForRunner();
        return;
      }
      throw err;
    }
    if (stat.ephemeralOwner === this.zk.sessionId) {
      // Our own node (a create whose answer was lost): we are the runner.
      this.#schedule(0);
      return;
    }
    // Someone runs it: nothing to compete for until its node goes (the watch above).
    clearTimeout(this.#timer);
    let address = "";
    try {
      address = String((JSON.parse(data) as { address?: unknown }).address ?? "");
    } catch {
      address = data;
    }
    this.#runner = { address, epoch: BigInt(stat.czxid), since: stat.ctime };
    // A node with our address but another session is our previous life's, waiting to expire:
    // take it back at once when it goes.
    this.#wasOwner = address === this.self();
    this.log.info("standing by", { runner: address });
  }

  #retryAfter(err: unknown): void {
    this.log.warn("election attempt failed; retrying", { error: (err as Error).message });
    this.#schedule(Math.max(this.regrabDelayMs, 500));
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    delayMs = Math.max(delayMs, this.#holdOffUntil - Date.now());
    this.#timer = setTimeout(() => {
      this.#compete().catch((err) => this.#retryAfter(err));
    }, delayMs);
  }
}
