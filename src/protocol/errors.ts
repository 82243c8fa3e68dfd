// The errors clients see, as ConnectErrors with the codes of the design's error table
// (docs/api.md, "Errors"). Throw them from service handlers: connect-es sends them as Connect
// JSON errors ({"code":"not_found","message":"..."} with the matching HTTP status), gRPC and
// gRPC-Web status, whatever protocol the client speaks.
import { Code, ConnectError } from "@connectrpc/connect";

/** Response header (Connect unary) or trailer (streams, gRPC, gRPC-Web) of `unavailable` and `resource_exhausted` errors. */
export const RETRY_AFTER_MS = "retry-after-ms";

/**
 * invalid_argument: a request field is wrong. The message names the field: it is prefixed with
 * `field: ` unless it already mentions it. Use the JSON (lowerCamelCase) names of docs/api.md,
 * e.g. `invalidArgument("batchSize", "must be 1..10000, got 0")`.
 */
export function invalidArgument(field: string, message: string, cause?: unknown): ConnectError {
  const named = field !== "" && new RegExp(`(^|[^\\w])${escapeRegExp(field)}([^\\w]|$)`).test(message);
  return new ConnectError(
    named ? message : `${field}: ${message}`,
    Code.InvalidArgument,
    undefined,
    undefined,
    cause,
  );
}

/** not_found: e.g. an unknown destination. */
export function notFound(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.NotFound, undefined, undefined, cause);
}

/**
 * failed_precondition: the call is well-formed but the state forbids it (ack of a batch that is
 * not the oldest, stale session, Get before Subscribe). The message says what to do.
 */
export function failedPrecondition(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition, undefined, undefined, cause);
}

/** already_exists: e.g. the clientId is held by another consumer (say who, and since when). */
export function alreadyExists(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.AlreadyExists, undefined, undefined, cause);
}

/**
 * unavailable: try again later (no running server for the destination, election in progress,
 * server shutting down). `retryAfterMs` goes into the message ("... (retry after 500 ms)") and
 * into the `retry-after-ms` metadata: an HTTP response header for Connect unary calls, a trailer
 * for gRPC and gRPC-Web, the end-of-stream message's metadata for Connect streams.
 */
export function unavailable(message: string, retryAfterMs?: number, cause?: unknown): ConnectError {
  return withRetryAfter(message, Code.Unavailable, retryAfterMs, cause);
}

/**
 * resource_exhausted: a limit refused the call (a client's request rate, open streams or calls
 * in flight; a message over the size limit). Nothing was done. `retryAfterMs`, when the limit
 * knows when there will be room, travels as for unavailable.
 */
export function resourceExhausted(message: string, retryAfterMs?: number, cause?: unknown): ConnectError {
  return withRetryAfter(message, Code.ResourceExhausted, retryAfterMs, cause);
}

function withRetryAfter(
  message: string,
  code: Code,
  retryAfterMs: number | undefined,
  cause: unknown,
): ConnectError {
  if (retryAfterMs === undefined) return new ConnectError(message, code, undefined, undefined, cause);
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  return new ConnectError(
    `${message} (retry after ${ms} ms)`,
    code,
    { [RETRY_AFTER_MS]: String(ms) },
    undefined,
    cause,
  );
}

/** permission_denied: authenticated, but not allowed (on this destination). */
export function permissionDenied(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.PermissionDenied, undefined, undefined, cause);
}

/** unauthenticated: no or bad credentials. */
export function unauthenticated(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.Unauthenticated, undefined, undefined, cause);
}

/**
 * The retry delay of an `unavailable` or `resource_exhausted` error, from its `retry-after-ms` metadata or, failing that
 * (a client that only kept the message), its message. undefined when it has none.
 */
export function retryAfterMs(err: unknown): number | undefined {
  const e = ConnectError.from(err);
  const header = e.metadata.get(RETRY_AFTER_MS);
  if (header !== null && /^\d+$/.test(header.trim())) return Number(header.trim());
  const m = /\(retry after (\d+) ms\)/.exec(e.rawMessage);
  return m ? Number(m[1]) : undefined;
}

/**
 * A copy of an error received from another Sluice process (the gateway proxying a server), fit
 * to be thrown again. connect-es does not relay the metadata of errors parsed from the wire, so
 * a rethrown `unavailable` would lose its `retry-after-ms`; this copy keeps code, message,
 * details and that header.
 */
export function relayError(err: unknown): ConnectError {
  const e = ConnectError.from(err);
  if (!e.isWireError) return e;
  const metadata = new Headers();
  const retry = e.metadata.get(RETRY_AFTER_MS);
  if (retry !== null) metadata.set(RETRY_AFTER_MS, retry);
  const copy = new ConnectError(e.rawMessage, e.code, metadata, undefined, e);
  copy.details = e.details;
  return copy;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
