// bench/scale's delivery figures, from what the consumer processes reported: rows and batches
// over all streams, and the commit → consumer latencies merged, in all and by 5 s of commit time.
import type { ConsumerResult } from "./consumer.js";
import { histogramAt, LatencyHistogram } from "./histogram.js";
import type { ScaleReport } from "./report.js";

/** `loadStart`: ms since the epoch; `writeSeconds`: how long the writer took. */
export function deliveryOf(
  results: ConsumerResult[],
  loadStart: number,
  writeSeconds: number,
): NonNullable<ScaleReport["delivery"]> {
  const streams = results.flatMap((x) => x.streams);
  const lastAck = Math.max(...streams.map((s) => s.lastAckEpochMs));
  // Each stream's first row came before the load.
  const delivered = streams.reduce((s, x) => s + Math.max(0, x.rows - 1), 0);
  const seconds = (lastAck - loadStart) / 1000;
  const latency = new LatencyHistogram();
  for (const x of results) latency.merge(x.latencyUs, x.latencyMaxUs);
  const slices = new Map<number, LatencyHistogram>();
  for (const [start, buckets, max] of results.flatMap((x) => x.latencyBySlice)) {
    histogramAt(slices, start).merge(buckets, max);
  }
  return {
    rows: delivered,
    seconds,
    rowsPerSec: delivered / seconds,
    tailS: seconds - writeSeconds,
    batches: streams.reduce((s, x) => s + x.batches, 0),
    reopened: streams.filter((s) => s.subscriptions > 1).length,
    retries: [...new Set(streams.flatMap((s) => s.retries))].slice(0, 5),
    latencySamples: latency.count,
    p50Ms: latency.percentile(50) / 1000,
    p99Ms: latency.percentile(99) / 1000,
    maxMs: latency.max / 1000,
    bySlice: [...slices.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([start, h]) => ({
        // Slices are of the clock: the first starts before the load, the last may be short.
        fromS: Math.max(0, (start - loadStart) / 1000),
        rows: h.count,
        p50Ms: h.percentile(50) / 1000,
        p99Ms: h.percentile(99) / 1000,
        maxMs: h.max / 1000,
      })),
  };
}
