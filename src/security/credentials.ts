// The credentials a request carries in its Authorization header: a bearer token (one of ours
// or a JWT) or HTTP Basic user and password (canal's users).

export type Credentials =
  | { kind: "bearer"; token: string }
  | { kind: "basic"; user: string; password: string }
  | { kind: "malformed" };

/** The header's credentials; undefined when there is no header. */
export function credentialsOf(authorization: string | undefined): Credentials | undefined {
  if (authorization === undefined) return undefined;
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(authorization);
  if (!m) return { kind: "malformed" };
  const scheme = (m[1] as string).toLowerCase();
  const value = m[2] as string;
  if (scheme === "bearer") return { kind: "bearer", token: value };
  if (scheme === "basic") {
    const text = Buffer.from(value, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon <= 0) return { kind: "malformed" };
    return { kind: "basic", user: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  return { kind: "malformed" };
}

/** True when a bearer token has a JWT's shape (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
