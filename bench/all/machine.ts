// The machine and the versions a run measured, for BENCHMARKS.md's header: figures mean little
// without the CPU, the cores, the load and what ran.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGB: number;
  kernel: string;
  os: string;
  node: string;
  mariadb: string;
  zookeeper: string;
  haproxy: string;
  go: string;
  python: string;
  /** The sluice commit measured, with "+ changes" when the work tree differed from it. */
  commit: string;
  loadBefore: number[];
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : "";
}

function firstLine(text: string): string {
  return text.split("\n")[0]?.trim() || "unknown";
}

function osName(): string {
  try {
    const line = readFileSync("/etc/os-release", "utf8")
      .split("\n")
      .find((l) => l.startsWith("PRETTY_NAME="));
    return line ? line.slice("PRETTY_NAME=".length).replace(/"/g, "") : "unknown";
  } catch {
    return "unknown";
  }
}

function commitOf(repo: string): string {
  const head = run("git", ["-C", repo, "rev-parse", "--short", "HEAD"]);
  if (!head) return "unknown (not a git checkout)";
  const dirty = run("git", ["-C", repo, "status", "--porcelain", "--untracked-files=no"]);
  return dirty ? `${head} + changes` : head;
}

export function describeMachine(repo: string): Machine {
  return {
    cpuModel: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    os: osName(),
    node: process.version,
    mariadb: firstLine(run("/usr/sbin/mariadbd", ["--version"])),
    // dpkg-query's own format placeholder, not a template string.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query expands it
    zookeeper: run("dpkg-query", ["-W", "-f", "${Version}", "zookeeper"]) || "unknown",
    haproxy: firstLine(run("/usr/sbin/haproxy", ["-v"])),
    go: firstLine(run("go", ["version"])),
    python: firstLine(
      run("/usr/bin/python3", [
        "-c",
        "import sys, grpc; print(sys.version.split()[0], 'grpcio', grpc.__version__)",
      ]),
    ),
    commit: commitOf(repo),
    loadBefore: loadavg(),
  };
}
