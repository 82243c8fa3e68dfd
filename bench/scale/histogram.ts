// Latencies of many streams in many consumer processes, merged: a histogram whose buckets keep
// three significant digits (1% at the most off), so each process sends a few hundred numbers
// rather than every sample, and percentiles of the merged whole are still near exact. The
// largest sample is kept exactly.

/** [bucket's lower bound, count], as a consumer process sends it. */
export type HistogramBuckets = Array<[number, number]>;

export class LatencyHistogram {
  readonly #counts = new Map<number, number>();
  #n = 0;
  #max = Number.NEGATIVE_INFINITY;

  get count(): number {
    return this.#n;
  }

  /** The largest value added, exactly (NaN when empty). */
  get max(): number {
    return this.#n === 0 ? Number.NaN : this.#max;
  }

  add(value: number): void {
    const b = bucketOf(value);
    this.#counts.set(b, (this.#counts.get(b) ?? 0) + 1);
    this.#n++;
    if (value > this.#max) this.#max = value;
  }

  /** Adds what another histogram holds (its buckets and its max). */
  merge(buckets: HistogramBuckets, max: number): void {
    for (const [b, c] of buckets) {
      this.#counts.set(b, (this.#counts.get(b) ?? 0) + c);
      this.#n += c;
    }
    if (max > this.#max) this.#max = max;
  }

  buckets(): HistogramBuckets {
    return [...this.#counts.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** The bucket holding the p-th percentile sample (p in 0..100); the max for 100. */
  percentile(p: number): number {
    if (this.#n === 0) return Number.NaN;
    if (p >= 100) return this.#max;
    const rank = Math.floor((p / 100) * this.#n);
    let seen = 0;
    for (const [b, c] of this.buckets()) {
      seen += c;
      if (seen > rank) return b;
    }
    return this.#max;
  }
}

/** The value rounded down to three significant digits (values under 100 to whole numbers). */
export function bucketOf(value: number): number {
  if (!(value >= 100)) return Math.floor(Math.max(0, value));
  const step = 10 ** (Math.floor(Math.log10(value)) - 2);
  return Math.floor(value / step) * step;
}

/** The histogram under `key` in `map`, made empty when there is none yet. */
export function histogramAt<K>(map: Map<K, LatencyHistogram>, key: K): LatencyHistogram {
  let h = map.get(key);
  if (!h) {
    h = new LatencyHistogram();
    map.set(key, h);
  }
  return h;
}
