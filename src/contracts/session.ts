// The session token of a hold on a clientId, made and read in one place: a server makes it
// for the holds of a standalone consumer, a gateway for the holds it keeps in ZooKeeper, and
// any gateway checks a token it did not make. Its format is "<epoch>.<clientId>", the epoch
// being the hold's fencing token (the czxid of the clientId's running node, or the
// destination's epoch on a server). Opaque to clients: they pass it back as they got it.

/** The session token of the hold of `clientId` under `epoch`. */
export function makeSession(epoch: bigint, clientId: string): string {
  return `${epoch}.${clientId}`;
}

/** The epoch of a token made for `clientId`, or undefined when it is not one. */
export function sessionEpoch(token: string, clientId: string): bigint | undefined {
  const m = /^(\d{1,20})\.(.+)$/.exec(token);
  if (!m || m[2] !== clientId) return undefined;
  return BigInt(m[1] as string);
}
