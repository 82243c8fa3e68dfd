// The authentication hook: who a call comes from, from its credentials (a bearer token, a JWT,
// canal's user with HTTP Basic, a verified client certificate; on a server also a gateway's
// proof). It sets PRINCIPAL for the hooks after it and the handler. No credentials, or
// credentials that are not accepted: unauthenticated, saying what to send and never which part
// of a credential was wrong (a JWT says only why it was refused: expired, not yet valid, ...).
//
// Checking a token costs scrypt (tens of ms) and a JWT a signature check, so each accepted
// credential is remembered (by its SHA-256, never in clear) until its file changes or the JWT
// expires, and so is each refused one for a while: a call with a known credential costs a hash
// and a map lookup, and a client retrying a wrong token does not make the process hash it again.
import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { unauthenticated } from "../protocol/errors.js";
import type { Call, CallHook } from "../protocol/pipeline.js";
import { needOf } from "./actions.js";
import type { CanalUser } from "./canal-user.js";
import { credentialsOf, looksLikeJwt } from "./credentials.js";
import type { GatewayTrust } from "./gateway-trust.js";
import { verifiedSubject } from "./gateway-trust.js";
import { JwtRejected, type JwtVerifier } from "./jwt.js";
import { PRINCIPAL, type Principal } from "./principal.js";
import { type TokenEntry, verifyToken } from "./tokens.js";

/** Credentials remembered, accepted and refused (each map). */
const CACHE_ENTRIES = 10_000;
/** How long a refused credential is answered from memory. */
const REFUSED_MS = 60_000;

export interface AuthenticatorParts {
  tokens?: { readonly current: ReadonlyMap<string, TokenEntry> } | undefined;
  jwt?: JwtVerifier | undefined;
  canal?: CanalUser | undefined;
  /** A verified client certificate's subject CN is a principal. */
  certificates: boolean;
  /** Server: its gateways. */
  gateways?: GatewayTrust | undefined;
  /** Health checks need no credentials. */
  openHealth: boolean;
}

interface Remembered {
  principal: Principal | undefined;
  /** ms; after this the credential is checked again. */
  until: number;
}

export class Authenticator {
  readonly #cache = new Map<string, Remembered>();

  constructor(private readonly parts: AuthenticatorParts) {}

  /** Forgets every remembered credential (a token file changed). */
  forget(): void {
    this.#cache.clear();
  }

  /** The call's principal; throws (or rejects with) unauthenticated. */
  principalOf(call: Call): Principal | Promise<Principal> {
    const gateways = this.parts.gateways;
    if (gateways !== undefined) {
      const g = gateways.check(call);
      if (g === "gateway") return gateways.principal(call);
      if (g === "bad proof") throw unauthenticated("the sluice-gateway header was not accepted");
    }
    const credentials = credentialsOf(call.header("authorization"));
    if (credentials === undefined) {
      const cn = this.parts.certificates ? verifiedSubject(call) : undefined;
      if (cn !== undefined) return { id: cn, via: "certificate" };
      throw unauthenticated(this.#whatToSend());
    }
    if (credentials.kind === "malformed") {
      throw unauthenticated(
        'the authorization header must be "Bearer <token>" or "Basic <base64 of user:password>"',
      );
    }
    if (credentials.kind === "basic") {
      const canal = this.parts.canal;
      const p = canal?.verify(credentials.user, credentials.password);
      if (p === undefined) throw unauthenticated("the user name or password was not accepted");
      return p;
    }
    return this.#bearer(credentials.token);
  }

  #bearer(token: string): Principal | Promise<Principal> {
    const key = createHash("sha256").update(token).digest("base64");
    const known = this.#cache.get(key);
    if (known !== undefined && known.until > Date.now()) {
      if (known.principal === undefined) throw unauthenticated("the bearer token was not accepted");
      return known.principal;
    }
    const jwt = this.parts.jwt;
    if (jwt !== undefined && looksLikeJwt(token)) {
      return jwt.verify(token).then(
        ({ principal, expiresAt }) => {
          this.#remember(key, principal, expiresAt);
          return principal;
        },
        (err: unknown) => {
          if (err instanceof JwtRejected) throw unauthenticated(`the JWT was not accepted: ${err.message}`);
          throw err;
        },
      );
    }
    const tokens = this.parts.tokens;
    if (tokens === undefined) throw unauthenticated("the bearer token was not accepted");
    return verifyToken(tokens.current, token).then((principal) => {
      this.#remember(
        key,
        principal,
        principal === undefined ? Date.now() + REFUSED_MS : Number.POSITIVE_INFINITY,
      );
      if (principal === undefined) throw unauthenticated("the bearer token was not accepted");
      return principal;
    });
  }

  #remember(key: string, principal: Principal | undefined, until: number): void {
    if (this.#cache.size >= CACHE_ENTRIES) {
      // Drop the oldest entry (a Map iterates in insertion order).
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
    this.#cache.set(key, { principal, until });
  }

  #whatToSend(): string {
    const ways: string[] = [];
    if (this.parts.tokens !== undefined || this.parts.jwt !== undefined) {
      ways.push(
        `"authorization: Bearer <${this.parts.jwt ? (this.parts.tokens ? "token or JWT" : "JWT") : "token"}>"`,
      );
    }
    if (this.parts.canal !== undefined) ways.push("canal's user and password with HTTP Basic authentication");
    if (this.parts.certificates) ways.push("a client certificate");
    if (this.parts.gateways !== undefined && ways.length === 0) {
      return "this server accepts calls from sluice gateways only: connect through a gateway";
    }
    return `credentials are required: send ${ways.join(", or ")}`;
  }
}

/** The hook: sets PRINCIPAL, or refuses the call. */
export function authenticateHook(auth: Authenticator, openHealth: boolean): CallHook {
  return {
    name: "authentication",
    start(call) {
      if (openHealth && needOf(call) === "health") return;
      let got: Principal | Promise<Principal>;
      try {
        got = auth.principalOf(call);
      } catch (err) {
        throw asUnauthenticated(err);
      }
      if (got instanceof Promise) {
        return got.then(
          (p) => {
            call.values.set(PRINCIPAL, p);
          },
          (err: unknown) => {
            throw asUnauthenticated(err);
          },
        );
      }
      call.values.set(PRINCIPAL, got);
    },
  };
}

/** A failure to check credentials is the caller's unauthenticated only when it is one. */
function asUnauthenticated(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  return new ConnectError(`credentials could not be checked: ${String(err)}`, Code.Internal);
}
