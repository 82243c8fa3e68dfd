// The startup check of a process with ZooKeeper credentials: one warning naming the nodes
// under the root that lack Sluice's ACL (made before credentials were configured, or by a
// process without them), and the command that sets it. It never changes them by itself: a
// process still running without credentials would lose write access mid-flight.
import type { Logger } from "../log.js";
import type { ZkAclPolicy, ZkCredentials } from "./acl.js";
import { auditAcl, describeFinding } from "./acl-audit.js";
import type { ZkClient } from "./client.js";

/** How many nodes the warning names; the rest are counted. */
const LISTED = 10;

export async function warnOfAclFindings(
  zk: ZkClient,
  root: string,
  policy: ZkAclPolicy,
  credentials: ZkCredentials,
  log: Logger,
): Promise<void> {
  try {
    const { checked, findings } = await auditAcl(zk, root, policy);
    if (findings.length === 0) {
      log.info("every node under the root carries Sluice's ACL", { root, nodes: checked });
      return;
    }
    const listed = findings.slice(0, LISTED).map((f) => describeFinding(f, credentials));
    const more = findings.length > LISTED ? ` and ${findings.length - LISTED} more` : "";
    log.warn(
      `${findings.length} of ${checked} ZooKeeper nodes under ${root} lack Sluice's ACL, so processes ` +
        `without the credentials can change them: ${listed.join(", ")}${more}. Once every sluice ` +
        "process runs with the credentials, set it with `sluice zk-acl --apply` (same --zk, --zk-root " +
        "and credentials; docs/security.md)",
      { root, nodes: checked, withoutAcl: findings.length },
    );
  } catch (err) {
    log.warn("could not check the ACLs of the nodes under the root", { root, error: (err as Error).message });
  }
}
