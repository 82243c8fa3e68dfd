// Catch-up readers: a client whose cursor lies before what the destination's shared ring
// holds (it fell behind the store's window, or its cursor was moved back) reads on a binlog
// reader of its own, from its cursor, until it reaches the shared window and rejoins it.
//
// Bounded: at most `limit` catch-up readers read at once (each is a binlog connection and a
// ring of up to 4096 entries). A reader starts only when its client asks for entries, so idle
// clients that fell behind cost nothing; a client that asks while every slot is taken waits
// (its Get returns empty at its timeout) until one frees: a reader rejoins, its client goes,
// or its client has not asked for `idleMs` and gives its slot up (it is moved back to a
// waiting reader from its cursor, outstanding batches given back).

import type { Logger } from "../../common/log.js";
import type { CancelSignal } from "../../protocol/call-cancel.js";
import { type Boundary, comparePoints } from "../entry/positions.js";
import type { ClientSession } from "../store/client-session.js";
import type { Pipeline } from "./pipeline.js";

export interface CatchUpHost {
  /** The destination's shared pipeline. */
  shared(): Pipeline;
  sessions(): Iterable<ClientSession>;
  /** A pipeline (not started) reading from `from`, with a catch-up reader's ring limits. */
  makePipeline(from: Boundary): Pipeline;
  /** What a running reader's ring reserves of the destination's store budget. */
  reserveBytes: number;
  log: Logger;
}

interface Reader {
  pipeline: Pipeline;
  /** Set once the reader has a slot: resolves when it reads. */
  ready: Promise<void> | undefined;
  /** Why it could not start (e.g. the source purged the binlog of the cursor). */
  failed: Error | undefined;
  lastAsked: number;
}

export class CatchUpReaders {
  readonly #readers = new Map<string, Reader>();
  readonly #slotWaiters = new Set<() => void>();

  constructor(
    readonly limit: number,
    readonly idleMs: number,
    private readonly host: CatchUpHost,
  ) {}

  has(clientId: string): boolean {
    return this.#readers.has(clientId);
  }

  /** Catch-up readers holding a slot (reading or starting). */
  get running(): number {
    let n = 0;
    for (const r of this.#readers.values()) if (r.ready) n++;
    return n;
  }

  /** Waiting for a slot. */
  get waiting(): number {
    return this.#readers.size - this.running;
  }

  /**
   * Moves `session` (which must have no outstanding batch) onto a reader of its own from
   * `from`; it reads nothing until it asks (prepare) and gets a slot.
   */
  detach(session: ClientSession, from: Boundary): void {
    this.stop(session.clientId);
    const pipeline = this.host.makePipeline(from);
    this.#readers.set(session.clientId, {
      pipeline,
      ready: undefined,
      failed: undefined,
      lastAsked: Date.now(),
    });
    session.moveTo(pipeline.ring, pipeline.ring.first);
  }

  /**
   * Before a client reads: starts its reader if it has none reading yet and a slot frees
   * within `timeoutMs`, waits until it reads, and hands the client back to the shared ring
   * once it caught up. False: no slot yet (the client reads nothing this time).
   */
  async prepare(session: ClientSession, timeoutMs: number, signal?: CancelSignal): Promise<boolean> {
    const r = this.#readers.get(session.clientId);
    if (!r) return true;
    r.lastAsked = Date.now();
    if (r.failed) throw r.failed;
    const deadline = Date.now() + timeoutMs;
    while (!r.ready && !this.#start(r)) {
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return false;
      await this.#slotFreed(Math.min(left, 1000));
      if (this.#readers.get(session.clientId) !== r) return true; // moved meanwhile
    }
    await r.ready;
    this.maybeRejoin(session);
    return true;
  }

  /** Stops clientId's reader, if any, and frees its slot. */
  stop(clientId: string): void {
    const r = this.#readers.get(clientId);
    if (!r) return;
    this.#readers.delete(clientId);
    void r.pipeline.stop();
    r.pipeline.ring.leaveBudget();
    if (r.ready) this.#wakeSlotWaiters();
  }

  async stopAll(): Promise<void> {
    const all = [...this.#readers.values()];
    this.#readers.clear();
    for (const r of all) {
      await r.pipeline.stop();
      r.pipeline.ring.leaveBudget();
    }
  }

  /** Trims each reader's ring to what its client still needs. */
  trim(session: (clientId: string) => ClientSession | undefined): void {
    for (const [clientId, r] of this.#readers) {
      const s = session(clientId);
      if (s) r.pipeline.ring.trimTo(s.neededSeq);
    }
  }

  /** Resumes the readers that paused for room and have some again. */
  spaceFreed(): void {
    for (const r of this.#readers.values()) r.pipeline.spaceFreed();
  }

  /**
   * The shared ring is full and a client that wants more waits at its head while others lag
   * far behind, or a catch-up reader's client waits for entries its reader has no room for
   * (the shared ring holds the destination's budget): those lagging clients are detached onto
   * readers of their own, so that they neither block the others nor make the ring grow. Their
   * outstanding batches are given back (delivered again from their cursor); a late ack of one
   * gets a clear error.
   */
  detachLaggards(): void {
    const pipeline = this.host.shared();
    const ring = pipeline.ring;
    const attached = [...this.host.sessions()].filter(
      (s) => s.ring === ring && !this.#readers.has(s.clientId),
    );
    const someoneWaits =
      (pipeline.waitingForSpace &&
        attached.some((s) => s.readSeq >= ring.next && s.outstanding.length === 0)) ||
      (ring.count > 0 && this.#starved());
    if (!someoneWaits) return;
    const halfway = ring.first + Math.floor(ring.count / 2);
    for (const s of attached) {
      if (s.neededSeq >= halfway || !s.cursor) continue;
      const given = s.giveBack(
        `it was given back: client ${s.clientId} fell more than half the store's window ` +
          `(${ring.limits.maxEntries} entries) behind and now reads from its cursor; Get again`,
      );
      const from = s.cursor.resume;
      this.detach(s, from);
      this.host.log.warn(
        "client fell behind the store's window; it reads from its cursor on its own when it asks",
        {
          clientId: s.clientId,
          from: `${from.file}:${from.position}`,
          givenBack: given.length ? given.join(",") : undefined,
        },
      );
    }
  }

  /**
   * A running reader whose client has read everything it holds and waits, while the budget
   * (not its own limits) keeps it from reading more.
   */
  #starved(): boolean {
    for (const s of this.host.sessions()) {
      const r = this.#readers.get(s.clientId);
      if (!r?.ready || s.ring !== r.pipeline.ring) continue;
      const ring = r.pipeline.ring;
      if (ring.full && !ring.atLimit && s.readSeq >= ring.next && s.outstanding.length === 0) return true;
    }
    return false;
  }

  /** A reader that reached the shared ring's window hands its client back to it. */
  maybeRejoin(session: ClientSession): void {
    const r = this.#readers.get(session.clientId);
    if (!r?.ready || session.outstanding.length > 0) return;
    const shared = this.host.shared();
    const read = session.lastSettled;
    const theirs = shared.lastPosition;
    if (read && theirs && read.file === theirs.file && read.offset === theirs.offset) {
      // Both readers stand at the same event: continue at the shared head.
      this.#rejoin(session, shared.ring.next);
      return;
    }
    const next = session.ring.get(session.readSeq)?.position;
    if (!next) return;
    const point = { file: next.file, position: next.offset };
    const seq = shared.ring.firstAtOrAfter(point);
    const found = shared.ring.get(seq)?.position;
    if (!found || found.file !== next.file || found.offset !== next.offset) return;
    if (comparePoints(shared.coverageStart, point) > 0) return;
    this.#rejoin(session, seq);
  }

  #rejoin(session: ClientSession, seq: number): void {
    this.stop(session.clientId);
    session.moveTo(this.host.shared().ring, seq);
    this.host.log.info("client rejoined the shared window", { clientId: session.clientId });
  }

  /** Starts `r` if a slot is free, or can be freed from an idle reader. */
  #start(r: Reader): boolean {
    if (this.running >= this.limit && !this.#reclaimIdle()) return false;
    // Its ring's room is kept out of the shared ring's share of the budget while it reads.
    r.pipeline.ring.reserve(this.host.reserveBytes);
    r.ready = r.pipeline.start();
    r.ready.catch((err: Error) => {
      r.failed = err;
      this.host.log.error("catch-up reader could not start", { error: err.message });
    });
    return true;
  }

  /** Gives the slot of the longest-idle reader (idle for idleMs, no batch out) to a waiting client. */
  #reclaimIdle(): boolean {
    const now = Date.now();
    let victim: [string, Reader] | undefined;
    for (const entry of this.#readers) {
      const r = entry[1];
      if (!r.ready || now - r.lastAsked < this.idleMs) continue;
      if (!victim || r.lastAsked < victim[1].lastAsked) victim = entry;
    }
    if (!victim) return false;
    const [clientId] = victim;
    const session = [...this.host.sessions()].find((s) => s.clientId === clientId);
    if (!session?.cursor) {
      this.stop(clientId);
      return true;
    }
    session.giveBack(
      `client ${clientId} did not ask for ${this.idleMs} ms and gave its catch-up reader up; Get again`,
    );
    this.detach(session, session.cursor.resume);
    this.host.log.info("an idle client's catch-up reader went to a client that asks", { clientId });
    return true;
  }

  #slotFreed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#slotWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#slotWaiters.add(done);
    });
  }

  #wakeSlotWaiters(): void {
    for (const w of [...this.#slotWaiters]) w();
  }
}
