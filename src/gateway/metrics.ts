// The gateway's metrics (docs/observability.md lists them): calls by method and code, relay
// latency, open streams, holds, lease renewals and the runner table. Calls relayed through
// Connect are counted by interceptor(); the byte relays of gRPC (raw-unary.ts, raw-stream.ts)
// report their own ends.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createNoopMeter, type Meter } from "@opentelemetry/api";
import type { ClientHolds } from "./holds.js";
import type { RunnerTable } from "./runners.js";

/** Connect's name of a code: "ok", "unavailable", "failed_precondition". */
export function codeName(code: number): string {
  if (code === 0) return "ok";
  const name = Code[code];
  return name ? name.replace(/[A-Z]/g, (c, i: number) => (i ? "_" : "") + c.toLowerCase()) : String(code);
}

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
    this.#duration = meter.createHistogram("sluice.gateway.relay.duration_ms", {
      unit: "ms",
      description: "Time a unary call took through the gateway: routing, hold check and the server's answer",
      advice: {
        explicitBucketBoundaries: [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
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

  /** A unary call ended with `code` after `ms`. `method`: "sluice.v1.CanalService/Get". */
  unary(method: string, code: number, ms: number): void {
    this.#calls.add(1, { method, code: codeName(code) });
    this.#duration.record(ms, { method });
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

  /** Counts the calls that Connect handles (the byte relays count their own). */
  interceptor(): Interceptor {
    return (next) => async (req) => {
      const method = `${req.service.typeName}/${req.method.name}`;
      const started = performance.now();
      const streaming =
        req.method.methodKind === "server_streaming" || req.method.methodKind === "bidi_streaming";
      if (streaming) this.streamOpened();
      let res: Awaited<ReturnType<typeof next>>;
      try {
        res = await next(req);
      } catch (err) {
        const code = ConnectError.from(err).code;
        if (streaming) this.streamClosed(method, code);
        else this.unary(method, code, performance.now() - started);
        throw err;
      }
      if (!res.stream) {
        this.unary(method, 0, performance.now() - started);
        return res;
      }
      const metrics = this;
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          let code = 0;
          try {
            yield* messages;
          } catch (err) {
            code = ConnectError.from(err).code;
            throw err;
          } finally {
            if (code === 0 && req.signal.aborted) code = Code.Canceled;
            metrics.streamClosed(method, code);
          }
        })(),
      };
    };
  }
}
