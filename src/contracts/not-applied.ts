// "The call did not take effect, safe to send again": the NotApplied error detail
// (proto/sluice/v1/errors.proto), set by the server on the errors where it acted on nothing,
// read by gateways (and any client) to decide whether to send a call again. Never read from
// an error's message.
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { NotAppliedSchema } from "../gen/sluice/v1/errors_pb.js";

/** `err`, marked as not having taken effect (a NotApplied detail with `reason`). */
export function notApplied<E extends ConnectError>(err: E, reason = err.rawMessage): E {
  err.details.push({ desc: NotAppliedSchema, value: create(NotAppliedSchema, { reason }) });
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
