// Bearer tokens from a file of scrypt-hashed secrets. A token is "<name>.<secret>": the name
// finds its line, the secret is checked against the line's scrypt hash (node:crypto), compared
// in constant time. The file holds no secret: only names, hashes and scopes.
//
// The file, one token a line ("#" starts a comment):
//   NAME  scrypt$N$r$p$SALT$HASH  [SCOPE,SCOPE,...]
// e.g.  orders-app  scrypt$16384$8$1$3q2+...$h5Jk...  read:orders,read:shop/team-a-*
// `sluice token create NAME` makes a token and its line (src/cli/token-command.ts).
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { fileProblem, SecurityConfigError } from "./errors.js";
import type { Principal } from "./principal.js";
import { parseScope } from "./scopes.js";

const scryptAsync = promisify(scrypt) as (
  secret: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** scrypt's cost for new tokens: 16 MiB and a few tens of ms once per token and process (results are cached). */
export const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Random bytes of a new token's secret (256 bits). */
const SECRET_BYTES = 32;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface TokenEntry {
  name: string;
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
  /** The token's scopes; undefined: none given (the policy file decides). */
  scopes: readonly string[] | undefined;
}

/** Why a token name cannot be used, or undefined. */
export function tokenNameProblem(name: string): string | undefined {
  return NAME.test(name)
    ? undefined
    : `must be 1 to 64 letters, digits, "_" or "-", got ${JSON.stringify(name)}`;
}

/** Reads and checks a token file; errors name the file and the line. */
export function readTokenFile(file: string): Map<string, TokenEntry> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw fileProblem(file, err);
  }
  return parseTokenFile(text, file);
}

export function parseTokenFile(text: string, file: string): Map<string, TokenEntry> {
  const entries = new Map<string, TokenEntry>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const at = `${file}:${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length < 2 || parts.length > 3) {
      problems.push(
        `${at}: must be "NAME scrypt$N$r$p$SALT$HASH [SCOPE,...]" (sluice token create NAME makes one)`,
      );
      return;
    }
    const [name, hashText, scopeText] = parts as [string, string, string | undefined];
    const nameProblem = tokenNameProblem(name);
    if (nameProblem) {
      problems.push(`${at}: the name ${nameProblem}`);
      return;
    }
    if (entries.has(name)) {
      problems.push(
        `${at}: the name ${JSON.stringify(name)} is also on an earlier line; names must be unique`,
      );
      return;
    }
    const hash = parseHash(hashText);
    if (typeof hash === "string") {
      problems.push(`${at}: ${hash}`);
      return;
    }
    let scopes: string[] | undefined;
    if (scopeText !== undefined) {
      scopes = scopeText.split(",").filter((s) => s !== "");
      const bad = scopes.map(parseScope).filter((g) => typeof g === "string");
      if (bad.length > 0) {
        problems.push(`${at}: ${bad[0]}`);
        return;
      }
    }
    entries.set(name, { name, ...hash, scopes });
  });
  if (problems.length > 0) throw new SecurityConfigError(problems.join("\n"));
  return entries;
}

function parseHash(text: string): Omit<TokenEntry, "name" | "scopes"> | string {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=_-]+)\$([A-Za-z0-9+/=_-]+)$/.exec(text);
  if (!m) return "the hash must be scrypt$N$r$p$SALT$HASH (sluice token create makes it)";
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounded so that a line cannot make every check of its token take seconds or gigabytes.
  if (
    N < 2 ||
    N > 2 ** 20 ||
    (N & (N - 1)) !== 0 ||
    r < 1 ||
    r > 32 ||
    p < 1 ||
    p > 16 ||
    128 * N * r > 2 ** 28
  ) {
    return "the hash's scrypt parameters must be N a power of 2 up to 2^20, r 1..32, p 1..16, 128*N*r at most 256 MiB";
  }
  const salt = Buffer.from(m[4] as string, "base64");
  const hash = Buffer.from(m[5] as string, "base64");
  if (salt.length < 8 || hash.length < 16) return "the hash's salt or hash is too short";
  return { N, r, p, salt, hash };
}

/** A new token and its file line. The token is shown once; the file keeps only its hash. */
export async function createToken(
  name: string,
  scopes: readonly string[] = [],
): Promise<{ token: string; line: string }> {
  const problem = tokenNameProblem(name);
  if (problem) throw new SecurityConfigError(`name: ${problem}`);
  for (const s of scopes) {
    const g = parseScope(s);
    if (typeof g === "string") throw new SecurityConfigError(g);
  }
  const secret = randomBytes(SECRET_BYTES).toString("base64url");
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, { ...SCRYPT, salt });
  const hashText = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
  return {
    token: `${name}.${secret}`,
    line: `${name} ${hashText}${scopes.length > 0 ? ` ${scopes.join(",")}` : ""}`,
  };
}

/** The name part of a bearer token that looks like one of ours ("<name>.<secret>"), else undefined. */
export function tokenName(token: string): string | undefined {
  const dot = token.indexOf(".");
  if (dot <= 0 || token.indexOf(".", dot + 1) >= 0) return undefined;
  const name = token.slice(0, dot);
  return NAME.test(name) ? name : undefined;
}

/**
 * The principal of a token, or undefined when the file has no such token. The secret is
 * hashed with the entry's salt and compared in constant time.
 */
export async function verifyToken(
  entries: ReadonlyMap<string, TokenEntry>,
  token: string,
): Promise<Principal | undefined> {
  const name = tokenName(token);
  const entry = name === undefined ? undefined : entries.get(name);
  if (entry === undefined) return undefined;
  const secret = token.slice((name as string).length + 1);
  const got = await derive(secret, entry);
  if (got.length !== entry.hash.length || !timingSafeEqual(got, entry.hash)) return undefined;
  return { id: entry.name, via: "token", ...(entry.scopes ? { scopes: entry.scopes } : {}) };
}

function derive(
  secret: string,
  e: { N: number; r: number; p: number; salt: Buffer; hash?: Buffer },
): Promise<Buffer> {
  const keylen = e.hash?.length ?? KEY_BYTES;
  return scryptAsync(secret, e.salt, keylen, { N: e.N, r: e.r, p: e.p, maxmem: 256 * e.N * e.r + 2 ** 20 });
}
