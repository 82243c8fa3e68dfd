// Who a call comes from, as the authentication hook proved it (authenticate.ts). Set in
// Call.values for the hooks after it (authorization, limits, consumer fencing) and for handlers.
import { type ContextKey, createContextKey } from "@connectrpc/connect";

export interface Principal {
  /** Who: a token's name, a JWT's sub, a canal user, a certificate's subject CN. */
  readonly id: string;
  /** How it was proven. "gateway": a trusted sluice gateway calling a server. */
  readonly via: "token" | "jwt" | "canal" | "certificate" | "gateway";
  /** What it may do, when the credential itself says (a token's or a JWT's scopes); else the policy file decides. */
  readonly scopes?: readonly string[];
}

/** Set by the authentication hook in Call.values; read by authorization, limits, fencing. */
export const PRINCIPAL: ContextKey<Principal | undefined> = createContextKey<Principal | undefined>(
  undefined,
  {
    description: "sluice: the authenticated caller",
  },
);

/** "token:alice": how a principal is named in policy files, errors and logs. */
export function principalName(p: Principal): string {
  return `${p.via}:${p.id}`;
}
