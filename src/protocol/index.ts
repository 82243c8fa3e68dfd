// The protocol: Connect, gRPC and gRPC-Web on the wire, in one place that server, gateway and
// clients import. It imports only generated code, the protocol libraries (connect-es,
// protobuf-es) and Node's built-ins, never other sluice code.

export { CallCancel, type CancelSignal } from "./call-cancel.js";
export {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  RETRY_AFTER_MS,
  relayError,
  resourceExhausted,
  retryAfterMs,
  unauthenticated,
  unavailable,
} from "./errors.js";
export { abortError, cancelSignalOf, linkSignals, shutdownSignalKey } from "./server/call-guard.js";
export {
  type ConnectServer,
  type ConnectServerOptions,
  type HttpRequest,
  type HttpResponse,
  startConnectServer,
} from "./server/server.js";
