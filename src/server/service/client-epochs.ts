// Consumer fencing on the server: the highest hold epoch seen for each (destination,
// clientId), from the `sluice-client-epoch` header gateways send. A call with an older epoch
// comes from a consumer that lost its hold (a zombie): refused. The first call with a newer
// epoch gives back every outstanding batch of that clientId, so that what the old holder was
// given is delivered again to the new one and can never be acked by the old one.
// Calls without the header (a client talking to the server directly) are not fenced.
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CLIENT_EPOCH_HEADER } from "../../contracts/client-epoch.js";

export class ClientEpochs {
  readonly #highest = new Map<string, bigint>();

  /** The call's epoch, or undefined when it has none. invalid_argument when malformed. */
  static of(ctx: HandlerContext): bigint | undefined {
    const raw = ctx.requestHeader.get(CLIENT_EPOCH_HEADER);
    if (raw === null) return undefined;
    if (!/^\d{1,20}$/.test(raw.trim())) {
      throw new ConnectError(
        `${CLIENT_EPOCH_HEADER}: must be a decimal epoch, got ${JSON.stringify(raw)}`,
        Code.InvalidArgument,
      );
    }
    return BigInt(raw.trim());
  }

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
    if (prev !== undefined && epoch < prev) throw superseded(destination, clientId, epoch, prev);
    if (prev === epoch) return false;
    this.#highest.set(k, epoch);
    return prev !== undefined;
  }

  /** Throws failed_precondition when a newer epoch than `epoch` was seen. */
  check(destination: string, clientId: string, epoch: bigint | undefined): void {
    if (epoch === undefined) return;
    const prev = this.#highest.get(key(destination, clientId));
    if (prev !== undefined && epoch < prev) throw superseded(destination, clientId, epoch, prev);
  }
}

function superseded(destination: string, clientId: string, epoch: bigint, newest: bigint): ConnectError {
  return new ConnectError(
    `client ${clientId} of destination ${destination} has a newer holder (epoch ${newest}) than this ` +
      `call's (epoch ${epoch}): this consumer lost its hold; subscribe again`,
    Code.FailedPrecondition,
  );
}

function key(destination: string, clientId: string): string {
  return `${destination}\u0000${clientId}`;
}
