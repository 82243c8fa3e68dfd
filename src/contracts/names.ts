// Name rules of destinations and clientIds, one copy for server, gateway and clients: both
// name ZooKeeper nodes (canal's layout, src/common/zk/paths.ts) and files of the standalone
// cursor store, so they are checked before anything is looked up or written.
import { invalidArgument } from "../protocol/errors.js";

const DESTINATION = /^[A-Za-z0-9_.-]{1,128}$/;
const CLIENT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** Why `destination` is not a valid name (the message of an invalid_argument), or undefined. */
export function destinationProblem(destination: string): string | undefined {
  if (!destination) return "is required";
  if (!DESTINATION.test(destination) || destination === "." || destination === "..") {
    return `must be 1-128 letters, digits, "_", "-" or ".", got ${JSON.stringify(destination)}`;
  }
  return undefined;
}

/** Why `clientId` is not a valid name (the message of an invalid_argument), or undefined. */
export function clientIdProblem(clientId: string): string | undefined {
  if (!clientId) return "is required";
  if (!CLIENT_ID.test(clientId) || clientId === "." || clientId === "..") {
    return `must be 1-64 letters, digits, "_", "-" or ".", got ${JSON.stringify(clientId)}`;
  }
  return undefined;
}

/** invalid_argument naming the field (`destination`) when the name is not valid. */
export function checkDestination(destination: string): void {
  const problem = destinationProblem(destination);
  if (problem !== undefined) throw invalidArgument("destination", problem);
}

/** invalid_argument naming the field (`clientId`) when the name is not valid. */
export function checkClientId(clientId: string): void {
  const problem = clientIdProblem(clientId);
  if (problem !== undefined) throw invalidArgument("clientId", problem);
}

/** Both names of a consumer's call, destination first. */
export function checkNames(destination: string, clientId: string): void {
  checkDestination(destination);
  checkClientId(clientId);
}
