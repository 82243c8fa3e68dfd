// Runs one part as a child process in a process group of its own, with a time limit: its
// stdout (the part's own report) is kept and saved, its stderr (progress) goes on to ours with
// the part's name in front. Past the limit the whole group gets SIGTERM, then SIGKILL, so no
// MariaDB, ZooKeeper or sluice process of the part outlives it.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";

export interface PartOutcome {
  /** Exit code, or the signal that ended it. */
  exit: number | string;
  timedOut: boolean;
  seconds: number;
  /** The part's own report (its stdout). */
  stdout: string;
}

const KILL_GRACE_MS = 20_000;

export function runPart(
  name: string,
  argv: string[],
  o: { cwd: string; logDir: string; timeLimitMs: number },
): Promise<PartOutcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, {
    cwd: o.cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const errLog = createWriteStream(join(o.logDir, `${name}.err`));
  const outLog = createWriteStream(join(o.logDir, `${name}.out`));
  const chunks: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => {
    chunks.push(b);
    outLog.write(b);
  });
  createInterface({ input: child.stderr }).on("line", (line) => {
    errLog.write(`${line}\n`);
    process.stderr.write(`[${name}] ${line}\n`);
  });
  let timedOut = false;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // the group is gone already
    }
  };
  const limit = setTimeout(() => {
    timedOut = true;
    process.stderr.write(`[${name}] time limit of ${o.timeLimitMs / 1000} s passed: stopping it\n`);
    signalGroup("SIGTERM");
    setTimeout(() => signalGroup("SIGKILL"), KILL_GRACE_MS).unref();
  }, o.timeLimitMs);
  const stopOnExit = () => signalGroup("SIGKILL");
  process.once("exit", stopOnExit);
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(limit);
      process.removeListener("exit", stopOnExit);
      // Whatever the part left behind in its group (it should have stopped it) goes now.
      signalGroup("SIGKILL");
      errLog.end();
      outLog.end();
      resolve({
        exit: code ?? signal ?? "unknown",
        timedOut,
        seconds: (performance.now() - t0) / 1000,
        stdout: Buffer.concat(chunks).toString("utf8"),
      });
    });
  });
}
