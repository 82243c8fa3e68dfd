export { tracingHook } from "./rpc-spans.js";
export {
  metricsExportRequested,
  startTelemetry,
  type Telemetry,
  type TelemetryOptions,
  telemetryRequested,
  tracesRequested,
} from "./telemetry.js";
