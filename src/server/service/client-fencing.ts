// Consumer fencing as a hook of the call pipeline (src/protocol/pipeline.ts): every call that
// carries the `sluice-client-epoch` header (gateways send the epoch of the consumer's hold)
// is admitted against the highest epoch seen for its clientId before any handler acts:
// an older epoch is refused (failed_precondition), and the first call of a newer one gives
// back the outstanding batches of the older holder (client-epochs.ts). The call's epoch goes
// to the handler as `ctx.values.get(clientEpochKey)`, for the checks a handler makes while it
// waits (a newer holder may come meanwhile).
// Once authentication is configured, only gateways may send the header (`trusted`): a client
// sending it could claim a huge epoch and lock a clientId out. docs/security.md.
import { CLIENT_EPOCH_HEADER, parseClientEpoch } from "../../contracts/client-epoch.js";
import { clientIdProblem } from "../../contracts/names.js";
import { permissionDenied } from "../../protocol/errors.js";
import type { Call, CallHook } from "../../protocol/pipeline.js";
import { DestinationError } from "../destination/destination.js";
import type { DestinationRegistry } from "../destination/registry.js";
import { mapError } from "./canal-service.js";
import { type ClientEpochs, clientEpochKey } from "./client-epochs.js";

export function clientFencingHook(
  registry: DestinationRegistry,
  epochs: ClientEpochs,
  /** Whether a call may carry the header; undefined: every call may (no authentication configured). */
  trusted?: (call: Call) => boolean,
): CallHook {
  return {
    name: "consumer fencing",
    start(call) {
      const raw = call.header(CLIENT_EPOCH_HEADER);
      if (raw === undefined) return;
      if (trusted !== undefined && !trusted(call)) {
        throw permissionDenied(
          `${CLIENT_EPOCH_HEADER}: only sluice gateways may send it (it fences consumers)`,
        );
      }
      const epoch = parseClientEpoch(raw);
      call.values.set(clientEpochKey, epoch);
      const { destination, clientId } = call.fields;
      // Calls without a valid clientId of a destination served here are the handler's to refuse.
      if (clientIdProblem(clientId) !== undefined) return;
      let d: ReturnType<DestinationRegistry["require"]>;
      try {
        d = registry.require(destination);
      } catch {
        return;
      }
      if (!epochs.admit(d.name, clientId, epoch)) return;
      return d.rollback(clientId, undefined).then(
        () => {},
        (err: unknown) => {
          if (!(err instanceof DestinationError && err.kind === "not_subscribed")) throw mapError(err);
        },
      );
    },
  };
}
