// Runs one reader as a child process with a time limit and measures it from outside: wall
// time, CPU time and peak RSS (GNU time when /usr/bin/time is there, else /proc sampled every
// 20 ms), plus the CPU time mariadbd spent meanwhile (its dump thread does real work too).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

export interface Measured {
  /** Exit code, or the signal that ended it. */
  exit: number | string;
  timedOut: boolean;
  wallSeconds: number;
  cpuUser: number;
  cpuSystem: number;
  /** Peak RSS in bytes (0 if unknown). */
  maxRss: number;
  /** How the CPU and RSS figures were taken. */
  method: "gnu-time" | "proc-sampling";
  /** CPU seconds mariadbd used while this ran (undefined without a server pid). */
  serverCpu?: number;
  /** CPU seconds the whole machine was busy while this ran (all processes, all cores). */
  machineCpu?: number;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  timeoutMs: number;
  /** Keep stdout (else it goes to /dev/null). */
  captureStdout: boolean;
  serverPid?: number;
  /** Directory for GNU time's output file. */
  tmpDir: string;
}

let gnuTime: boolean | undefined;

function haveGnuTime(): boolean {
  if (gnuTime === undefined) {
    gnuTime =
      existsSync("/usr/bin/time") &&
      spawnSync("/usr/bin/time", ["-f", "%M", "true"], { encoding: "utf8" }).status === 0;
  }
  return gnuTime;
}

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number.parseInt(r.stdout ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** Busy CPU time of the whole machine since boot, seconds (from /proc/stat). */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    // cpu user nice system idle iowait irq softirq steal ...
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, seconds (undefined when it is gone). */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function procSample(pid: number): { cpuUser: number; cpuSystem: number; hwm: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return {
      cpuUser: Number(rest[11]) / CLK_TCK,
      cpuSystem: Number(rest[12]) / CLK_TCK,
      hwm: m?.[1] ? Number(m[1]) * 1024 : 0,
    };
  } catch {
    return undefined;
  }
}

export async function runMeasured(cmd: string, args: string[], opts: MeasureOptions): Promise<Measured> {
  const useTime = haveGnuTime();
  const timeFile = join(opts.tmpDir, `time-${process.pid}-${Date.now()}.txt`);
  const argv = useTime ? ["-f", "%e %U %S %M", "-o", timeFile, cmd, ...args] : args;
  const serverCpu0 = opts.serverPid ? processCpuSeconds(opts.serverPid) : undefined;
  const machine0 = machineBusySeconds();
  const t0 = performance.now();
  const child = spawn(useTime ? "/usr/bin/time" : cmd, argv, {
    stdio: ["ignore", opts.captureStdout ? "pipe" : "ignore", "pipe"],
    // Its own process group, so a timeout kills the reader and not only GNU time.
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (d: string) => {
    stdout += d;
    if (stdout.length > 1_000_000) stdout = stdout.slice(-500_000);
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr += d;
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  let timedOut = false;
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, opts.timeoutMs);
  // Without GNU time, sample the child's /proc entry (the last sample before exit wins).
  let last: { cpuUser: number; cpuSystem: number; hwm: number } | undefined;
  let peak = 0;
  const sampler = useTime
    ? undefined
    : setInterval(() => {
        const s = child.pid ? procSample(child.pid) : undefined;
        if (s) {
          last = s;
          peak = Math.max(peak, s.hwm);
        }
      }, 20);
  const onExit = () => killGroup();
  process.once("exit", onExit);
  const exit = await new Promise<number | string>((resolve) => {
    child.on("error", (err) => {
      stderr += `spawn error: ${err.message}\n`;
      resolve("spawn-error");
    });
    child.on("close", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  process.off("exit", onExit);
  clearTimeout(timer);
  if (sampler) clearInterval(sampler);
  const serverCpu1 = opts.serverPid ? processCpuSeconds(opts.serverPid) : undefined;
  const machine1 = machineBusySeconds();
  let cpuUser = last?.cpuUser ?? 0;
  let cpuSystem = last?.cpuSystem ?? 0;
  let maxRss = peak;
  if (useTime && existsSync(timeFile)) {
    const text = readFileSync(timeFile, "utf8").trim().split("\n");
    const line = text[text.length - 1] ?? "";
    const [, u, s, m] = line.split(" ").map(Number);
    if (u !== undefined && Number.isFinite(u)) cpuUser = u;
    if (s !== undefined && Number.isFinite(s)) cpuSystem = s;
    if (m !== undefined && Number.isFinite(m)) maxRss = m * 1024;
    rmSync(timeFile, { force: true });
  }
  return {
    exit,
    timedOut,
    wallSeconds,
    cpuUser,
    cpuSystem,
    maxRss,
    method: useTime ? "gnu-time" : "proc-sampling",
    ...(serverCpu0 !== undefined && serverCpu1 !== undefined ? { serverCpu: serverCpu1 - serverCpu0 } : {}),
    ...(machine0 !== undefined && machine1 !== undefined ? { machineCpu: machine1 - machine0 } : {}),
    stdout,
    stderr,
  };
}
