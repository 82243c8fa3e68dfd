// Consumer fencing on the server: the highest hold epoch seen for each (destination,
// clientId), from the `sluice-client-epoch` header gateways send. A call with an older epoch
// comes from a consumer that lost its hold (a zombie): refused. The first call with a newer
// epoch gives back every outstanding batch of that clientId, so that what the old holder was
// given is delivered again to the new one and can never be acked by the old one.
// Calls without the header (a client talking to the server directly) are not fenced.
// The header is checked, and each call admitted, by the fencing hook (client-fencing.ts).
import { Code, ConnectError, createContextKey } from "@connectrpc/connect";

/** The epoch of the call's hold, when a gateway sent one (set by the fencing hook). */
export const clientEpochKey = createContextKey<bigint | undefined>(undefined, {
  description: "sluice: the epoch of the caller's hold",
});

export class ClientEpochs {
  readonly #highest = new Map<string, bigint>();

  highest(destination: string, clientId: string): bigint | undefined {
    return this.#highest.get(key(destination, clientId));
  }

  /**
   * Records the call's epoch. Returns true when it is newer than any seen before for this
   * clientId and another was seen (the caller must then give back the outstanding batches);
   * throws failed_precondition when it is older than the newest.
   */
  admit(destination: string, clientId: string, epoch: bigint): boolean {
    const k = key(destination, clientId);
    const prev = this.#highest.get(k);
    if (prev !== undefined && epoch < prev) throw superseded(destination, clientId, epoch);
    if (prev === epoch) return false;
    this.#highest.set(k, epoch);
    return prev !== undefined;
  }

  /** Throws failed_precondition when a newer epoch than `epoch` was seen. */
  check(destination: string, clientId: string, epoch: bigint | undefined): void {
    if (epoch === undefined) return;
    const prev = this.#highest.get(key(destination, clientId));
    if (prev !== undefined && epoch < prev) throw superseded(destination, clientId, epoch);
  }
}

function superseded(destination: string, clientId: string, epoch: bigint): ConnectError {
  return new ConnectError(
    // The newer holder's epoch is not said: no answer tells one caller another's epoch.
    `client ${clientId} of destination ${destination} has a newer holder than this call's ` +
      `(epoch ${epoch}): this consumer lost its hold; subscribe again`,
    Code.FailedPrecondition,
  );
}

function key(destination: string, clientId: string): string {
  return `${destination}\u0000${clientId}`;
}
