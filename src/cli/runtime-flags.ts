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
 * The server and the gateway let their old generation grow to three times what survived the
 * last full GC (V8's own factor is dynamic, 1.1 to 4). Both live heaps are small (20-25 MB)
 * and V8 starts incremental marking whenever the room left under its limit is less than the
 * young generation (32 MB): with its own factor that was at once after each full GC, so
 * marking ran all the time bytes moved. `--trace-incremental-marking`, 500k rows read by one
 * consumer: the server 29 starts and 520 ms of marking and pauses against 10 and 260 ms, 0.9
 * µs less CPU per row (9.0-10.4 against 8.2-9.3, alternating runs), peak RSS unchanged
 * (190-265 MB against 191-195); the gateway, relaying JSON Get/Ack, 54 starts in 20 s against
 * 13 and half its CPU per row. The cost is a heap that may reach about 60 MB before it is
 * collected. Pass --heap-growing-percent to node to choose another factor.
 */
export function setHeapGrowth(): void {
  if (!process.execArgv.some((a) => a.includes("heap-growing-percent"))) {
    setFlagsFromString("--heap-growing-percent=200");
  }
}
