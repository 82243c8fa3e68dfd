// How a server knows a call comes from a sluice gateway, and whom the gateway authenticated.
// A contract between gateway and server, both of which import it.
//
// - The gateway's proof: the `sluice-gateway` header carries HMAC-SHA256(secret, label) of the
//   secret both read from a file (the secret itself never travels), compared in constant time;
//   or the gateway's TLS client certificate, verified, its subject CN matching the server's list.
// - The principal: `sluice-principal: <via>:<id>` (the id URI-encoded), believed only on a call
//   that proved it comes from a gateway. Gateways never pass a client's own headers on, so a
//   client cannot send either header through one.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Call } from "../protocol/pipeline.js";
import { namePattern } from "./patterns.js";
import type { Principal } from "./principal.js";

export const GATEWAY_HEADER = "sluice-gateway";
export const PRINCIPAL_HEADER = "sluice-principal";

/** The proof a gateway holding `secret` sends. */
export function gatewayProof(secret: string): string {
  return createHmac("sha256", secret).update("sluice gateway v1").digest("base64url");
}

/** The header value naming a principal. */
export function formatForwardedPrincipal(p: Principal): string {
  return `${p.via}:${encodeURIComponent(p.id)}`;
}

/** "token:alice" from the header, or undefined when it is not one. */
export function parseForwardedPrincipal(text: string): string | undefined {
  const m = /^(token|jwt|canal|certificate):([^\s]{1,1024})$/.exec(text);
  if (!m) return undefined;
  try {
    return `${m[1]}:${decodeURIComponent(m[2] as string)}`;
  } catch {
    return undefined;
  }
}

/** A server's list of its gateways. */
export class GatewayTrust {
  readonly #proof: Buffer | undefined;
  readonly #subjects: ((cn: string) => boolean)[];

  constructor(secret: string | undefined, subjects: readonly string[] = []) {
    this.#proof = secret === undefined ? undefined : Buffer.from(gatewayProof(secret));
    this.#subjects = subjects.map(namePattern);
  }

  /**
   * "gateway": the call proved it comes from a gateway; "bad proof": it sent a proof that is
   * not right (refused, never taken for another caller); undefined: it does not claim to.
   */
  check(call: Call): "gateway" | "bad proof" | undefined {
    const proof = call.header(GATEWAY_HEADER);
    if (proof !== undefined) {
      const got = Buffer.from(proof);
      const want = this.#proof;
      return want !== undefined && got.length === want.length && timingSafeEqual(got, want)
        ? "gateway"
        : "bad proof";
    }
    const cn = verifiedSubject(call);
    if (cn !== undefined && this.#subjects.some((m) => m(cn))) return "gateway";
    return undefined;
  }

  /** The principal of a gateway's call: whom it authenticated, or the gateway itself. */
  principal(call: Call): Principal {
    const forwarded = call.header(PRINCIPAL_HEADER);
    const id = forwarded === undefined ? undefined : parseForwardedPrincipal(forwarded);
    return { id: id ?? "gateway", via: "gateway" };
  }
}

/** The subject CN of the call's TLS client certificate when TLS verified it; else undefined. */
export function verifiedSubject(call: Call): string | undefined {
  const peer = call.peer;
  if (!peer.certificate || !peer.authorized) return undefined;
  const cn = peer.certificate.subject?.CN;
  const first = Array.isArray(cn) ? cn[0] : cn;
  return typeof first === "string" && first !== "" ? first : undefined;
}
