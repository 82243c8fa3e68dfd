// Who a call counts against in the limits (limits.ts): the authenticated principal when there is
// one, else the peer's IP address. The address, not address and port: a client that opens more
// connections must not get more room. IPv6 peers count by their /64, the block one host or
// site is usually given, so that a client cannot step around its limits by changing addresses
// within it. Behind a TCP load balancer every peer is the balancer: authenticate clients there.
import { isIPv4, isIPv6 } from "node:net";
import type { Call } from "../protocol/pipeline.js";
import { PRINCIPAL, type Principal } from "./principal.js";

/** What the limits read of an authenticated principal (principal.ts). */
export type LimitedPrincipal = Pick<Principal, "id" | "via">;

/** The principal the authentication hook set on the call; undefined without authentication. */
export function principalOf(call: Call): LimitedPrincipal | undefined {
  return call.values.get(PRINCIPAL);
}

/** A client of the limits: the key its counters are kept under, and how messages name it. */
export interface LimitClient {
  readonly key: string;
  readonly name: string;
}

/**
 * The client a call counts against; undefined when the call is not limited: a trusted gateway
 * calling a server (the gateway limits its own clients, each by itself).
 */
export function limitClientOf(call: Call, principal = principalOf(call)): LimitClient | undefined {
  if (principal) {
    if (principal.via === "gateway") return undefined;
    return { key: `${principal.via}:${principal.id}`, name: `client ${principal.id}` };
  }
  const ip = peerIp(call.peer.address);
  return { key: `ip:${ip}`, name: `client ${ip}` };
}

/** The IP of an "ip:port" or "[ipv6]:port" address; an IPv6 address as its /64 ("2001:db8:1:2::/64"). */
export function peerIp(address: string): string {
  const bracketed = /^\[(.*)\]:\d+$/.exec(address);
  const ip = bracketed ? (bracketed[1] as string) : address.replace(/:\d+$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(":")}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros ("::1" → 0,0,0,0,0,0,0,1). */
function expandIPv6(ip: string): string[] {
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const left = groups(head);
  const right = groups(tail);
  // An embedded IPv4 tail ("::1.2.3.4") is two groups.
  const last = right.at(-1) ?? left.at(-1);
  const v4 = last?.includes(".") ? 1 : 0;
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length - v4).fill("0");
  return [...left, ...fill, ...right].map((g) => (g.includes(".") ? g : Number.parseInt(g, 16).toString(16)));
}
