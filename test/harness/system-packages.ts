// Tests use real MariaDB, ZooKeeper and Chromium from Debian's packages. scripts/test.sh installs them up
// front; this is the same check for anyone who runs a test file directly.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export interface SystemPackage {
  /** Debian package name. */
  pkg: string;
  /** A file the package installs; its presence means the package is there. */
  marker: string;
}

export const MARIADB: SystemPackage[] = [
  { pkg: "mariadb-server", marker: "/usr/sbin/mariadbd" },
  { pkg: "mariadb-client", marker: "/usr/bin/mariadb" },
];
export const ZOOKEEPER: SystemPackage[] = [{ pkg: "zookeeper", marker: "/usr/share/java/zookeeper.jar" }];
/** The browser the status page's tests drive headless (through playwright-core, no download). */
export const CHROMIUM: SystemPackage[] = [{ pkg: "chromium", marker: "/usr/bin/chromium" }];

let updated = false;

export function ensureSystemPackages(packages: SystemPackage[]): void {
  const missing = packages.filter((p) => !existsSync(p.marker)).map((p) => p.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages ${missing.join(", ")}: run as root or install them first`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!updated) {
    run("apt-get", ["update", "-q"], env);
    updated = true;
  }
  run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], env);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { env, stdio: ["ignore", process.stderr, process.stderr] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed with status ${r.status}`);
}
