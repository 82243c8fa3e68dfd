// "The call did not take effect, safe to send again": the NotApplied error detail
// (proto/sluice/v1/errors.proto), set by the server on the errors where it acted on nothing,
// read by gateways (and any client) to decide whether to send a call again. Never read from
// an error's message.
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { NotAppliedSchema } from "../gen/sluice/v1/errors_pb.js";

/** Longest reason a NotApplied detail carries: it travels in a gRPC trailer. */
const MAX_REASON = 1024;

/** `err`, marked as not having taken effect (a NotApplied detail with `reason`, cut to MAX_REASON). */
export function notApplied<E extends ConnectError>(err: E, reason = err.rawMessage): E {
  const cut = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 3)}...` : reason;
  err.details.push({ desc: NotAppliedSchema, value: create(NotAppliedSchema, { reason: cut }) });
  return err;
}

/** True when the error says that the call did not take effect (whatever its code or message). */
export function wasNotApplied(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return false;
  try {
    return err.findDetails(NotAppliedSchema).length > 0;
  } catch {
    return false; // a detail that does not decode
  }
}
