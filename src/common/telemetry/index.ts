export { tracingHook } from "./rpc-spans.js";
export { startTelemetry, type Telemetry, type TelemetryOptions, tracesRequested } from "./telemetry.js";
