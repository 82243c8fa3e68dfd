// Name rules of destinations and clientIds, one copy for server, gateway and clients. Both name
// ZooKeeper nodes of canal's layout (src/common/zk/paths.ts builds its paths from the child
// names below) and files of the standalone cursor store, so they are checked before anything
// is looked up or written: a clientId such as "running" would name the destination's running
// node ({root}/destinations/{d}/running), and "." or ".." a directory.
import { invalidArgument } from "../protocol/errors.js";

/** The child names of canal's ZooKeeper layout, under a destination and under a clientId. */
export const LAYOUT = {
  /** {d}/running: the destination's runner; {d}/{clientId}/running: the clientId's holder. */
  running: "running",
  /** {d}/cluster: servers able to run d (and {root}/cluster: servers alive). */
  cluster: "cluster",
  /** {d}/{clientId}/cursor */
  cursor: "cursor",
  /** {d}/{clientId}/filter */
  filter: "filter",
} as const;

/** Names a clientId may not take: every child name of the layout, and "." and "..". */
export const RESERVED_CLIENT_IDS: ReadonlySet<string> = new Set([".", "..", ...Object.values(LAYOUT)]);

const DESTINATION = /^[A-Za-z0-9_.-]{1,128}$/;
const CLIENT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** Why `destination` is not a valid name (the message of an invalid_argument), or undefined. */
export function destinationProblem(destination: string): string | undefined {
  if (!destination) return "is required";
  if (!DESTINATION.test(destination) || destination === "." || destination === "..") {
    return `must be 1 to 128 letters, digits, "_", "-" or ".", got ${quoted(destination)}`;
  }
  return undefined;
}

/** Why `clientId` is not a valid name (the message of an invalid_argument), or undefined. */
export function clientIdProblem(clientId: string): string | undefined {
  if (!clientId) return "is required";
  if (!CLIENT_ID.test(clientId)) {
    return `must be 1 to 64 letters, digits, "_", "-" or ".", got ${quoted(clientId)}`;
  }
  if (RESERVED_CLIENT_IDS.has(clientId)) {
    return `${JSON.stringify(clientId)} is reserved (canal's ZooKeeper layout uses ${[...RESERVED_CLIENT_IDS]
      .map((n) => JSON.stringify(n))
      .join(", ")}): choose another name`;
  }
  return undefined;
}

/** A name as a message quotes it: whole when it is short, else its start and its length. */
function quoted(name: string): string {
  if (name.length <= 140) return JSON.stringify(name);
  return `${JSON.stringify(name.slice(0, 128))}... (${name.length} characters)`;
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
