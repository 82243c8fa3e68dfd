// One holder per (destination, clientId), enforced in ZooKeeper so that it holds across every
// gateway: the holder is canal's ephemeral {root}/destinations/{d}/{clientId}/running node
// ({"active":true,"address":"<client ip:port>","clientId":1001} plus sluice's fields). Its
// czxid is the hold's epoch; the session token handed to the client names it and carries a
// random secret whose digest the node stores (src/contracts/session.ts), so any gateway checks
// a token by reading the node: same czxid and the secret's digest, same hold. Nothing another
// caller can read (an error, the node, a status) gives the secret.
//
// Two kinds of hold (the node's "hold" field):
// - "stream": taken by a Stream, kept while it is open, deleted when it ends;
// - "lease": taken by a unary Subscribe, renewed by the client's calls through any gateway
//   (a conditional write of the node, at most every quarter of the idle time), and deleted by
//   the gateway that created it (the node's ephemeral owner) once it saw no renewal for the
//   idle time. Renewals reach the owner as watch events, so no clocks are compared.
// A gateway that dies takes its nodes with it (ZooKeeper ends its session): its clients then
// get "session lost, subscribe again".

import type { Logger } from "../common/log.js";
import { ZkError, type ZkStat, ZOO_EPHEMERAL } from "../common/zk/client.js";
import type { ZkPaths } from "../common/zk/paths.js";
import {
  makeSession,
  newSessionSecret,
  parseSession,
  sessionDigest,
  sessionMatches,
} from "../contracts/session.js";
import { alreadyExists, failedPrecondition } from "../protocol/index.js";
import { abortError } from "../protocol/server/call-guard.js";
import type { GatewayZk } from "./zk-session.js";

export type HoldKind = "stream" | "lease";

/** ZooKeeper errors of a connection being re-established within the session. */
const RECONNECTING = new Set(["CONNECTIONLOSS", "OPERATIONTIMEOUT"]);

/** What the running node says, as read by any gateway. */
export interface HoldNode {
  epoch: bigint;
  version: number;
  kind: HoldKind;
  /** The consumer's address (canal's "address"). */
  address: string;
  /** The gateway that took the hold. */
  gateway: string;
  /** When the hold was taken, ms since the epoch (the node's ctime). */
  since: number;
  /** The SHA-256 of the hold's session secret ("" on a node that has none: no token is valid). */
  sessionDigest: string;
}

export interface Hold {
  destination: string;
  clientId: string;
  epoch: bigint;
  token: string;
  since: number;
  kind: HoldKind;
}

export interface AcquireOptions {
  kind: HoldKind;
  /** The consumer's ip:port. */
  peer: string;
  /** Stand by while another consumer holds it, until it goes or `signal` fires. */
  wait: boolean;
  signal: AbortSignal;
}

export class ClientHolds {
  /** Validation cache: path → the node as read, dropped by the node's watch. */
  readonly #cache = new Map<string, Promise<HoldNode | undefined>>();
  /** Lease nodes this gateway owns: path → the idle timer. */
  readonly #leases = new Map<string, NodeJS.Timeout>();
  /** When this gateway last renewed a lease: path → ms. */
  readonly #renewedAt = new Map<string, number>();

  constructor(
    private readonly zk: GatewayZk,
    private readonly paths: ZkPaths,
    /** This gateway's address, written into the nodes it creates. */
    private readonly self: () => string,
    /** A lease with no call for this long ends. */
    readonly leaseIdleMs: number,
    private readonly log: Logger,
  ) {
    zk.onLost(() => {
      this.#cache.clear();
      for (const t of this.#leases.values()) clearTimeout(t);
      this.#leases.clear();
    });
  }

  /** Told of each lease renewal this gateway writes (metrics). */
  onRenewed: (() => void) | undefined;

  /** Lease holds this gateway owns (their idle timers run here). */
  get leasesOwned(): number {
    return this.#leases.size;
  }

  path(destination: string, clientId: string): string {
    return this.paths.clientRunning(destination, clientId);
  }

  /**
   * Takes the hold, or fails with already_exists naming the holder; with `wait`, stands by
   * (watching the holder's node) and takes it as soon as the node goes.
   */
  async acquire(destination: string, clientId: string, opts: AcquireOptions): Promise<Hold> {
    const path = this.path(destination, clientId);
    await this.zk.client.ensurePath(this.paths.client(destination, clientId));
    for (;;) {
      if (opts.signal.aborted) throw abortError(opts.signal);
      const client = this.zk.client;
      const since = Date.now();
      const secret = newSessionSecret();
      const body = {
        active: true,
        address: opts.peer,
        clientId: /^\d{1,15}$/.test(clientId) ? Number(clientId) : clientId,
        gateway: this.self(),
        since,
        hold: opts.kind,
        ...(opts.kind === "lease" ? { leaseIdleMs: this.leaseIdleMs } : {}),
        sessionDigest: sessionDigest(secret),
      };
      try {
        await client.create(path, JSON.stringify(body), ZOO_EPHEMERAL);
        const node = await this.read(path);
        if (!node) continue; // gone at once (session trouble)
        if (opts.kind === "lease") this.#watchLease(path, node.epoch);
        this.log.info("hold taken", {
          destination,
          clientId,
          epoch: node.epoch,
          kind: opts.kind,
          peer: opts.peer,
        });
        return {
          destination,
          clientId,
          epoch: node.epoch,
          token: makeSession(node.epoch, secret, clientId),
          since: node.since,
          kind: opts.kind,
        };
      } catch (err) {
        if (err instanceof ZkError && err.code === "NONODE") {
          // The clientId's node went (an Unsubscribe removed it): make it again and retry.
          await client.ensurePath(this.paths.client(destination, clientId));
          continue;
        }
        if (!(err instanceof ZkError && err.code === "NODEEXISTS")) throw err;
      }
      // Someone holds it: say who, or stand by until the node goes.
      let gone!: () => void;
      const goneP = new Promise<void>((r) => {
        gone = r;
      });
      let holder: HoldNode | undefined;
      try {
        // Any change ends the wait (a watch fires once): look again. A renewal of the holder's
        // lease changes the node without ending the hold.
        const got = await client.get(path, () => gone());
        holder = parseNode(got.data, got.stat);
      } catch (err) {
        if (err instanceof ZkError && err.code === "NONODE") continue;
        throw err;
      }
      if (!opts.wait) {
        throw alreadyExists(
          `client ${clientId} of destination ${destination} is held by ${describe(holder)}; ` +
            'a Subscribe or Stream with "wait": true stands by and takes over when it goes',
        );
      }
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        opts.signal.addEventListener("abort", onAbort, { once: true });
        void goneP.then(() => {
          opts.signal.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    }
  }

  /** The node as ZooKeeper has it right now (no cache): for status, which must not lag. */
  async readNow(path: string): Promise<HoldNode | undefined> {
    try {
      const { data, stat } = await this.zk.client.get(path);
      return parseNode(data, stat);
    } catch (err) {
      if (err instanceof ZkError && err.code === "NONODE") return undefined;
      throw err;
    }
  }

  /**
   * The node as it is now (cached until it changes), or undefined when nobody holds it. Only
   * a node that exists is cached: a cached "nobody" could outlive a hold this very gateway
   * just created (its creation watch may be delivered after the create's answer), and calls
   * for clientIds nobody holds are rare.
   */
  read(path: string): Promise<HoldNode | undefined> {
    let cached = this.#cache.get(path);
    if (!cached) {
      const drop = () => {
        if (this.#cache.get(path) === cached) this.#cache.delete(path);
      };
      cached = this.zk.client
        // A "session" event is a connection change, not news about the node: the watch stays
        // set, and the session's end clears the whole cache (onLost).
        .get(path, (event) => {
          if (event !== "session") drop();
        })
        .then(({ data, stat }) => parseNode(data, stat))
        .catch((err) => {
          drop();
          if (err instanceof ZkError && err.code === "NONODE") return undefined;
          throw err;
        });
      this.#cache.set(path, cached);
    }
    return cached;
  }

  /**
   * Checks a session token against the hold: the same node (czxid) must still be there.
   * Renews a lease. Fails with failed_precondition saying what to do.
   */
  async validate(destination: string, clientId: string, token: string): Promise<HoldNode> {
    if (!token) {
      throw failedPrecondition(
        `session: is required through a gateway; Subscribe (or open a Stream) for client ${clientId} first and pass the session it returns`,
      );
    }
    const session = parseSession(token, clientId);
    if (session === undefined) {
      throw failedPrecondition(`session: not a session of client ${clientId}; Subscribe again`);
    }
    const path = this.path(destination, clientId);
    const node = await this.read(path);
    if (!node) {
      throw failedPrecondition(
        `session lost: client ${clientId} of destination ${destination} is no longer held ` +
          "(its lease ran out, its stream ended, or its gateway went away); subscribe again",
      );
    }
    if (node.epoch !== session.epoch) {
      throw failedPrecondition(
        `session lost: client ${clientId} of destination ${destination} is now held by ${describe(node)}; subscribe again`,
      );
    }
    if (!sessionMatches(session.secret, node.sessionDigest)) {
      throw failedPrecondition(
        `session: not the session of the hold of client ${clientId} of destination ${destination}; Subscribe again`,
      );
    }
    if (node.kind === "lease") await this.#renew(path, node);
    return node;
  }

  /** Renews a lease (throttled: at most every quarter of the idle time from this gateway). */
  async #renew(path: string, node: HoldNode): Promise<void> {
    const now = Date.now();
    if (now - (this.#renewedAt.get(path) ?? 0) < this.leaseIdleMs / 4) return;
    this.#renewedAt.set(path, now);
    if (this.#renewedAt.size > 10_000) this.#renewedAt.clear();
    try {
      const { data } = await this.zk.client.get(path);
      await this.zk.client.set(path, data, node.version);
      this.onRenewed?.();
    } catch (err) {
      // Changed meanwhile (another gateway renewed it, or a new holder): the next read sees it.
      if (!(err instanceof ZkError && (err.code === "BADVERSION" || err.code === "NONODE"))) throw err;
    }
  }

  /** Keeps a lease alive while a stream that adopted it is open. Returns a stop function. */
  keepAlive(destination: string, clientId: string, token: string): () => void {
    const timer = setInterval(
      () => {
        this.validate(destination, clientId, token).catch(() => {});
      },
      Math.max(100, this.leaseIdleMs / 3),
    ).unref();
    return () => clearInterval(timer);
  }

  /**
   * Calls `onLost` once when the hold (this epoch) ends or is taken over, or when the gateway's
   * ZooKeeper session (which owns the hold's node) is lost. Returns a stop function.
   *
   * A lost connection is not a lost session: the ZooKeeper client reconnects within the
   * session (a leader election, a member restarting) and the node, the hold and its watch live
   * on. The watch fires a "session" event on each connection change; that is no news about the
   * node, and the watch stays set. Only the session's end (zk.onLost) ends the hold.
   */
  watchLoss(
    destination: string,
    clientId: string,
    epoch: bigint,
    onLost: (reason: string) => void,
  ): () => void {
    const path = this.path(destination, clientId);
    let stopped = false;
    const lost = (reason: string) => {
      if (stopped) return;
      stopped = true;
      stopSession();
      onLost(reason);
    };
    const stopSession = this.zk.onLost(() =>
      lost("the gateway lost its ZooKeeper session, and the hold with it"),
    );
    const check = async () => {
      if (stopped) return;
      const client = this.zk.client;
      try {
        const stat = await client.exists(path, (event) => {
          if (event !== "session") void check();
        });
        if (stopped) return;
        if (!stat || BigInt(stat.czxid) !== epoch) {
          lost(stat ? "another consumer took the hold over" : "the hold ended");
        }
      } catch (err) {
        if (err instanceof ZkError && RECONNECTING.has(err.code) && client.state !== "closed") {
          // Not connected right now: look again in a moment (the session, if it ends, says so).
          setTimeout(() => void check(), 250).unref();
          return;
        }
        lost(`the hold could not be watched: ${(err as Error).message}`);
      }
    };
    void check();
    return () => {
      stopped = true;
      stopSession();
    };
  }

  /** Ends a hold (only this epoch's node, never a newer holder's). */
  async release(hold: Pick<Hold, "destination" | "clientId" | "epoch">): Promise<void> {
    const path = this.path(hold.destination, hold.clientId);
    const timer = this.#leases.get(path);
    if (timer) clearTimeout(timer);
    this.#leases.delete(path);
    try {
      const { stat } = await this.zk.client.get(path);
      if (BigInt(stat.czxid) !== hold.epoch) return;
      await this.zk.client.delete(path, stat.version);
      this.log.info("hold released", {
        destination: hold.destination,
        clientId: hold.clientId,
        epoch: hold.epoch,
      });
    } catch (err) {
      if (!(err instanceof ZkError)) throw err;
    }
  }

  /** After Unsubscribe: removes the clientId's node if nothing is left under it. */
  async removeClientNode(destination: string, clientId: string): Promise<void> {
    await this.zk.client.delete(this.paths.client(destination, clientId)).catch((err) => {
      if (!(err instanceof ZkError && (err.code === "NONODE" || err.code === "NOTEMPTY"))) throw err;
    });
  }

  /**
   * Takes over the node of a hold the caller proves it has (its token) but that another
   * gateway's session owns (a consumer reconnecting through another gateway): the node is
   * made again, owned by this gateway, under a new epoch.
   */
  async rehome(
    destination: string,
    clientId: string,
    token: string,
    opts: AcquireOptions,
  ): Promise<Hold | undefined> {
    const session = parseSession(token, clientId);
    if (session === undefined) return undefined;
    const path = this.path(destination, clientId);
    try {
      const { data, stat } = await this.zk.client.get(path);
      const node = parseNode(data, stat);
      if (node.epoch !== session.epoch || !sessionMatches(session.secret, node.sessionDigest))
        return undefined;
      await this.zk.client.delete(path, stat.version);
    } catch (err) {
      if (err instanceof ZkError && (err.code === "NONODE" || err.code === "BADVERSION")) return undefined;
      throw err;
    }
    return this.acquire(destination, clientId, { ...opts, wait: false });
  }

  /** The owner's idle timer of a lease: reset by every change of the node (a renewal). */
  #watchLease(path: string, epoch: bigint): void {
    const arm = async () => {
      const client = this.zk.client;
      clearTimeout(this.#leases.get(path));
      let stat: ZkStat | undefined;
      try {
        stat = await client.exists(path, (event) => {
          if (event === "changed") void arm();
          else if (event === "deleted") {
            clearTimeout(this.#leases.get(path));
            this.#leases.delete(path);
          }
        });
      } catch {
        return;
      }
      if (!stat || BigInt(stat.czxid) !== epoch) {
        this.#leases.delete(path);
        return;
      }
      const version = stat.version;
      this.#leases.set(
        path,
        setTimeout(() => {
          this.#leases.delete(path);
          client.delete(path, version).then(
            () => this.log.info("lease expired: hold ended", { path, epoch, idleMs: this.leaseIdleMs }),
            () => {
              // Renewed meanwhile (BADVERSION) or gone: the watch re-arms or there is nothing to do.
            },
          );
        }, this.leaseIdleMs).unref(), // a stopping gateway does not wait for its leases
      );
    };
    void arm();
  }
}

function parseNode(data: Buffer, stat: ZkStat): HoldNode {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
  } catch {
    // a node written by something else: known only by its stat
  }
  return {
    epoch: BigInt(stat.czxid),
    version: stat.version,
    kind: body.hold === "lease" ? "lease" : "stream",
    address: typeof body.address === "string" ? body.address : "",
    gateway: typeof body.gateway === "string" ? body.gateway : "",
    since: stat.ctime,
    sessionDigest: typeof body.sessionDigest === "string" ? body.sessionDigest : "",
  };
}

/** Who holds a clientId and since when, for errors: never its epoch or session. */
function describe(node: HoldNode | undefined): string {
  if (!node) return "another consumer";
  const who = node.address || "another consumer";
  const via = node.gateway ? ` through gateway ${node.gateway}` : "";
  return `${who}${via} since ${new Date(node.since).toISOString()}`;
}
