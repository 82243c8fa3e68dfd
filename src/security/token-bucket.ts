// A token bucket: `rate` tokens a second flow in, up to `burst`; each call takes one. A client
// that stays under the rate is never refused; one that goes over it gets what the bucket holds
// and then one call per 1/rate seconds. Written here rather than taken from a library: it is a
// dozen lines, and the limits hook runs it on every call, the fast paths included.

export class TokenBucket {
  #tokens: number;
  #at: number;

  /** Full at `now` (ms, a monotonic clock such as performance.now()). */
  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes one token: 0 when there was one, else how many ms until there is one. */
  take(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return ((1 - this.#tokens) * 1000) / this.rate;
  }

  /** True when the bucket is full at `now` (it then holds nothing worth keeping). */
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.burst;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.rate) / 1000);
      this.#at = now;
    }
  }
}
