// The consumer fencing header: a gateway sends the epoch (czxid) of the consumer's hold of a
// clientId ({root}/destinations/{d}/{clientId}/running) with every call it relays to a
// server; the server refuses older epochs for that clientId (see docs/api.md, "Fencing").
import { invalidArgument } from "../protocol/errors.js";

/** Request header, a decimal integer: the epoch of the caller's hold of the request's clientId. */
export const CLIENT_EPOCH_HEADER = "sluice-client-epoch";

/** The header's value for a hold's epoch. */
export function formatClientEpoch(epoch: bigint): string {
  return epoch.toString();
}

/** The epoch the header carries; invalid_argument naming the header when it is not one. */
export function parseClientEpoch(raw: string): bigint {
  const v = raw.trim();
  if (!/^\d{1,20}$/.test(v)) {
    throw invalidArgument(CLIENT_EPOCH_HEADER, `must be a decimal epoch, got ${JSON.stringify(raw)}`);
  }
  return BigInt(v);
}
