// canal's ZooKeeper layout (see docs/design.md, "ZooKeeper layout"), under a configurable root.
// Paths are built here and nowhere else so that server, gateway and tools agree. The child
// names under a destination and a clientId come from the name rules (src/contracts/names.ts),
// which keep clientIds from taking them.
import { LAYOUT } from "../../contracts/names.js";

export const DEFAULT_ROOT = "/otter/canal";

export class ZkPaths {
  constructor(readonly root: string = DEFAULT_ROOT) {
    if (!root.startsWith("/") || root.endsWith("/")) {
      throw new Error(`zookeeper root must start with "/" and not end with it, got "${root}"`);
    }
  }
  /** Ephemeral: a server is alive. */
  server(address: string): string {
    return `${this.cluster()}/${address}`;
  }
  cluster(): string {
    return `${this.root}/${LAYOUT.cluster}`;
  }
  destinations(): string {
    return `${this.root}/destinations`;
  }
  destination(d: string): string {
    return `${this.root}/destinations/${d}`;
  }
  /** Ephemeral: the server running destination d, canal's {"active":true,"address":...,"cid":N}. */
  destinationRunning(d: string): string {
    return `${this.destination(d)}/${LAYOUT.running}`;
  }
  /** Ephemeral children: servers able to run d. */
  destinationCluster(d: string): string {
    return `${this.destination(d)}/${LAYOUT.cluster}`;
  }
  client(d: string, clientId: string): string {
    return `${this.destination(d)}/${clientId}`;
  }
  /** Ephemeral: the consumer holding clientId. */
  clientRunning(d: string, clientId: string): string {
    return `${this.client(d, clientId)}/${LAYOUT.running}`;
  }
  /** Persistent: canal's LogPosition JSON. */
  clientCursor(d: string, clientId: string): string {
    return `${this.client(d, clientId)}/${LAYOUT.cursor}`;
  }
  /** Persistent: the parent of sluice's own nodes, which canal's tools never read. */
  sluiceTree(): string {
    return `${this.root}/sluice`;
  }
  /**
   * Ephemeral, sluice's own (outside canal's trees, so canal's tools never see it): a runner
   * handing destination d over writes {"from","to","at"} here before it lets go, so that the
   * named server (or anyone but the old runner) takes it.
   */
  handoff(d: string): string {
    return `${this.sluiceTree()}/handoff/${d}`;
  }
  /**
   * Persistent, sluice's own: {"epoch":"N","events":[...]}, the binlog events an operator chose
   * to pass over in destination d (AdminService.SkipEvent), so that every runner does.
   */
  skippedEvents(d: string): string {
    return `${this.sluiceTree()}/skipped-events/${d}`;
  }
  /**
   * Persistent, sluice's own: {"from","at","clients"}, the record that canal's file-mode
   * cursors (meta.dat) were imported into destination d, so that they are imported once.
   */
  canalImport(d: string): string {
    return `${this.sluiceTree()}/canal-import/${d}`;
  }
  /** Persistent: the clientId's filter string. */
  clientFilter(d: string, clientId: string): string {
    return `${this.client(d, clientId)}/${LAYOUT.filter}`;
  }
}
