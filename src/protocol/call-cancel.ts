// Cancellation of one call without an AbortController. Why: on Node 20 every AbortSignal
// outlives the young-generation GCs that should free it (measured: ~800 bytes promoted to the
// old generation per signal, even one never listened to), so one signal per unary call fills
// the old generation at ~1 MB/s under load and brings a full GC, with its 5-12 ms pauses,
// every few seconds: the p99 of every relayed call. The cause: Node 20 makes each signal as an
// EventTarget whose prototype it then changes (Object.setPrototypeOf), and V8 promotes objects
// whose prototype changed after they were made (a loop of `{}` + setPrototypeOf promotes ~60
// bytes per object, the same loop without it none). A CallCancel is a plain object.

/** What our own waits need of a signal: an AbortSignal fits, and so does a CallCancel. */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** A cancel signal and its controller in one small object. Listeners run once, on abort. */
export class CallCancel implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] | undefined;

  addEventListener(_type: "abort", listener: () => void, _options?: { once?: boolean }): void {
    if (this.aborted) return;
    this.#listeners ??= [];
    if (!this.#listeners.includes(listener)) this.#listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const i = this.#listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.#listeners?.splice(i, 1);
  }

  /** Fires once: later calls change nothing. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners ?? [];
    this.#listeners = undefined;
    for (const l of listeners) l();
  }
}

/** An AbortSignal that fires with `cancel` (for APIs that need a real one). */
export function abortSignalOf(cancel: CancelSignal): AbortSignal {
  const controller = new AbortController();
  if (cancel.aborted) controller.abort(cancel.reason);
  else cancel.addEventListener("abort", () => controller.abort(cancel.reason), { once: true });
  return controller.signal;
}
