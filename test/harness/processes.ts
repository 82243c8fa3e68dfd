// Child processes that tests start (mariadbd, ZooKeeper JVMs, sluice servers) must never
// outlive the test run, whatever happens to it: a failed assertion, Ctrl-C, or a SIGKILL of
// the test process itself. Three layers make sure of that:
//  1. every caller stops what it started (try/finally, `t.after`);
//  2. an exit/signal hook here kills whatever is still registered;
//  3. a detached watchdog shell per child kills it (and removes its temp dir) once the
//     node process that started it is gone, which covers SIGKILL where no hook runs.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (crash simulation); resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: freeze a process without closing its sockets. */
  pause(): void;
  resume(): void;
}

const live = new Set<ManagedProcess>();
let hooksInstalled = false;

// Under `node --test` (one process per file): once the file's tests and hooks are done, a
// socket or timer a failed test left behind would keep the process, and the run, waiting
// forever. Give it a grace period, long enough for the runner to have reported every result,
// then exit with the code the runner set. (Not --test-force-exit, which exits at once and can
// drop results from the report: nodejs/node#64833.)
const LINGER_MS = 15_000;
if (process.env.NODE_TEST_CONTEXT) {
  const { after } = await import("node:test");
  after(() => {
    setTimeout(() => {
      process.stderr.write(
        `test file still running ${LINGER_MS / 1000} s after its tests ended (a handle left open): exiting\n`,
      );
      process.exit();
    }, LINGER_MS).unref();
  });
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const p of live) {
      try {
        p.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      for (const p of live) p.child.kill("SIGKILL");
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
}

/** A fresh temp directory, removed by the watchdog of the process that uses it. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `sluice-${prefix}-`));
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr go. */
  logFile: string;
  /** Removed (recursively) by the watchdog if this test process dies without cleaning up. */
  cleanupDir?: string;
}

export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  opts: SpawnOptions,
): ManagedProcess {
  installExitHooks();
  const log = createWriteStream(opts.logFile, { flags: "a" });
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(managed);
      log.end();
      resolve(code ?? signal ?? "unknown");
    });
    child.once("error", (err) => {
      log.write(`spawn error: ${err.message}\n`);
    });
  });
  const watchdog = startWatchdog(child.pid, opts.cleanupDir);
  exited.then(() => watchdog?.kill("SIGKILL"));

  const managed: ManagedProcess = {
    name,
    child,
    logFile: opts.logFile,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
    pause() {
      child.kill("SIGSTOP");
    },
    resume() {
      child.kill("SIGCONT");
    },
  };
  live.add(managed);
  return managed;
}

function startWatchdog(
  childPid: number | undefined,
  cleanupDir: string | undefined,
): ChildProcess | undefined {
  if (childPid === undefined) return undefined;
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; [ -n "$3" ] && rm -rf "$3"; exit 0';
  const dog = spawn(
    "sh",
    ["-c", script, "watchdog", String(process.pid), String(childPid), cleanupDir ?? ""],
    {
      detached: true,
      stdio: "ignore",
    },
  );
  dog.unref();
  return dog;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("could not read the port of a listening socket"));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Distinct free ports (the OS would not hand out the same one twice while all are held). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      return new Promise<{ port: number; close: () => void }>((resolve, reject) => {
        const srv = createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
          const addr = srv.address();
          if (addr === null || typeof addr === "string") return reject(new Error("no port"));
          resolve({ port: addr.port, close: () => srv.close() });
        });
      });
    }),
  );
  for (const s of servers) s.close();
  return servers.map((s) => s.port);
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; failIf?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const failure = opts.failIf?.();
    if (failure) throw new Error(`${what}: ${failure}`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${reason}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
