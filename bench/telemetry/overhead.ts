// What the server's metrics cost where they are recorded: per binlog event read (plain sums,
// observed at scrape) and per batch delivered and acked (counters and the ack histogram), with
// the real SDK and Prometheus reader, in this process. Prints JSON.
//   node dist/bench/telemetry/overhead.js [--events N]
import { createLogger } from "../../src/common/log.js";
import { startTelemetry } from "../../src/common/telemetry/index.js";
import { ServerMetrics } from "../../src/server/metrics.js";

const i = process.argv.indexOf("--events");
const events = i > 0 ? Number(process.argv[i + 1]) : 2_000_000;
const batches = Math.max(1, Math.floor(events / 10));

const telemetry = await startTelemetry({
  serviceName: "sluice-bench",
  metrics: { host: "127.0.0.1", port: 0 },
  logger: createLogger("bench", () => {}),
});
const m = new ServerMetrics(telemetry.meter).forDestination("example");
for (let n = 0; n < 10_000; n++) m.read(100, 1); // warm up
for (let n = 0; n < 1_000; n++) m.acked("1001", 1);
let t0 = performance.now();
for (let n = 0; n < events; n++) m.read(100, 1);
const readNs = ((performance.now() - t0) * 1e6) / events;
t0 = performance.now();
for (let n = 0; n < batches; n++) {
  m.delivered("1001", 10);
  m.acked("1001", 1.5);
}
const batchNs = ((performance.now() - t0) * 1e6) / batches;
t0 = performance.now();
const res = await fetch(telemetry.metricsUrl as string);
const text = await res.text();
const scrapeMs = performance.now() - t0;
await telemetry.close();
const ok = text.includes(`sluice_binlog_events_total{destination="example"`);
console.log(
  JSON.stringify({
    events,
    batches,
    nsPerEventRead: Math.round(readNs),
    nsPerBatchDeliveredAndAcked: Math.round(batchNs),
    scrapeMs: Math.round(scrapeMs * 10) / 10,
    scrapeBytes: text.length,
    scrapeHasCounters: ok,
  }),
);
