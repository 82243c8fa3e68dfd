// The credentials of sluice's client commands (tail, status, cursor, skip-event): a bearer
// token from SLUICE_TOKEN, or from the file SLUICE_TOKEN_FILE names (docs/security.md).
import { tokenFromEnv } from "../clients/typescript/index.js";
import { UsageError } from "./command.js";

export const CLIENT_TOKEN_HELP =
  "Credentials: a bearer token in SLUICE_TOKEN, or in the file SLUICE_TOKEN_FILE names (docs/security.md).";

/** `{ token }` for createSluiceClient when the environment gives one. */
export function clientToken(env: NodeJS.ProcessEnv = process.env): { token?: string } {
  try {
    const token = tokenFromEnv(env);
    return token === undefined ? {} : { token };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
