// canal's username and password (canal.properties: canal.user, canal.passwd), for canal's users
// moving to Sluice. canal.passwd is not the password but its MySQL-style hash, the hex of
// SHA1(SHA1(password)) (canal's SecurityUtil.scrambleGenPass): the file can keep it as canal did.
// Over Sluice's API the client sends user and password with HTTP Basic authentication
// (`Authorization: Basic base64(user:password)`); the gateway or server hashes the password
// and compares in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Principal } from "./principal.js";

export interface CanalUserSettings {
  user: string;
  /** canal.passwd: 40 hex digits, SHA1(SHA1(password)). */
  passwd: string;
}

/** Why a canal.passwd value cannot be used, or undefined. */
export function canalPasswdProblem(passwd: string): string | undefined {
  return /^\*?[0-9A-Fa-f]{40}$/.test(passwd)
    ? undefined
    : "must be canal's canal.passwd: 40 hex digits, SHA1(SHA1(password)) (docs/security.md says how to make it)";
}

/** canal.passwd of a password: what canal's scrambleGenPass gives. */
export function canalPasswd(password: string): string {
  const once = createHash("sha1").update(password, "utf8").digest();
  return createHash("sha1").update(once).digest("hex").toUpperCase();
}

export class CanalUser {
  readonly #user: Buffer;
  readonly #hash: Buffer;

  constructor(settings: CanalUserSettings) {
    this.#user = Buffer.from(settings.user, "utf8");
    this.#hash = Buffer.from(settings.passwd.replace(/^\*/, ""), "hex");
  }

  /** The principal when user and password are canal's user's, else undefined. */
  verify(user: string, password: string): Principal | undefined {
    const u = Buffer.from(user, "utf8");
    const sameUser = u.length === this.#user.length && timingSafeEqual(u, this.#user);
    const hash = Buffer.from(canalPasswd(password), "hex");
    const samePassword = timingSafeEqual(hash, this.#hash);
    return sameUser && samePassword ? { id: user, via: "canal" } : undefined;
  }
}
