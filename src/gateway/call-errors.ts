// The gateway's own failures as errors a client can act on. The gateway reads ZooKeeper on a
// call's way (routing, the hold check, a lease renewal, taking a hold); when ZooKeeper cannot
// answer (the connection is lost, the session is moving or expired, or the client is closing
// while the gateway renews its session: "zookeeper is closing"), the call is `unavailable`
// with a retry delay, not `unknown` (HTTP 500). Not NotApplied: an Unsubscribe may have taken
// effect on the server before the gateway failed to update ZooKeeper.
import { ConnectError } from "@connectrpc/connect";
import { ZkError } from "../common/zk/client.js";
import { unavailable } from "../protocol/errors.js";

const RETRY_MS = 500;

/** `err` as the client should see it. */
export function callError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof ZkError) {
    return unavailable(
      `the gateway cannot reach ZooKeeper right now (${err.code}): ${err.message}`,
      RETRY_MS,
      err,
    );
  }
  return ConnectError.from(err);
}

// biome-ignore lint/suspicious/noExplicitAny: the methods of any service implementation
type Method = (...args: any[]) => any;

/** A service implementation whose methods fail with callError(err) (unary and streaming alike). */
export function withCallErrors<T extends object>(impl: T): T {
  const out: Record<string, Method> = {};
  for (const [name, fn] of Object.entries(impl as Record<string, Method>)) {
    out[name] =
      fn.constructor.name === "AsyncGeneratorFunction"
        ? async function* (...args: unknown[]) {
            try {
              yield* fn.apply(impl, args);
            } catch (err) {
              throw callError(err);
            }
          }
        : async (...args: unknown[]) => {
            try {
              return await fn.apply(impl, args);
            } catch (err) {
              throw callError(err);
            }
          };
  }
  return out as T;
}
