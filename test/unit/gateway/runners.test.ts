// The gateway's table of runners, against a scripted ZooKeeper: a call that waits for a runner
// is woken by the election itself, whenever during its wait the new running node appears.
import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { silentLogger } from "../../../src/common/log.js";
import { ZkError } from "../../../src/common/zk/client.js";
import { ZkPaths } from "../../../src/common/zk/paths.js";
import { RunnerTable } from "../../../src/gateway/runners.js";
import type { GatewayZk } from "../../../src/gateway/zk-session.js";

const paths = new ZkPaths();
const RUNNING = paths.destinationRunning("example");
const DESTINATION = paths.destination("example");

/** The running node of one destination, its watches, and a destination node whose reads wait. */
class ScriptedZk {
  running: { address: string; czxid: number } | undefined;
  watches: ((event: string) => void)[] = [];
  /** Resolves the pending read of the destination's node. */
  releaseDestinationRead: (() => void) | undefined;

  readonly client = {
    get: async (path: string, watch?: (event: string) => void) => {
      assert.equal(path, RUNNING);
      if (!this.running) throw new ZkError(-101, "no node", "get", path);
      if (watch) this.watches.push(watch);
      const { address, czxid } = this.running;
      return { data: Buffer.from(JSON.stringify({ address })), stat: { czxid } };
    },
    exists: async (path: string, watch?: (event: string) => void) => {
      if (path === DESTINATION) {
        await new Promise<void>((resolve) => {
          this.releaseDestinationRead = resolve;
        });
        return { czxid: 1 };
      }
      assert.equal(path, RUNNING);
      if (watch) this.watches.push(watch);
      return this.running ? { czxid: this.running.czxid } : undefined;
    },
  };

  /** Sets the running node (undefined: deleted) and fires the watches set on it. */
  change(running: { address: string; czxid: number } | undefined): void {
    this.running = running;
    const fire = this.watches;
    this.watches = [];
    for (const w of fire) w(running ? "created" : "deleted");
  }

  asGatewayZk(): GatewayZk {
    return { client: this.client, onRenewed: () => () => {} } as unknown as GatewayZk;
  }
}

/** Lets pending promise callbacks and I/O turns run (timers are mocked: they never fire). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

test("a call waiting for a runner is woken by an election that happens while it reads ZooKeeper", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const zk = new ScriptedZk();
    zk.running = { address: "127.0.0.1:1001", czxid: 10 };
    const table = new RunnerTable(zk.asGatewayZk(), paths, 60_000, silentLogger);
    assert.equal((await table.route("example")).address, "127.0.0.1:1001");

    zk.change(undefined); // the runner's session expired: election in progress
    await settle();
    assert.equal(table.current("example"), undefined);

    let routed: string | undefined;
    void table.route("example").then((r) => {
      routed = `${r.address}@${r.epoch}`;
    });
    await settle();
    assert.ok(zk.releaseDestinationRead, "the call checks that the destination exists");
    // The standby wins while that read is in flight, then the read answers.
    zk.change({ address: "127.0.0.1:1002", czxid: 20 });
    await settle();
    zk.releaseDestinationRead?.();
    await settle();
    // No timer has fired: the call was woken by the change, not by a periodic re-check.
    assert.equal(routed, "127.0.0.1:1002@20");
  } finally {
    mock.timers.reset();
  }
});
