// Errors the client layer raises itself (the server's errors arrive as ConnectError).

/**
 * The batch belongs to a subscription that has ended (failover, lost session, a reconnect):
 * the server gives its entries again on the new subscription, so it must not be acked.
 */
export class StaleBatchError extends Error {
  readonly batchId: string;
  constructor(batchId: string, why: string) {
    super(`batch "${batchId}" cannot be acked: ${why}; its entries are delivered again`);
    this.name = "StaleBatchError";
    this.batchId = batchId;
  }
}

/** Batches are acked in order, oldest first (canal's rule); the client checks it before asking. */
export class AckOrderError extends Error {
  constructor(batchId: string, oldest: string) {
    super(`cannot ack batch "${batchId}" before batch "${oldest}": batches are acked oldest first`);
    this.name = "AckOrderError";
  }
}
