// Runtime and process metrics of a sluice process, and its build-info series, named as
// OpenTelemetry's semantic conventions name them (nodejs.*, v8js.*, process.*; times in
// seconds). Written here from Node's own measurements (perf_hooks, v8, process): the
// OpenTelemetry packages sluice depends on measure none of this, and each figure is one call.
import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";
import type { Meter } from "@opentelemetry/api";

/** GC kinds as perf_hooks reports them, by their semantic-convention names (v8js.gc.type). */
const GC_TYPES: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

const NS_PER_S = 1e9;

/**
 * Registers the instruments on `meter`; returns a function that stops the measuring (the
 * event-loop histogram and the GC observer). `version`: sluice's, for sluice.build.info.
 */
export function observeRuntime(meter: Meter, version: string): () => void {
  observeBuild(meter, version);
  const stopLoop = observeEventLoop(meter);
  const stopGc = observeGc(meter);
  observeHeap(meter);
  observeProcess(meter);
  return () => {
    stopLoop();
    stopGc();
  };
}

function observeBuild(meter: Meter, version: string): void {
  const info = meter.createObservableGauge("sluice.build.info", {
    unit: "1",
    description: "1, labelled with the version of sluice and of Node.js this process runs",
  });
  const labels = { version, node_version: process.versions.node };
  info.addCallback((r) => r.observe(1, labels));
}

/**
 * Event-loop delay over the time since the previous collection (the histogram restarts after
 * each), and the loop's utilization over the same time.
 */
function observeEventLoop(meter: Meter): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let lastUtilization = performance.eventLoopUtilization();
  const gauge = (name: string, description: string) =>
    meter.createObservableGauge(`nodejs.eventloop.delay.${name}`, { unit: "s", description });
  const stats = {
    min: gauge("min", "Event loop minimum delay"),
    max: gauge("max", "Event loop maximum delay"),
    mean: gauge("mean", "Event loop mean delay"),
    stddev: gauge("stddev", "Event loop standard deviation of delay"),
    p50: gauge("p50", "Event loop 50th percentile delay"),
    p90: gauge("p90", "Event loop 90th percentile delay"),
    p99: gauge("p99", "Event loop 99th percentile delay"),
  };
  const utilization = meter.createObservableGauge("nodejs.eventloop.utilization", {
    unit: "1",
    description: "Share of the time since the previous collection the event loop was busy",
  });
  meter.addBatchObservableCallback(
    (r) => {
      // Without a sample yet (count 0) the histogram's figures are meaningless (min is huge).
      if (delay.count > 0) {
        r.observe(stats.min, delay.min / NS_PER_S);
        r.observe(stats.max, delay.max / NS_PER_S);
        r.observe(stats.mean, delay.mean / NS_PER_S);
        r.observe(stats.stddev, delay.stddev / NS_PER_S);
        r.observe(stats.p50, delay.percentile(50) / NS_PER_S);
        r.observe(stats.p90, delay.percentile(90) / NS_PER_S);
        r.observe(stats.p99, delay.percentile(99) / NS_PER_S);
        delay.reset();
      }
      const now = performance.eventLoopUtilization();
      r.observe(utilization, performance.eventLoopUtilization(now, lastUtilization).utilization);
      lastUtilization = now;
    },
    [...Object.values(stats), utilization],
  );
  return () => delay.disable();
}

function observeGc(meter: Meter): () => void {
  const duration = meter.createHistogram("v8js.gc.duration", {
    unit: "s",
    description: "Garbage collection duration, by v8js.gc.type",
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] },
  });
  const attributes = Object.fromEntries(
    Object.entries(GC_TYPES).map(([kind, type]) => [kind, { "v8js.gc.type": type }]),
  );
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? -1;
      duration.record(entry.duration / 1000, attributes[kind] ?? { "v8js.gc.type": "other" });
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}

function observeHeap(meter: Meter): void {
  const used = meter.createObservableGauge("v8js.memory.heap.used", {
    unit: "By",
    description: "Heap memory in use, by v8js.heap.space.name",
  });
  const limit = meter.createObservableGauge("v8js.memory.heap.limit", {
    unit: "By",
    description: "Heap memory reserved (the space's size), by v8js.heap.space.name",
  });
  meter.addBatchObservableCallback(
    (r) => {
      for (const space of getHeapSpaceStatistics()) {
        const a = { "v8js.heap.space.name": space.space_name };
        r.observe(used, space.space_used_size, a);
        r.observe(limit, space.space_size, a);
      }
    },
    [used, limit],
  );
}

function observeProcess(meter: Meter): void {
  const cpu = meter.createObservableCounter("process.cpu.time", {
    unit: "s",
    description: "CPU time this process used, by cpu.mode (user, system)",
  });
  const memory = meter.createObservableGauge("process.memory.usage", {
    unit: "By",
    description: "Resident memory of this process (RSS)",
  });
  // Outside the V8 heap: what a process's RSS holds beside v8js.memory.heap.* (a server's
  // store, its binlog reads and its responses are array buffers).
  const external = meter.createObservableGauge("nodejs.memory.external", {
    unit: "By",
    description:
      "Memory of objects outside the V8 heap that JavaScript objects hold (array buffers included)",
  });
  const arrayBuffers = meter.createObservableGauge("nodejs.memory.array_buffers", {
    unit: "By",
    description: "Memory of ArrayBuffers and Buffers (part of nodejs.memory.external)",
  });
  const uptime = meter.createObservableGauge("process.uptime", {
    unit: "s",
    description: "Time since this process started",
  });
  meter.addBatchObservableCallback(
    (r) => {
      const { user, system } = process.cpuUsage();
      r.observe(cpu, user / 1e6, { "cpu.mode": "user" });
      r.observe(cpu, system / 1e6, { "cpu.mode": "system" });
      const m = process.memoryUsage();
      r.observe(memory, m.rss);
      r.observe(external, m.external);
      r.observe(arrayBuffers, m.arrayBuffers);
      r.observe(uptime, process.uptime());
    },
    [cpu, memory, external, arrayBuffers, uptime],
  );
}
