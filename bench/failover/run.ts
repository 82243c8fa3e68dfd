// bench/failover: how long consumers stand still when one thing fails (issue 22).
//
//   node dist/bench/failover/run.js [--rounds N] [--faults LIST] [--session-timeout MS]
//        [--regrab-delay MS] [--gateway-session-timeout MS] [--rate ROWS_PER_S] [--tx-rows N]
//        [--check-interval MS] [--no-shutdown-sessions] [--stream-transport grpc|connect]
//        [--batch-size N] [--get-wait MS] [--call-timeout MS] [--log-level LEVEL] [--seed N]
//        [--time-limit S] [--json FILE] [--keep]
//   node dist/bench/failover/run.js --direct ...   (the server-only takeover bench, direct.ts)
//
// Starts, all on 127.0.0.1 and as child processes: the harness's MariaDB, a 3-node ZooKeeper
// ensemble (tickTime 200 ms), three `sluice server --zk` sharing destination "example"
// (--session-timeout T, default 3000; --regrab-delay, default 1000), two `sluice gateway`
// (--gateway-session-timeout, default T) behind haproxy (TCP mode, `option httpchk GET
// /readyz` every --check-interval ms, default 500, down after 2 failures, up after 2
// successes, `on-marked-down shutdown-sessions` unless --no-shutdown-sessions). A writer commits
// --rate rows per second (default 600) in --tx-rows-row transactions (default 30). Two
// consumers, each a child process, go through haproxy: A streams with the TypeScript client
// (client.stream(), --stream-transport grpc (HTTP/2, default) or connect (HTTP/1.1)), B calls
// Subscribe/Get/Ack as HTTP/JSON with fetch (Get waits --get-wait ms, default 500; each call
// has a deadline of that plus --call-timeout ms, default 2000). Both ack every batch.
//
// Then, --rounds times (default 3), each fault of --faults (default all, in this order):
//   server-kill      SIGKILL the running server, start it again at once
//   server-stop      SIGSTOP the running server for T + 2 s, then SIGCONT
//   server-term      SIGTERM the running server (graceful handover), start it again
//   gateway-kill     SIGKILL a gateway, start it again at once
//   gateway-stop     SIGSTOP a gateway for 6-7 s (seeded by --seed), then SIGCONT
//   zk-leader-kill   SIGKILL the ZooKeeper leader, start it again at once
//   mariadb-restart  restart MariaDB (SIGTERM, start again on the same port)
//   consumer-kill    SIGKILL both consumers, start them again at once (B with its saved session)
// Gateway faults hit the gateway holding A's clientId in odd rounds, B's in even ones. Before
// each fault everything is whole again and both consumers receive batches; after it, the bench
// watches until both received batches after the fault was undone and again a session timeout
// later (late effects such as a dead gateway's holds expiring). A fault's pause, per consumer,
// is the longest time between two consecutive delivered batches spanning that watch.
//
// Prints one line per fault (the pauses, what each consumer saw and when), then per fault kind
// the median and worst pause of A and B next to the goal (T + 1 s; graceful handover 0.5 s) and
// the source's own longest commit gap; then checks that each consumer acked exactly the
// committed rows, in order (nothing lost, nothing acked delivered again) and exits 1 if not.
// --json FILE writes every figure; --keep keeps every process's log and writes, per fault, a
// timeline of all their lines around it (timeline/ in the kept directory). The run stops by
// itself (--time-limit, default from the rounds and faults) and stops every process it started,
// also on failure. See docs/benchmarks.md.
import { runClusterBench } from "./cluster-bench.js";
import { runDirectBench } from "./direct.js";
import { OptionError, parseBenchOptions } from "./options.js";

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--direct")) {
    await runDirectBench(argv.filter((a) => a !== "--direct"));
    return 0;
  }
  return runClusterBench(parseBenchOptions(argv));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof OptionError) {
      process.stderr.write(`bench/failover: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench/failover: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
