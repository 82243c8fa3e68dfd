// The gateway's metrics (docs/observability.md lists them): calls by method and code, relay
// latency, open streams, holds, lease renewals and the runner table. Calls are counted by a
// hook of the call pipeline (hook()), whichever path relays them.
import { createNoopMeter, type Meter } from "@opentelemetry/api";
import type { CallHook } from "../protocol/pipeline.js";
import { codeName } from "../protocol/wire-errors.js";
import type { ClientHolds } from "./holds.js";
import type { RunnerTable } from "./runners.js";

export class GatewayMetrics {
  readonly #calls;
  readonly #duration;
  readonly #streams;
  readonly #renewals;
  readonly #meter: Meter;

  /** Metrics that go nowhere (no telemetry). */
  static noop(): GatewayMetrics {
    return new GatewayMetrics(createNoopMeter());
  }

  constructor(meter: Meter) {
    this.#meter = meter;
    this.#calls = meter.createCounter("sluice.gateway.calls", {
      unit: "{call}",
      description: "Calls ended, by method and Connect code (streams counted when they end)",
    });
    this.#duration = meter.createHistogram("sluice.gateway.relay.duration_seconds", {
      unit: "s",
      description: "Time a unary call took through the gateway: routing, hold check and the server's answer",
      advice: {
        explicitBucketBoundaries: [
          0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
        ],
      },
    });
    this.#streams = meter.createUpDownCounter("sluice.gateway.streams", {
      unit: "{stream}",
      description: "Streams open through this gateway",
    });
    this.#renewals = meter.createCounter("sluice.gateway.lease.renewals", {
      unit: "{renewal}",
      description: "Lease renewals this gateway wrote to ZooKeeper (unary consumers' holds)",
    });
  }

  /** A unary call ended with `code` after `ms` milliseconds. `method`: "sluice.v1.CanalService/Get". */
  unary(method: string, code: number, ms: number): void {
    this.#calls.add(1, { method, code: codeName(code) });
    this.#duration.record(ms / 1000, { method });
  }

  streamOpened(): void {
    this.#streams.add(1);
  }

  /** A stream ended with `code`. */
  streamClosed(method: string, code: number): void {
    this.#streams.add(-1);
    this.#calls.add(1, { method, code: codeName(code) });
  }

  leaseRenewed(): void {
    this.#renewals.add(1);
  }

  /** Gauges read at each scrape. */
  observe(holds: ClientHolds, runners: RunnerTable): void {
    const held = this.#meter.createObservableGauge("sluice.gateway.holds", {
      unit: "{hold}",
      description: "Unary consumers' holds (leases) this gateway owns; each open stream holds one more",
    });
    const table = this.#meter.createObservableGauge("sluice.gateway.runners", {
      unit: "{destination}",
      description: "Destinations in the runner table with a running server known",
    });
    this.#meter.addBatchObservableCallback(
      (r) => {
        r.observe(held, holds.leasesOwned);
        r.observe(table, runners.knownRunners);
      },
      [held, table],
    );
  }

  /** The hook of the call pipeline that counts every call the gateway serves, on every path. */
  hook(): CallHook {
    return {
      name: "metrics",
      start: (call) => {
        if (call.streaming) this.streamOpened();
      },
      end: (call, outcome) => {
        if (call.streaming) this.streamClosed(call.procedure, outcome.code);
        else this.unary(call.procedure, outcome.code, outcome.durationMs);
      },
    };
  }
}
