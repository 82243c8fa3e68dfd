// V8 settings for sluice's processes, applied before anything else is loaded (main.ts imports
// this module first).
//
// Allocation-site pretenuring off: with it on, V8 notices that per-call objects (node:http2's
// streams, request and response objects, abort signals) often outlive a young-generation GC
// while a call is open, and starts to allocate them straight in the old generation. Dead there,
// they still hold young objects alive through the old-to-new remembered set until the next
// full GC, so every scavenge promotes megabytes and pauses 6-15 ms on a busy 2-vCPU machine,
// which is the latency tail of every call. Measured with --trace-gc on the gateway under
// sequential unary load: scavenges 6-10 ms with pretenuring, 1.3-3.5 ms without; CPU per call
// 0.85 -> 0.71 ms (docs/benchmarks.md). Pass --allocation-site-pretenuring to node to keep V8's
// default.
import { setFlagsFromString } from "node:v8";

if (!process.execArgv.some((a) => a.includes("allocation-site-pretenuring"))) {
  setFlagsFromString("--no-allocation-site-pretenuring");
}

/**
 * The gateway lets its old generation grow to three times what survived the last full GC
 * (V8's own factor is dynamic, 1.1 to 4). The gateway's live heap is small (about 20 MB) and
 * the default left so little room under the limit that V8 kept starting incremental marking
 * again right after each full GC while bytes were relayed: `--trace-incremental-marking` on a
 * JSON Get/Ack run showed 54 starts in 20 s at 18 MB of a 42 MB limit, each ending in a 7-20 ms
 * full GC. With the factor at 3: 13 full GCs in the same run, the gateway's CPU per relayed row
 * halved (docs/benchmarks.md). The cost is a heap that may reach about 60 MB before it is
 * collected. Pass --heap-growing-percent to node to choose another factor.
 */
export function setGatewayHeapGrowth(): void {
  if (!process.execArgv.some((a) => a.includes("heap-growing-percent"))) {
    setFlagsFromString("--heap-growing-percent=200");
  }
}
