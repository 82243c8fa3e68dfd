// Serving Connect (gRPC, gRPC-Web, HTTP/JSON) on one port, and the errors services throw.

export { shutdownSignalKey } from "./calls.js";
export { CLIENT_EPOCH_HEADER } from "./client-epoch.js";
export {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  RETRY_AFTER_MS,
  relayError,
  retryAfterMs,
  unauthenticated,
  unavailable,
} from "./errors.js";
export {
  type ConnectServer,
  type ConnectServerOptions,
  type HttpRequest,
  type HttpResponse,
  startConnectServer,
} from "./server.js";
