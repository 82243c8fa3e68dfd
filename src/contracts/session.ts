// The session token of a hold on a clientId, made and read in one place: a gateway makes it
// for the holds it keeps in ZooKeeper, any gateway checks a token it did not make, and a
// server makes one for its direct callers (it does not check them: holds are the gateways').
//
// Format: "<epoch>.<secret>.<clientId>". The epoch is the hold's fencing token (the czxid of
// the clientId's running node, or the destination's epoch on a server); the secret is 144
// random bits that only the holder is given. The hold's running node stores the secret's
// SHA-256, never the secret: canal's tools may read that node (docs/security.md), and a token
// must not be buildable from anything another caller can see (an epoch in an error, a node's
// data, a status page). Opaque to clients: they pass it back as they got it.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Random bytes of a session's secret: 18 (144 bits), 24 characters of base64url. */
const SECRET_BYTES = 18;
const SECRET = /^[A-Za-z0-9_-]{24}$/;

/** A new session secret: 144 random bits, base64url. */
export function newSessionSecret(): string {
  return randomBytes(SECRET_BYTES).toString("base64url");
}

/** The session token of the hold of `clientId` under `epoch`, proven by `secret`. */
export function makeSession(epoch: bigint, secret: string, clientId: string): string {
  return `${epoch}.${secret}.${clientId}`;
}

/** What a session token says. */
export interface SessionParts {
  epoch: bigint;
  secret: string;
}

/** The epoch and secret of a token made for `clientId`, or undefined when it is not one. */
export function parseSession(token: string, clientId: string): SessionParts | undefined {
  const m = /^(\d{1,20})\.([^.]+)\.(.+)$/.exec(token);
  if (!m || m[3] !== clientId || !SECRET.test(m[2] as string)) return undefined;
  return { epoch: BigInt(m[1] as string), secret: m[2] as string };
}

/** What a hold's node stores of its secret: its SHA-256, base64url (reading it gives no session). */
export function sessionDigest(secret: string): string {
  return createHash("sha256").update(secret).digest("base64url");
}

/** True when `secret` is the one whose digest a hold's node stores (constant time). */
export function sessionMatches(secret: string, digest: string): boolean {
  const want = Buffer.from(digest, "base64url");
  const got = createHash("sha256").update(secret).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}
