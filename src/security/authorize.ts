// The authorization hook: the call's principal may do what the call asks (actions.ts) on its
// destination and clientId, when the policy file grants it (if there is one) and its
// credential's scopes include it (if it has any). Without either, an authenticated caller may
// do everything. A gateway's call to a server is not checked again: the gateway authorized it.
// Refusals are permission_denied naming what is missing, and nothing about what exists (the
// hook runs before any handler looks a destination up).
import { type ContextKey, createContextKey } from "@connectrpc/connect";
import { permissionDenied, unauthenticated } from "../protocol/errors.js";
import type { CallHook } from "../protocol/pipeline.js";
import { needOf } from "./actions.js";
import type { Policy } from "./policy.js";
import { PRINCIPAL, type Principal, principalName } from "./principal.js";
import { covers, type Grant, type Request, scopeGrants } from "./scopes.js";

/**
 * Set for ListDestinations: whether the caller may see a destination (it administers it).
 * Handlers keep their answer to those; absent: everything may be seen.
 */
export const VISIBLE_DESTINATIONS: ContextKey<((destination: string) => boolean) | undefined> =
  createContextKey<((destination: string) => boolean) | undefined>(undefined, {
    description: "sluice: the destinations the caller may see",
  });

/** True when `visible` (a handler's ctx.values.get(VISIBLE_DESTINATIONS)) lets the caller see `name`. */
export function mayView(visible: ((destination: string) => boolean) | undefined, name: string): boolean {
  return visible === undefined || visible(name);
}

export class Authorizer {
  /** A principal's scopes as grants, parsed once per principal object (they are remembered). */
  readonly #grants = new WeakMap<Principal, Grant[]>();

  constructor(private readonly policy: { readonly current: Policy } | undefined) {}

  /** Undefined when allowed; else what is missing, for the message. */
  missing(p: Principal, r: Request): string | undefined {
    const policy = this.policy?.current;
    const byPolicy = policy === undefined || policy.allows(p, r);
    const scopes = p.scopes;
    let byScopes = true;
    if (scopes !== undefined) {
      let grants = this.#grants.get(p);
      if (grants === undefined) {
        grants = scopeGrants(scopes);
        this.#grants.set(p, grants);
      }
      byScopes = grants.some((g) => covers(g, r));
    }
    if (byPolicy && byScopes) return undefined;
    const scope = `${r.action}:${r.destination || '""'}${r.clientId === undefined ? "" : `/${r.clientId || '""'}`}`;
    const where = [
      ...(byPolicy ? [] : ["a rule of the policy file that grants it"]),
      ...(byScopes ? [] : [`the scope ${scope} in its ${p.via === "jwt" ? "JWT" : "token"}`]),
    ];
    return `it needs ${where.join(" and ")}`;
  }
}

export function authorizeHook(authorizer: Authorizer): CallHook {
  return {
    name: "authorization",
    start(call) {
      const need = needOf(call);
      const p = call.values.get(PRINCIPAL);
      if (p === undefined) {
        // Only health checks pass authentication without a principal (when they are open).
        if (need === "health") return;
        throw unauthenticated("credentials are required");
      }
      if (p.via === "gateway" || need === "health" || need === "authenticated") return;
      if (need === "unknown") throw permissionDenied(`${call.procedure} is not a method the policy covers`);
      if (need === "list") {
        call.values.set(
          VISIBLE_DESTINATIONS,
          (d) =>
            authorizer.missing(p, { action: "admin", destination: d, clientId: undefined }) === undefined,
        );
        return;
      }
      const missing = authorizer.missing(p, need);
      if (missing === undefined) return;
      const what =
        need.clientId === undefined
          ? `${need.action} destination ${JSON.stringify(need.destination)} (every clientId)`
          : `${need.action} destination ${JSON.stringify(need.destination)} as clientId ${JSON.stringify(need.clientId)}`;
      throw permissionDenied(`${principalName(p)} may not ${what}: ${missing}`);
    },
  };
}
