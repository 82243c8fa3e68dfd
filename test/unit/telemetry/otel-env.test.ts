// Which OTEL_* environments turn on traces and the OTLP metrics push: nothing reaches for a
// collector unless asked.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  metricsExportRequested,
  telemetryRequested,
  tracesRequested,
} from "../../../src/common/telemetry/index.js";

test("an OTLP endpoint turns on traces and the metrics push; nothing set, neither", () => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
  assert.equal(metricsExportRequested(endpoint), true);
  assert.equal(tracesRequested(endpoint), true);
  assert.equal(metricsExportRequested({}), false);
  assert.equal(tracesRequested({}), false);
  assert.equal(
    metricsExportRequested({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://c:4318/v1/metrics" }),
    true,
  );
  assert.equal(
    metricsExportRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" }),
    false,
  );
});

test("OTEL_METRICS_EXPORTER decides over the endpoint", () => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
  assert.equal(metricsExportRequested({ ...endpoint, OTEL_METRICS_EXPORTER: "none" }), false);
  assert.equal(metricsExportRequested({ ...endpoint, OTEL_METRICS_EXPORTER: "prometheus" }), false);
  assert.equal(metricsExportRequested({ OTEL_METRICS_EXPORTER: "otlp" }), true);
  assert.equal(metricsExportRequested({ OTEL_METRICS_EXPORTER: " prometheus, otlp " }), true);
  // Traces stay off when only metrics are asked for.
  assert.equal(tracesRequested({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }), false);
});

test("telemetry starts for a Prometheus port, a push or traces", () => {
  assert.equal(telemetryRequested(true, {}), true);
  assert.equal(telemetryRequested(false, {}), false);
  assert.equal(
    telemetryRequested(false, { OTEL_METRICS_EXPORTER: "otlp", OTEL_TRACES_EXPORTER: "none" }),
    true,
  );
  assert.equal(telemetryRequested(false, { OTEL_TRACES_EXPORTER: "console" }), true);
});
