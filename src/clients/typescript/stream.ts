// client.stream(): batches of a destination as an async iterable, with the window of unacked
// batches the server keeps, and automatic resubscribe when the subscription ends under the
// consumer (failover, session lost, server restart). What it guarantees:
//  - a batch is acked at most once (ack() returns the same promise when called again);
//  - a batch of an ended subscription is never acked: the server delivers its entries again
//    on the next subscription, and ack() of the old batch resolves to false;
//  - acks go out oldest first (canal's rule), one after the other;
//  - a `break` or `return` out of the loop ends the stream; unacked batches are given back.
import type { Client } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { checkNames } from "../../contracts/names.js";
import type { Batch, CanalService } from "../../gen/sluice/v1/canal_service_pb.js";
import type { Entry } from "../../gen/sluice/v1/entry_pb.js";
import type { FlatMessage } from "../../gen/sluice/v1/flat_message_pb.js";
import type { Position } from "../../gen/sluice/v1/position_pb.js";
import { AckOrderError } from "./errors.js";
import { Backoff, isRetryable, type RetryOptions, sleep } from "./retry.js";
import { type FlatRow, flatRows } from "./rows.js";

export interface StreamOptions {
  /** Destination name, e.g. "example". */
  destination: string;
  /** Consumer group, e.g. "1001". */
  clientId: string;
  /** canal's table filter, e.g. "shop\\..*". Empty: the stored or default filter. */
  filter?: string;
  /** Entries per batch, 1..10000. Default 1000. */
  batchSize?: number;
  /** Unacked batches the server sends ahead, 1..1000. Default 4. */
  window?: number;
  /** Also fill Batch.flatMessages (canal's FlatMessage form). */
  flat?: boolean;
  /** Wait as a hot standby while another consumer holds clientId (else: already_exists). */
  wait?: boolean;
  /** Back-off between resubscribe attempts. */
  retry?: RetryOptions;
  /**
   * Ends the stream: the loop ends normally. A batch the loop body holds when it fires can
   * still be acked; the stream closes when the body asks for the next batch.
   */
  signal?: AbortSignal;
  /** Called on every new subscription (the first and each resubscribe). */
  onSubscribed?: (info: SubscriptionInfo) => void;
  /** Called before waiting to subscribe again, with why and how long. */
  onRetry?: (info: { error: ConnectError; attempt: number; delayMs: number }) => void;
}

export interface SubscriptionInfo {
  /** 1 for the first subscription of this stream, then 2, 3, ... */
  subscription: number;
  session: string;
  epoch: bigint;
  /** The durable cursor the subscription resumes after; unset for a new clientId. */
  cursor?: Position;
}

/** An ack that takes longer is given up (its fate unknown: the client subscribes again). */
const ACK_TIMEOUT_MS = 30_000;

type BatchState = "unacked" | "acking" | "acked" | "stale";

/** One batch of a stream. Ack it (in order) once its entries are processed. */
export class StreamBatch {
  readonly batchId: string;
  readonly entries: Entry[];
  readonly flatMessages: FlatMessage[];
  /** Which subscription of the stream delivered it (SubscriptionInfo.subscription). */
  readonly subscription: number;
  #state: BatchState = "unacked";
  #ack?: Promise<boolean>;
  readonly #stream: BatchStream;

  constructor(stream: BatchStream, subscription: number, batch: Batch) {
    this.#stream = stream;
    this.subscription = subscription;
    this.batchId = batch.batchId;
    this.entries = batch.entries;
    this.flatMessages = batch.flatMessages;
  }

  get state(): BatchState {
    return this.#state;
  }

  /** The row changes and statements as plain objects. */
  rows(): FlatRow[] {
    return flatRows(this.entries);
  }

  /**
   * Acknowledges the batch once every earlier batch is acked; resolves true when the cursor is
   * durable, false when the batch's subscription ended first (its entries come again). Calling
   * it again returns the same promise. Throws AckOrderError when an earlier batch of the
   * subscription has not been acked yet, and the server's error when it refuses for good.
   */
  ack(): Promise<boolean> {
    if (this.#ack) return this.#ack;
    const outOfOrder = this.#stream.orderError(this);
    if (outOfOrder) return Promise.reject(outOfOrder);
    this.#ack = this.#stream.ackBatch(this);
    return this.#ack;
  }

  /** @internal */
  setState(state: BatchState): void {
    this.#state = state;
  }
  /** @internal */
  get ackCalled(): boolean {
    return this.#ack !== undefined;
  }
}

/** The async iterable client.stream() returns. Iterate it once. */
export class BatchStream implements AsyncIterable<StreamBatch> {
  readonly #canal: Client<typeof CanalService>;
  readonly #opts: StreamOptions;
  #subscription = 0;
  #session = "";
  /** Batches of the current subscription, not yet acked, in delivery order. */
  #outstanding: StreamBatch[] = [];
  /** The last ack in flight: acks go out one after the other. */
  #ackChain: Promise<unknown> = Promise.resolve();
  #current?: AbortController;
  /**
   * Aborts the acks in flight of the current subscription when it fails: their fate is
   * unknown either way, and the next subscription, which resumes after the durable cursor,
   * must not wait for them (a frozen runner answers only when it thaws).
   */
  #acks?: AbortController;
  /** Why the client itself ended the current subscription (an ack found it gone). */
  #endedBy?: ConnectError;
  #iterated = false;

  /** invalid_argument (a ConnectError) at once when destination or clientId is not a valid name. */
  constructor(canal: Client<typeof CanalService>, opts: StreamOptions) {
    checkNames(opts.destination, opts.clientId);
    this.#canal = canal;
    this.#opts = opts;
  }

  /** The session token of the current subscription ("" before the first). */
  get session(): string {
    return this.#session;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<StreamBatch, void, undefined> {
    if (this.#iterated) throw new Error("a sluice stream can be iterated once; call client.stream() again");
    this.#iterated = true;
    const { signal } = this.#opts;
    const backoff = new Backoff(this.#opts.retry);
    try {
      while (!signal?.aborted) {
        const ctl = new AbortController();
        // The caller's signal cuts a wait for the server at once; while the caller holds a batch
        // it only ends the loop at the next pull, so that batch can still be acked.
        let holding = false;
        const onAbort = () => {
          if (!holding) ctl.abort(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#current = ctl;
        this.#acks = new AbortController();
        this.#endedBy = undefined;
        const subscription = ++this.#subscription;
        try {
          const responses = this.#canal.stream(
            {
              destination: this.#opts.destination,
              clientId: this.#opts.clientId,
              filter: this.#opts.filter ?? "",
              batchSize: this.#opts.batchSize ?? 1000,
              window: this.#opts.window ?? 4,
              flat: this.#opts.flat ?? false,
              wait: this.#opts.wait ?? false,
              // Reopening with the last session keeps the hold through a gateway: a gateway
              // restarted (or another one behind a balancer) takes it over at once instead of
              // answering already_exists until the old hold's ZooKeeper session expires.
              session: this.#session,
            },
            { signal: ctl.signal },
          );
          for await (const res of responses) {
            if (this.#endedBy) throw this.#endedBy;
            const m = res.message;
            if (m.case === "subscribed") {
              this.#session = m.value.session;
              this.#opts.onSubscribed?.({
                subscription,
                session: m.value.session,
                epoch: m.value.epoch,
                cursor: m.value.cursor,
              });
            } else if (m.case === "batch") {
              backoff.reset();
              const batch = new StreamBatch(this, subscription, m.value);
              this.#outstanding.push(batch);
              holding = true;
              yield batch;
              holding = false;
              if (signal?.aborted) return;
              if (this.#endedBy) throw this.#endedBy;
            }
          }
          throw new ConnectError("the server ended the stream", Code.Unavailable);
        } catch (caught) {
          if (signal?.aborted) return;
          const err = this.#endedBy ?? ConnectError.from(caught);
          // Acks still in flight are given up, not waited for (#acks says why).
          this.#acks?.abort(err);
          this.#endSubscription();
          await this.#ackChain.catch(() => {});
          if (!isRetryable(err) && !(err.code === Code.AlreadyExists && this.#opts.wait)) throw err;
          const delayMs = backoff.next(err);
          if (delayMs === undefined) throw err;
          this.#opts.onRetry?.({ error: err, attempt: backoff.attempt, delayMs });
          await sleep(delayMs, signal).catch(() => {});
        } finally {
          signal?.removeEventListener("abort", onAbort);
        }
      }
    } finally {
      // Let acks the caller started finish before the stream ends: the server gives back
      // whatever is unacked when the stream closes.
      await this.#ackChain.catch(() => {});
      this.#endSubscription();
    }
  }

  /** @internal An AckOrderError when an earlier batch of the subscription is not acked yet. */
  orderError(batch: StreamBatch): AckOrderError | undefined {
    if (this.#isStale(batch)) return undefined;
    const index = this.#outstanding.indexOf(batch);
    const earlier = this.#outstanding.slice(0, Math.max(0, index)).find((b) => !b.ackCalled);
    return earlier ? new AckOrderError(batch.batchId, earlier.batchId) : undefined;
  }

  /** @internal StreamBatch.ack(), once the order is checked. */
  ackBatch(batch: StreamBatch): Promise<boolean> {
    if (this.#isStale(batch)) {
      batch.setState("stale");
      return Promise.resolve(false);
    }
    batch.setState("acking");
    const run = async (): Promise<boolean> => {
      const acks = this.#acks;
      if (this.#isStale(batch) || !acks || acks.signal.aborted) {
        batch.setState("stale");
        return false;
      }
      try {
        await this.#canal.ack(
          {
            destination: this.#opts.destination,
            clientId: this.#opts.clientId,
            batchId: batch.batchId,
            session: this.#session,
          },
          { timeoutMs: ACK_TIMEOUT_MS, signal: acks.signal },
        );
      } catch (caught) {
        const err = ConnectError.from(caught);
        if (acks.signal.aborted) {
          // Its subscription failed meanwhile: its fate is unknown, the next subscription settles it.
          batch.setState("stale");
          return false;
        }
        if (!isRetryable(err)) {
          batch.setState("unacked");
          throw err;
        }
        // The subscription is gone or the ack's fate is unknown: subscribe again and resume
        // after the durable cursor, so whatever this ack did not make durable comes again.
        if (batch.subscription === this.#subscription) {
          this.#endedBy = err;
          this.#current?.abort(err);
        }
        batch.setState("stale");
        return false;
      }
      batch.setState("acked");
      this.#outstanding = this.#outstanding.filter((b) => b !== batch);
      return true;
    };
    const result = this.#ackChain.then(run, run);
    this.#ackChain = result.catch(() => {});
    return result;
  }

  #isStale(batch: StreamBatch): boolean {
    return (
      batch.subscription !== this.#subscription ||
      batch.state === "stale" ||
      this.#endedBy !== undefined ||
      (this.#current?.signal.aborted ?? true)
    );
  }

  #endSubscription(): void {
    for (const b of this.#outstanding) if (b.state !== "acked") b.setState("stale");
    this.#outstanding = [];
    this.#current?.abort();
  }
}
