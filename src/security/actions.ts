// What each method asks of the caller, for the authorization hook: every method of the API is
// listed, and one that is not is refused (a method added later must be placed here first).
import type { Call } from "../protocol/pipeline.js";
import type { Request } from "./scopes.js";

/**
 * - a Request: an action on a destination (and clientId) that the policy and scopes must allow;
 * - "list": ListDestinations, allowed, its answer kept to the destinations the caller administers;
 * - "health": gRPC health checking (open or authenticated, as the settings say);
 * - "authenticated": any authenticated caller (server reflection: the API's shape is public);
 * - "unknown": not in this table: refused.
 */
export type Need = Request | "list" | "health" | "authenticated" | "unknown";

const CANAL = "sluice.v1.CanalService";
const ADMIN = "sluice.v1.AdminService";
const READ = new Set(["Subscribe", "Get", "Ack", "Rollback", "Stream", "Unsubscribe"]);
/** Admin methods of one destination as a whole (every clientId). */
const ADMIN_DESTINATION = new Set(["GetDestination", "ReleaseDestination", "SkipEvent"]);

export function needOf(call: Call): Need {
  const { service, method } = call;
  if (service === CANAL && READ.has(method)) {
    return { action: "read", destination: call.fields.destination, clientId: call.fields.clientId };
  }
  if (service === ADMIN) {
    if (method === "ListDestinations") return "list";
    if (ADMIN_DESTINATION.has(method)) {
      return { action: "admin", destination: call.fields.destination, clientId: undefined };
    }
    if (method === "SetCursor") {
      return { action: "admin", destination: call.fields.destination, clientId: call.fields.clientId };
    }
  }
  if (service === "grpc.health.v1.Health") return "health";
  if (
    service === "grpc.reflection.v1.ServerReflection" ||
    service === "grpc.reflection.v1alpha.ServerReflection"
  ) {
    return "authenticated";
  }
  return "unknown";
}
