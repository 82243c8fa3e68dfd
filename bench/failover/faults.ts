// The faults the cluster bench injects (issue 22's list, plus a graceful handover). Each one
// finds its target, marks the moment of the fault (inject), does it, and undoes it (restart,
// SIGCONT) before it resolves; the bench then watches the consumers until things settle.
import { sleep } from "../../test/harness/entries.js";
import type { Cluster, Service } from "./cluster.js";
import type { Consumer } from "./consumers.js";

export interface FaultContext {
  cluster: Cluster;
  /** Consumer A (streaming) and B (unary). */
  consumers: Consumer[];
  /** 0-based round: gateway faults alternate between A's gateway and B's. */
  round: number;
  random: () => number;
  sessionTimeoutMs: number;
  /** Marks the moment of the fault (t0), just before the signal. */
  inject(what: string): void;
  /** Records a later step (restart, SIGCONT) with its time. */
  act(what: string): void;
}

export interface FaultKind {
  name: string;
  /** As the table of issue 22 says it. */
  title: string;
  /** A graceful handover's goal is 0.5 s; every other fault's is the session timeout + 1 s. */
  graceful?: boolean;
  /** Injects and undoes the fault; resolves with what it hit. */
  run(ctx: FaultContext): Promise<string>;
}

/** The gateway to hit: the one holding consumer A's clientId in even rounds, B's in odd ones. */
async function gatewayTarget(ctx: FaultContext): Promise<{ gateway: Service; note: string }> {
  const { cluster, consumers, round } = ctx;
  const holders = await Promise.all(consumers.map((c) => cluster.holder(c.clientId)));
  const gateway =
    holders[round % consumers.length] ?? (cluster.gateways[round % cluster.gateways.length] as Service);
  const held = consumers.filter((_, i) => holders[i] === gateway).map((c) => c.name);
  return { gateway, note: `${gateway.name} (holds ${held.length ? held.join(" and ") : "no consumer"})` };
}

export const FAULTS: FaultKind[] = [
  {
    name: "server-kill",
    title: "running server SIGKILL",
    async run(ctx) {
      const s = await ctx.cluster.runner();
      ctx.inject(`SIGKILL ${s.name}`);
      await s.process?.kill();
      ctx.act(`start ${s.name} again`);
      await s.start();
      ctx.act(`${s.name} ready`);
      return s.name;
    },
  },
  {
    name: "server-stop",
    title: "running server SIGSTOP past the session",
    async run(ctx) {
      const s = await ctx.cluster.runner();
      ctx.inject(`SIGSTOP ${s.name}`);
      s.process?.pause();
      await sleep(ctx.sessionTimeoutMs + 2000);
      ctx.act(`SIGCONT ${s.name}`);
      s.process?.resume();
      return s.name;
    },
  },
  {
    name: "server-term",
    title: "running server SIGTERM (graceful handover)",
    graceful: true,
    async run(ctx) {
      const s = await ctx.cluster.runner();
      ctx.inject(`SIGTERM ${s.name}`);
      await s.process?.stop(30_000);
      ctx.act(`${s.name} exited; start it again`);
      await s.start();
      ctx.act(`${s.name} ready`);
      return s.name;
    },
  },
  {
    name: "gateway-kill",
    title: "gateway SIGKILL (and restart)",
    async run(ctx) {
      const { gateway: g, note } = await gatewayTarget(ctx);
      ctx.inject(`SIGKILL ${note}`);
      await g.process?.kill();
      ctx.act(`start ${g.name} again`);
      await g.start();
      ctx.act(`${g.name} ready`);
      return note;
    },
  },
  {
    name: "gateway-stop",
    title: "gateway SIGSTOP (6-7 s)",
    async run(ctx) {
      const { gateway: g, note } = await gatewayTarget(ctx);
      const ms = Math.round(6000 + ctx.random() * 1000);
      ctx.inject(`SIGSTOP ${note} for ${ms} ms`);
      g.process?.pause();
      await sleep(ms);
      ctx.act(`SIGCONT ${g.name}`);
      g.process?.resume();
      return note;
    },
  },
  {
    name: "zk-leader-kill",
    title: "ZooKeeper leader SIGKILL (and restart)",
    async run(ctx) {
      const leader = await ctx.cluster.zk.leader();
      ctx.inject(`SIGKILL zookeeper-${leader.id} (the leader)`);
      await leader.kill();
      ctx.act(`start zookeeper-${leader.id} again`);
      await leader.restart();
      ctx.act(`zookeeper-${leader.id} serving`);
      return `zookeeper-${leader.id}`;
    },
  },
  {
    name: "mariadb-restart",
    title: "MariaDB restart",
    async run(ctx) {
      ctx.inject("stop MariaDB (SIGTERM)");
      await ctx.cluster.db.restart();
      ctx.act("MariaDB answers again");
      return "mariadbd";
    },
  },
  {
    name: "consumer-kill",
    title: "consumer SIGKILL and restart",
    async run(ctx) {
      ctx.inject("SIGKILL consumers A and B");
      await Promise.all(ctx.consumers.map((c) => c.kill()));
      ctx.act("start consumers A and B again");
      for (const c of ctx.consumers) c.start();
      return "A and B";
    },
  },
];

export const FAULT_NAMES = FAULTS.map((f) => f.name);
