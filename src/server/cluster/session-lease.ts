// How long this server may go on serving what its ZooKeeper session holds.
//
// The ensemble expires a session `timeout` after it last heard from the client, and only
// then do the session's running nodes go and another server may take over. A request that
// was answered proves the ensemble heard from us no earlier than when we sent it, so after a
// probe sent at `s` succeeds nobody can own our running nodes before `s + timeout`. We serve
// until `s + timeout * SAFE_FRACTION` and probe often enough that, while ZooKeeper answers,
// the lease never runs out. When it does (connection cut, ensemble without quorum, our own
// process stalled), we stop serving before anyone else could start, and serve again as soon
// as a probe succeeds (the session, and so the running nodes, are still ours).
//
// This does not rely on the C client noticing a dead connection (it does so only after 2/3
// of the timeout) nor on timers firing on time: `valid()` reads the clock when asked.
import type { Logger } from "../../common/log.js";
import type { ZkClient } from "../../common/zk/client.js";

/**
 * Share of the session timeout we serve after the last answered probe was sent. The rest
 * covers a follower that answered our probe but had not yet passed our liveness on to the
 * leader (at most half a tick; a session is at least two ticks) and scheduling slop.
 */
export const SAFE_FRACTION = 2 / 3;
/** Probes per session timeout. */
const PROBES_PER_TIMEOUT = 6;

export interface SessionLeaseEvents {
  /** The lease ran out: stop serving now. */
  lapsed(reason: string): void;
  /** A probe succeeded after a lapse: serving is safe again. */
  renewed(): void;
}

export class SessionLease {
  #validUntil: number;
  #lapsed = false;
  #timer: NodeJS.Timeout | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #probing = false;

  constructor(
    private readonly zk: ZkClient,
    private readonly probePath: string,
    private readonly events: SessionLeaseEvents,
    private readonly log: Logger,
  ) {
    // The session was just established: the ensemble heard from us a moment ago.
    this.#validUntil = Date.now() + this.#safeMs();
  }

  /** Undefined while serving is safe; otherwise why not. */
  check(): string | undefined {
    if (this.#stopped) return "this server left ZooKeeper";
    const late = Date.now() - this.#validUntil;
    if (late > 0) {
      return `this server has not heard from ZooKeeper for too long (its lease ran out ${late} ms ago)`;
    }
    return undefined;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#checkTimer);
  }

  #safeMs(): number {
    return Math.floor(this.zk.sessionTimeoutMs * SAFE_FRACTION);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const every = Math.max(50, Math.floor(this.zk.sessionTimeoutMs / PROBES_PER_TIMEOUT));
    this.#timer = setTimeout(() => void this.#probe(), every);
    // Wake up exactly when the lease would run out, to end streams on time.
    clearTimeout(this.#checkTimer);
    this.#checkTimer = setTimeout(() => this.#checkLapse(), Math.max(0, this.#validUntil - Date.now()) + 1);
  }

  #checkLapse(): void {
    if (this.#stopped || this.#lapsed) return;
    const reason = this.check();
    if (!reason) return;
    this.#lapsed = true;
    this.log.warn("ZooKeeper lease ran out; not serving until ZooKeeper answers again", {
      sessionTimeoutMs: this.zk.sessionTimeoutMs,
    });
    this.events.lapsed(reason);
  }

  async #probe(): Promise<void> {
    if (this.#stopped || this.#probing) return;
    this.#probing = true;
    const sentAt = Date.now();
    try {
      await this.zk.exists(this.probePath);
      if (this.#stopped) return;
      this.#validUntil = Math.max(this.#validUntil, sentAt + this.#safeMs());
      if (this.#lapsed && !this.check()) {
        this.#lapsed = false;
        this.log.info("ZooKeeper answers again; serving", { outageMs: Date.now() - sentAt });
        this.events.renewed();
      }
    } catch (err) {
      // Connection loss or a closed session; the next probe (or the session's end) decides.
      this.log.debug("ZooKeeper probe failed", { error: (err as Error).message });
    } finally {
      this.#probing = false;
      this.#checkLapse();
      this.#schedule();
    }
  }
}
