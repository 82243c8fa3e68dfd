// Nodes under the root whose ACL is not the one Sluice gives (acl.ts): what a tree made before
// credentials were configured (an upgrade) or by a process without them looks like. Servers
// list them once at startup; `sluice zk-acl --apply` sets the ACL on them.
import {
  describeAcl,
  digestId,
  sameAcl,
  ZK_PERM,
  type ZkAclEntry,
  type ZkAclPolicy,
  type ZkCredentials,
} from "./acl.js";
import { type ZkClient, ZkError } from "./client.js";

export interface AclFinding {
  path: string;
  /** The node's ACL now; empty when it could not be read. */
  acl: ZkAclEntry[];
  /** "open": anyone may change it (ZooKeeper's default); "other": some other ACL. */
  kind: "open" | "other" | "unreadable";
}

export interface AclAudit {
  /** Nodes looked at. */
  checked: number;
  findings: AclFinding[];
}

/** Walks the tree under `root` (root included) and returns the nodes whose ACL is not `policy`'s. */
export async function auditAcl(zk: ZkClient, root: string, policy: ZkAclPolicy): Promise<AclAudit> {
  const findings: AclFinding[] = [];
  let checked = 0;
  const visit = async (path: string): Promise<string[]> => {
    let acl: ZkAclEntry[];
    let children: string[];
    try {
      [{ acl }, children] = await Promise.all([zk.getAcl(path), zk.children(path)]);
    } catch (err) {
      if (err instanceof ZkError && err.code === "NONODE") return []; // an ephemeral node went
      if (!(err instanceof ZkError && err.code === "NOAUTH")) throw err;
      checked++;
      findings.push({ path, acl: [], kind: "unreadable" });
      return [];
    }
    checked++;
    if (!sameAcl(acl, policy(path))) {
      const open = acl.some((e) => e.scheme === "world" && e.perms !== ZK_PERM.READ);
      findings.push({ path, acl, kind: open ? "open" : "other" });
    }
    return children.map((c) => `${path === "/" ? "" : path}/${c}`);
  };
  // A few requests in flight at once: trees hold thousands of nodes (three per clientId).
  const queue = [root];
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (active < 8 && queue.length > 0) {
        active++;
        visit(queue.shift() as string).then((more) => {
          active--;
          queue.push(...more);
          if (active === 0 && queue.length === 0) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  // A node created while the walk ran is open for one round trip before its creator sets the
  // ACL (client.ts): look at each finding once more.
  const confirmed: AclFinding[] = [];
  for (const f of findings) {
    if (f.kind === "unreadable") {
      confirmed.push(f);
      continue;
    }
    const now = await zk.getAcl(f.path).catch((err) => {
      if (err instanceof ZkError && err.code === "NONODE") return undefined;
      throw err;
    });
    if (now && !sameAcl(now.acl, policy(f.path))) confirmed.push({ ...f, acl: now.acl });
  }
  confirmed.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { checked, findings: confirmed };
}

/** Sets `policy`'s ACL on each finding; returns the paths it could not change, with why. */
export async function applyAcl(
  zk: ZkClient,
  findings: readonly AclFinding[],
  policy: ZkAclPolicy,
): Promise<Array<{ path: string; reason: string }>> {
  const failed: Array<{ path: string; reason: string }> = [];
  for (const f of findings) {
    try {
      await zk.setAcl(f.path, policy(f.path));
    } catch (err) {
      if (err instanceof ZkError && err.code === "NONODE") continue;
      if (err instanceof ZkError && err.code === "NOAUTH") {
        failed.push({ path: f.path, reason: "its ACL does not let these credentials change it (admin)" });
        continue;
      }
      throw err;
    }
  }
  return failed;
}

/** "/a (world:anyone:cdrwa)" for people; digest ids are named by user only, never hash. */
export function describeFinding(f: AclFinding, c: ZkCredentials): string {
  if (f.kind === "unreadable") return `${f.path} (unreadable with these credentials)`;
  const mine = digestId(c);
  const user = `${c.user}:`;
  const others = f.acl.some((e) => e.scheme === "digest" && e.auth.startsWith(user) && e.auth !== mine);
  return `${f.path} (${describeAcl(f.acl)}${others ? `; not this password of user ${c.user}` : ""})`;
}
