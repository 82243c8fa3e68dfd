// Pauses in deliveries: the longest time between two consecutive deliveries around a fault,
// and the median and worst of many.

export interface Gap {
  ms: number;
  /** The delivery before the gap and the one that ended it (ms since the epoch). */
  from: number;
  to: number;
}

/**
 * The longest gap between consecutive `times` (ascending) that ends after `from` and starts
 * before `to`: the worst pause of a fault injected at `from` whose effects are over by `to`.
 * Undefined when no delivery came after `from`.
 */
export function largestGap(times: readonly number[], from: number, to: number): Gap | undefined {
  let worst: Gap | undefined;
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1] as number;
    const b = times[i] as number;
    if (b <= from) continue;
    if (a >= to) break;
    if (!worst || b - a > worst.ms) worst = { ms: b - a, from: a, to: b };
  }
  return worst;
}

export interface Summary {
  count: number;
  /** The middle value (the lower of the two middle ones for an even count): a measured value. */
  median: number;
  worst: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)] as number) : Number.NaN,
    worst: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}
