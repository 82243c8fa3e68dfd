// This server's membership of a ZooKeeper cluster: one session at a time, in which it
// registers itself (canal's cluster node), keeps the session lease (session-lease.ts) and
// competes for each destination's running node (election.ts), balancing when asked
// (balancer.ts). When the session expires, everything it held is gone: the destinations it ran
// are stopped and it joins again with a new session, until it leaves. What running a
// destination means is the host's (DestinationHost); nothing here starts a reader.
import type { Logger } from "../../common/log.js";
import { sluiceAclPolicy } from "../../common/zk/acl.js";
import { warnOfAclFindings } from "../../common/zk/acl-warning.js";
import { ZkClient, ZkError, ZOO_EPHEMERAL } from "../../common/zk/client.js";
import type { ZkPaths } from "../../common/zk/paths.js";
import type { ZooKeeperConfig } from "../config/types.js";
import type { CursorStore } from "../meta/cursor-store.js";
import { ZkCursorStore } from "../meta/zk-cursor-store.js";
import { Balancer } from "./balancer.js";
import { DestinationElection } from "./election.js";
import { SessionLease } from "./session-lease.js";

/** Who runs a destination, as last seen: an address, "" when unknown, undefined when nobody. */
export type RunnerOf = () => string | undefined;

/** The destinations this server may run, as the membership drives them. */
export interface DestinationHost {
  /**
   * This server is about to run `name`: calls are told it is starting, and no reader of it is
   * left from before. Called before the new epoch applies to its cursor writes.
   */
  claim(name: string): Promise<void>;
  /**
   * This server won `name`'s running node: start it, its cursors in `store`. Throwing gives
   * the node up (this server stands by again; `runner` says who runs it then).
   */
  run(name: string, store: CursorStore, runner: RunnerOf): Promise<void>;
  /** This server lost `name` (taken over, handed over): stop it; `runner` says who runs it now. */
  stop(name: string, runner: RunnerOf): Promise<void>;
  /** Another server runs `name` (as this server joins): stand by. */
  standBy(name: string, runner: RunnerOf): void;
  /** The lease lapsed (serving could outlive the session): stop serving, keep the state. */
  suspendAll(reason: string): void;
  /** The lease is held again: serve again. */
  resumeAll(): void;
  /** The session expired: stop every destination it ran (another server may run them now). */
  stopAll(reason: string): Promise<void>;
}

export interface MembershipOptions {
  zk: ZooKeeperConfig;
  paths: ZkPaths;
  /** The destinations this server competes for. */
  destinations: readonly string[];
  /** This server's address as others reach it (known once its port is). */
  advertised: () => string;
  /** The source of a destination, for the cursors' canal JSON. */
  sourceOf: (destination: string) => { host: string; port: number };
  host: DestinationHost;
  logger: Logger;
}

export class ClusterMembership {
  readonly #o: MembershipOptions;
  readonly #log: Logger;
  readonly #elections = new Map<string, DestinationElection>();
  #zk: ZkClient | undefined;
  #lease: SessionLease | undefined;
  #balancer: Balancer | undefined;
  #leaving = false;
  #audited = false;

  constructor(opts: MembershipOptions) {
    this.#o = opts;
    this.#log = opts.logger;
  }

  /** The current session's client (undefined before the first join). */
  get zk(): ZkClient | undefined {
    return this.#zk;
  }

  /** The election of `destination` in the current session. */
  election(destination: string): DestinationElection | undefined {
    return this.#elections.get(destination);
  }

  /** Undefined while this server may serve; else why not (no lease yet, or it lapsed). */
  mayServe(): string | undefined {
    return this.#lease ? this.#lease.check() : "this server is not in ZooKeeper";
  }

  /** Joins with a new session: registers, competes for every destination, balances if asked. */
  async join(): Promise<void> {
    const { zk: zkc, paths } = this.#o;
    const credentials = zkc.credentials;
    const acl = credentials ? sluiceAclPolicy(paths, credentials) : undefined;
    const client = await ZkClient.connect(zkc.connect, {
      sessionTimeoutMs: zkc.sessionTimeoutMs,
      ...(credentials && acl ? { credentials, acl } : {}),
    });
    this.#zk = client;
    const lease = this.#startLease(client);
    await client.ensurePath(paths.cluster());
    await client.create(paths.server(this.#o.advertised()), "", ZOO_EPHEMERAL).catch(ignoreExists);
    lease.start();
    if (credentials && acl && !this.#audited) {
      this.#audited = true;
      void warnOfAclFindings(client, paths.root, acl, credentials, this.#log.child("zk-acl"));
    }
    const epochs = new Map<string, bigint>();
    const store = new ZkCursorStore(client, paths, this.#o.sourceOf, (name) => epochs.get(name) ?? 0n);
    for (const name of this.#o.destinations) await this.#compete(client, name, store, epochs);
    this.#startBalancer(client);
  }

  /** Hands every destination over (each stops serving, then its running node goes). */
  async leave(): Promise<void> {
    this.#leaving = true;
    this.#balancer?.stop();
    for (const e of this.#elections.values()) await e.release();
  }

  /** Ends the session (after leave() and once the destinations have stopped). */
  close(): void {
    this.#leaving = true;
    this.#lease?.stop();
    this.#zk?.close();
  }

  /**
   * Cut off from ZooKeeper, the session may expire on the ensemble's side (and another server
   * take over) before the client even notices; the lease stops serving in time.
   */
  #startLease(client: ZkClient): SessionLease {
    this.#lease?.stop();
    const host = this.#o.host;
    const lease = new SessionLease(
      client,
      this.#o.paths.server(this.#o.advertised()),
      { lapsed: (reason) => host.suspendAll(reason), renewed: () => host.resumeAll() },
      this.#log.child("zk-lease"),
    );
    this.#lease = lease;
    client.onState((state, reason) => {
      if (state === "connecting") {
        this.#log.warn("ZooKeeper connection lost; reconnecting within the session");
      } else if (state === "connected") {
        this.#log.info("ZooKeeper connected");
      } else if (state === "closed" && !this.#leaving) {
        lease.stop();
        void this.#rejoin(reason ?? "closed");
      }
    });
    return lease;
  }

  async #compete(
    client: ZkClient,
    name: string,
    store: CursorStore,
    epochs: Map<string, bigint>,
  ): Promise<void> {
    const host = this.#o.host;
    const runner = () => election.runner?.address;
    const election: DestinationElection = new DestinationElection(
      client,
      this.#o.paths,
      name,
      this.#o.advertised,
      this.#o.zk.regrabDelayMs,
      {
        async elected(epoch) {
          await host.claim(name);
          epochs.set(name, epoch);
          await host.run(name, store, runner);
        },
        lost: () => host.stop(name, runner),
      },
      this.#log.child(name),
    );
    this.#elections.set(name, election);
    await election.start();
    if (!election.running) host.standBy(name, runner);
  }

  #startBalancer(client: ZkClient): void {
    this.#balancer?.stop();
    this.#balancer = undefined;
    if (!this.#o.zk.balance) return;
    this.#balancer = new Balancer(
      client,
      this.#o.paths,
      this.#o.advertised,
      this.#elections,
      // Let elections settle (a restarting server takes its own back first).
      { settleMs: Math.max(2000, this.#o.zk.regrabDelayMs * 4), intervalMs: 10_000 },
      this.#log.child("balancer"),
    );
    this.#balancer.start();
  }

  async #rejoin(reason: string): Promise<void> {
    // The running nodes went with the session; another server may run them by now.
    this.#log.warn("ZooKeeper session lost; stopping what this server ran and joining again", { reason });
    this.#balancer?.stop();
    await this.#o.host.stopAll(`ZooKeeper session lost (${reason})`);
    this.#elections.clear();
    for (let attempt = 0; !this.#leaving; attempt++) {
      try {
        await this.join();
        this.#log.info("joined ZooKeeper again");
        return;
      } catch (err) {
        this.#zk?.close();
        const delay = Math.min(10_000, 250 * 2 ** attempt);
        this.#log.warn("joining ZooKeeper failed; retrying", { error: (err as Error).message, inMs: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

function ignoreExists(err: unknown): void {
  if (!(err instanceof ZkError && err.code === "NODEEXISTS")) throw err;
}
