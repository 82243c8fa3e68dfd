// ZooKeeper digest credentials and the ACL Sluice puts on the nodes it creates (see
// docs/security.md, "ZooKeeper").
//
// One identity for every Sluice process (servers and gateways share the credentials): each
// node gives that identity every permission. canal's own layout (cluster, destinations,
// running nodes, cursors, filters) stays readable by anyone, so canal's tools and a plain
// `zkCli.sh get` keep working; only Sluice's own tree ({root}/sluice: handoffs, skipped events)
// is closed to reading as well. Writing, creating and deleting (a child's deletion is governed
// by its parent's ACL) take the credentials everywhere.
import { createHash } from "node:crypto";
import type { ZkPaths } from "./paths.js";

/** A digest user and password (ZooKeeper's `addauth digest user:password`). */
export interface ZkCredentials {
  user: string;
  password: string;
}

/** ZooKeeper's permission bits. */
export const ZK_PERM = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/** One entry of a node's ACL, as the `zookeeper` package spells it. */
export interface ZkAclEntry {
  perms: number;
  scheme: string;
  /** "anyone" for world, "user:base64(sha1(user:password))" for digest. */
  auth: string;
}

/** The ACL a node at `path` is created with. */
export type ZkAclPolicy = (path: string) => readonly ZkAclEntry[];

/** Everyone may read (world:anyone, r). */
export const WORLD_READ: ZkAclEntry = { perms: ZK_PERM.READ, scheme: "world", auth: "anyone" };
/** ZooKeeper's default, what a node created without credentials carries (world:anyone, cdrwa). */
export const WORLD_ALL: ZkAclEntry = { perms: ZK_PERM.ALL, scheme: "world", auth: "anyone" };

/**
 * The digest id ZooKeeper derives from credentials: "user:" and the base64 SHA-1 of
 * "user:password" (DigestAuthenticationProvider.generateDigest). It is what an ACL names;
 * it is still a hash of the password, so it is never logged either.
 */
export function digestId(c: ZkCredentials): string {
  return `${c.user}:${createHash("sha1").update(`${c.user}:${c.password}`, "utf8").digest("base64")}`;
}

/** The problem with credentials, or undefined when ZooKeeper can take them. */
export function credentialsProblem(c: ZkCredentials): string | undefined {
  if (c.user === "") return "the ZooKeeper user is empty";
  // addauth parses "user:password" at the first ":".
  if (c.user.includes(":")) return 'the ZooKeeper user must not contain ":"';
  if (c.password === "") return "the ZooKeeper password is empty";
  return undefined;
}

/** Sluice's ACL policy for the tree under `paths.root` (see the top of this file). */
export function sluiceAclPolicy(paths: ZkPaths, c: ZkCredentials): ZkAclPolicy {
  const owner: ZkAclEntry = { perms: ZK_PERM.ALL, scheme: "digest", auth: digestId(c) };
  const canalLayout = [owner, WORLD_READ] as const;
  const ownOnly = [owner] as const;
  const own = paths.sluiceTree();
  return (path) => (path === own || path.startsWith(`${own}/`) ? ownOnly : canalLayout);
}

/** True when two ACLs hold the same entries, in any order. */
export function sameAcl(a: readonly ZkAclEntry[], b: readonly ZkAclEntry[]): boolean {
  const key = (e: ZkAclEntry) => `${e.scheme}:${e.auth}:${e.perms}`;
  const as = a.map(key).sort();
  const bs = b.map(key).sort();
  return as.length === bs.length && as.every((k, i) => k === bs[i]);
}

/** An ACL for people: "world:anyone:r, digest:sluice:cdrwa"; a digest's hash is left out. */
export function describeAcl(acl: readonly ZkAclEntry[]): string {
  const letters = (p: number) =>
    [
      [ZK_PERM.CREATE, "c"],
      [ZK_PERM.DELETE, "d"],
      [ZK_PERM.READ, "r"],
      [ZK_PERM.WRITE, "w"],
      [ZK_PERM.ADMIN, "a"],
    ]
      .filter(([bit]) => (p & (bit as number)) !== 0)
      .map(([, l]) => l)
      .join("");
  return acl
    .map((e) => {
      const who = e.scheme === "digest" ? e.auth.slice(0, e.auth.indexOf(":")) : e.auth;
      return `${e.scheme}:${who}:${letters(e.perms) || "-"}`;
    })
    .join(", ");
}
