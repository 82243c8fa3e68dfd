// A canal-shaped connector for porting code written against canal's CanalConnector:
// connect, subscribe, getWithoutAck, get, ack, rollback, disconnect. Each call is one RPC (or
// two for get); the connector keeps the session and, when the subscription is lost
// (unavailable, failover, stale session), subscribes again with back-off on the next get.
import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import { checkNames } from "../../contracts/names.js";
import type { CanalService } from "../../gen/sluice/v1/canal_service_pb.js";
import type { Entry } from "../../gen/sluice/v1/entry_pb.js";
import type { FlatMessage } from "../../gen/sluice/v1/flat_message_pb.js";
import type { Position } from "../../gen/sluice/v1/position_pb.js";
import { type BatchCalls, decodedBatchCalls } from "./batch-calls.js";
import type { BatchEntries } from "./batch-entries.js";
import { StaleBatchError } from "./errors.js";
import { Backoff, isRetryable, type RetryOptions, sleep } from "./retry.js";
import type { FlatRow } from "./rows.js";

export interface ConnectorOptions {
  destination: string;
  clientId: string;
  /** Filter subscribe() uses when called without one (and connect() subscribes with). */
  filter?: string;
  /** Wait as a hot standby while another consumer holds clientId. */
  wait?: boolean;
  /** Back-off while subscribing again after the subscription was lost. */
  retry?: RetryOptions;
}

/** What getWithoutAck returns: canal's Message. `id` is "" when no entry arrived (canal: -1). */
export interface Message {
  id: string;
  entries: Entry[];
  flatMessages: FlatMessage[];
  /** The row changes and statements as plain objects. */
  rows(): FlatRow[];
}

export interface GetOptions {
  /** How long to wait for the first entry, ms. Default 1000 (0: return at once). */
  timeoutMs?: number;
  /** Also fill flatMessages. */
  flat?: boolean;
}

export class CanalConnector {
  readonly #canal: Client<typeof CanalService>;
  readonly #calls: BatchCalls;
  readonly #opts: ConnectorOptions;
  #filter: string;
  #session?: string;
  /** The token of the last subscription, kept after it is lost (see subscribe()). */
  #lastSession?: string;
  #connected = false;
  /** Batches handed out by the current subscription and not yet acked or rolled back. */
  #outstanding = new Set<string>();
  /** Batches of earlier subscriptions: their entries are delivered again. */
  #stale = new Set<string>();
  #cursor?: Position;
  /** Fencing epoch of the subscription; a Get answered under another one means a new runner. */
  #epoch?: bigint;

  /**
   * invalid_argument (a ConnectError) at once when destination or clientId is not a valid name.
   * `calls` gets the batches (SluiceClient passes calls that keep each entry's bytes over a
   * binary transport); without it Get goes through `canal` and its decoded entries.
   */
  constructor(canal: Client<typeof CanalService>, opts: ConnectorOptions, calls?: BatchCalls) {
    checkNames(opts.destination, opts.clientId);
    this.#canal = canal;
    this.#calls = calls ?? decodedBatchCalls(canal);
    this.#opts = opts;
    this.#filter = opts.filter ?? "";
  }

  /** The durable cursor the current subscription resumed after. */
  get cursor(): Position | undefined {
    return this.#cursor;
  }

  /** canal: connect(). Subscribes at once when the options name a filter. */
  async connect(): Promise<void> {
    this.#connected = true;
    if (this.#opts.filter !== undefined) await this.subscribe(this.#opts.filter);
  }

  /** canal: subscribe(filter). Takes the hold on clientId and stores the filter. */
  async subscribe(filter?: string): Promise<void> {
    this.#requireConnected();
    if (filter !== undefined) this.#filter = filter;
    const res = await this.#canal.subscribe({
      destination: this.#opts.destination,
      clientId: this.#opts.clientId,
      filter: this.#filter,
      wait: this.#opts.wait ?? false,
      // The last hold's token: through a gateway its lease may outlive the subscription (a
      // server failover); subscribing with it keeps the hold instead of meeting already_exists.
      // A token no longer valid is ignored.
      session: this.#session ?? this.#lastSession ?? "",
    });
    this.#forgetOutstanding();
    this.#epoch = res.epoch;
    this.#session = res.session;
    this.#lastSession = res.session;
    this.#filter = res.filter;
    this.#cursor = res.cursor;
  }

  /** canal: unsubscribe(). Removes clientId's cursor and filter and releases the hold. */
  async unsubscribe(): Promise<void> {
    this.#requireConnected();
    await this.#canal.unsubscribe({
      destination: this.#opts.destination,
      clientId: this.#opts.clientId,
      session: this.#session ?? "",
    });
    this.#forgetOutstanding();
    this.#session = undefined;
    this.#lastSession = undefined;
  }

  /** canal: getWithoutAck(batchSize, timeout). The batch stays outstanding until ack/rollback. */
  async getWithoutAck(batchSize: number, opts: GetOptions = {}): Promise<Message> {
    this.#requireConnected();
    const backoff = new Backoff(this.#opts.retry);
    for (;;) {
      try {
        if (this.#session === undefined) await this.subscribe();
        const res = await this.#calls.get(
          {
            destination: this.#opts.destination,
            clientId: this.#opts.clientId,
            batchSize,
            timeoutMs: BigInt(opts.timeoutMs ?? 1000),
            flat: opts.flat ?? false,
            session: this.#session ?? "",
          },
          { timeoutMs: (opts.timeoutMs ?? 1000) + 30_000 },
        );
        if (this.#epoch !== undefined && res.epoch !== this.#epoch) {
          // Another runner (a restart or failover) answered: batches handed out before are
          // delivered again by it and can no longer be acked.
          this.#forgetOutstanding();
          this.#epoch = res.epoch;
        }
        if (res.batchId) this.#outstanding.add(res.batchId);
        return message(res.batchId, res.entries, res.flatMessages);
      } catch (caught) {
        const err = ConnectError.from(caught);
        if (!isRetryable(err)) throw err;
        // The subscription is gone (failover, session lost): subscribe again, resume after the
        // durable cursor; batches handed out before are delivered again.
        this.#loseSubscription();
        const delay = backoff.next(err);
        if (delay === undefined) throw err;
        await sleep(delay);
      }
    }
  }

  /** canal: get(batchSize): getWithoutAck, then ack at once (at-most-once if the caller fails). */
  async get(batchSize: number, opts: GetOptions = {}): Promise<Message> {
    const message = await this.getWithoutAck(batchSize, opts);
    if (message.id) await this.ack(message.id);
    return message;
  }

  /**
   * canal: ack(batchId). Oldest outstanding batch first. Throws StaleBatchError for a batch of
   * an earlier subscription (its entries come again, do not treat them as done); an
   * `unavailable` error means the ack may not have taken effect: the next get subscribes again.
   */
  async ack(batchId: string): Promise<void> {
    this.#requireConnected();
    this.#checkNotStale(batchId);
    try {
      await this.#canal.ack(
        {
          destination: this.#opts.destination,
          clientId: this.#opts.clientId,
          batchId,
          session: this.#session ?? "",
        },
        { timeoutMs: 30_000 },
      );
      this.#outstanding.delete(batchId);
    } catch (caught) {
      const err = ConnectError.from(caught);
      if (isRetryable(err) && this.#outstanding.has(batchId)) this.#loseSubscription();
      throw err;
    }
  }

  /** canal: rollback() / rollback(batchId). Outstanding batches are delivered again. */
  async rollback(batchId?: string): Promise<string[]> {
    this.#requireConnected();
    if (batchId) this.#checkNotStale(batchId);
    if (this.#session === undefined) return [];
    const res = await this.#canal.rollback({
      destination: this.#opts.destination,
      clientId: this.#opts.clientId,
      batchId: batchId ?? "",
      session: this.#session,
    });
    for (const id of res.rolledBackBatchIds) this.#outstanding.delete(id);
    return res.rolledBackBatchIds;
  }

  /**
   * canal: disconnect(). Releases the hold at once (the next consumer of the clientId need not
   * wait for the lease to run out), gives outstanding batches back (they are delivered again)
   * and forgets the session; the cursor and filter stay (unsubscribe() removes them).
   */
  async disconnect(): Promise<void> {
    if (this.#session !== undefined) {
      // A session already lost (lease ran out, another holder) has nothing left to release.
      await this.#canal
        .unsubscribe({
          destination: this.#opts.destination,
          clientId: this.#opts.clientId,
          session: this.#session,
          keepCursor: true,
        })
        .catch(() => {});
    }
    this.#session = undefined;
    this.#outstanding.clear();
    this.#connected = false;
  }

  #checkNotStale(batchId: string): void {
    if (this.#stale.has(batchId)) {
      throw new StaleBatchError(batchId, "it was handed out by an earlier subscription");
    }
  }

  #loseSubscription(): void {
    this.#forgetOutstanding();
    this.#session = undefined;
  }

  #forgetOutstanding(): void {
    for (const id of this.#outstanding) this.#stale.add(id);
    this.#outstanding.clear();
  }

  #requireConnected(): void {
    if (!this.#connected) throw new Error("call connect() first");
  }
}

/** A Message whose entries are decoded (when they came as bytes) when first read. */
function message(id: string, entries: BatchEntries, flatMessages: FlatMessage[]): Message {
  return {
    id,
    get entries() {
      return entries.entries;
    },
    flatMessages,
    rows: () => entries.rows(),
  };
}
