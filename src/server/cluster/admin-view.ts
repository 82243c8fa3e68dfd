// The cluster as the admin service sees it (service/admin-service.ts, ClusterView): which
// servers stand by for a destination, since when this one runs it, handing it over, and who
// holds a clientId. Read from the membership's current session.
import { Code, ConnectError } from "@connectrpc/connect";
import { ZkError } from "../../common/zk/client.js";
import type { ZkPaths } from "../../common/zk/paths.js";
import { notApplied } from "../../contracts/not-applied.js";
import type { ClusterMembership } from "./membership.js";

export class ClusterAdminView {
  constructor(
    private readonly membership: ClusterMembership,
    private readonly paths: ZkPaths,
    private readonly self: () => string,
  ) {}

  /** Live servers able to run the destination, other than this one, sorted. */
  async standbys(name: string): Promise<string[]> {
    const zk = this.membership.zk;
    if (!zk) return [];
    const all = await zk.children(this.paths.destinationCluster(name)).catch(() => []);
    return all.filter((a) => a !== this.self()).sort();
  }

  runningSince(name: string): number | undefined {
    const e = this.membership.election(name);
    return e?.running ? e.runner?.since : undefined;
  }

  async release(name: string, to: string): Promise<void> {
    const e = this.membership.election(name);
    if (!e?.running) {
      throw notApplied(new ConnectError(`destination ${name} is not running here`, Code.Unavailable));
    }
    await e.handOver(to, to ? `released to ${to} by an administrator` : "released by an administrator");
  }

  async holder(name: string, clientId: string): Promise<string | undefined> {
    const zk = this.membership.zk;
    if (!zk) return undefined;
    try {
      const body = JSON.parse((await zk.get(this.paths.clientRunning(name, clientId))).data.toString("utf8"));
      const who = typeof body.address === "string" && body.address ? body.address : "a consumer";
      return typeof body.gateway === "string" && body.gateway ? `${who} via ${body.gateway}` : who;
    } catch (err) {
      if (err instanceof ZkError && err.code === "NONODE") return undefined;
      throw err;
    }
  }
}
