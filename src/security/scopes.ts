// What a grant allows: an action on destinations and clientIds, named by patterns. Both a
// credential's scopes ("read:orders", "read:orders/team-a-*", "admin:*") and the rules of the
// policy file (policy.ts) come down to grants. docs/security.md, "Authorization".
import { type NameMatcher, namePattern, namePatternProblem } from "./patterns.js";

/**
 * read: Subscribe, Get, Ack, Rollback, Stream, Unsubscribe of a clientId.
 * admin: AdminService (status, ReleaseDestination, SetCursor, SkipEvent).
 */
export type Action = "read" | "admin";
export const ACTIONS: readonly Action[] = ["read", "admin"];

export interface Grant {
  readonly action: Action;
  readonly destination: NameMatcher;
  /** undefined: every clientId ("*"). */
  readonly clientId: NameMatcher | undefined;
}

/** What a call asks for: an action on a destination, for one clientId or (undefined) for all. */
export interface Request {
  readonly action: Action;
  readonly destination: string;
  readonly clientId: string | undefined;
}

export function grant(action: Action, destination: string, clientId: string): Grant {
  return {
    action,
    destination: namePattern(destination),
    clientId: clientId === "*" ? undefined : namePattern(clientId),
  };
}

/**
 * True when the grant covers the request. A request for every clientId of a destination (a
 * call that names none: status, ReleaseDestination, SkipEvent) needs a grant for every clientId.
 */
export function covers(g: Grant, r: Request): boolean {
  if (g.action !== r.action || !g.destination(r.destination)) return false;
  if (g.clientId === undefined) return true;
  return r.clientId !== undefined && g.clientId(r.clientId);
}

/** A scope ("read:orders", "admin:shop-*", "read:orders/team-a-*") as a grant, or why it is not one. */
export function parseScope(text: string): Grant | string {
  const m = /^(read|admin):([^/]+)(?:\/(.+))?$/.exec(text);
  if (!m) {
    return `scope ${JSON.stringify(text)}: must be read:DESTINATION or admin:DESTINATION, optionally /CLIENTID (patterns with "*")`;
  }
  const destination = m[2] as string;
  const clientId = m[3] ?? "*";
  for (const [what, pattern] of [
    ["destination", destination],
    ["clientId", clientId],
  ] as const) {
    const problem = namePatternProblem(pattern);
    if (problem) return `scope ${JSON.stringify(text)}: its ${what} ${problem}`;
  }
  return grant(m[1] as Action, destination, clientId);
}

/** True when a scope string is one of Sluice's (read:... or admin:...). */
export function isSluiceScope(text: string): boolean {
  return /^(read|admin):/.test(text);
}

/** Scopes as grants; scopes that are not valid are skipped (they were checked where they were read). */
export function scopeGrants(scopes: readonly string[]): Grant[] {
  const out: Grant[] = [];
  for (const s of scopes) {
    const g = parseScope(s);
    if (typeof g !== "string") out.push(g);
  }
  return out;
}
