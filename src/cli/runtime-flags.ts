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
