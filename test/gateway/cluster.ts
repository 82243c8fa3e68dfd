// Helpers of the gateway tests: sluice servers and gateways as child processes of
// bin/sluice.js (as users run them), on free loopback ports, with logs in a temp dir.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ProbeTls, probeTls } from "../harness/certificates.js";
import type { MariaDB } from "../harness/mariadb.js";
import { type ManagedProcess, spawnManaged, waitFor } from "../harness/processes.js";
import type { ZooKeeper } from "../harness/zookeeper.js";

/** Row ids of entries, and sleep: shared with the HA tests (test/harness/entries.ts). */
export { rowIds as ids, sleep } from "../harness/entries.js";

export const SLUICE = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** A server config for destination "example" with ZooKeeper; returns its path. */
export function writeServerConfig(dir: string, zk: ZooKeeper, db: MariaDB, sessionTimeoutMs = 2000): string {
  const file = join(dir, "sluice.yaml");
  writeFileSync(
    file,
    [
      "host: 127.0.0.1",
      "metrics: { enabled: false }",
      "zk:",
      `  connect: "${zk.connectString}"`,
      `  sessionTimeout: ${sessionTimeoutMs}ms`,
      "  regrabDelay: 200ms",
      "destinations:",
      "  - name: example",
      `    source: "${db.sourceUrl}"`,
      "    heartbeat: 1s",
      "",
    ].join("\n"),
  );
  return file;
}

async function ready(
  name: string,
  p: ManagedProcess,
  port: number,
  path = "/readyz",
  tls?: ProbeTls,
): Promise<void> {
  await waitFor(
    `${name} to be ready`,
    async () =>
      (
        tls
          ? await probeTls(port, path, tls)
          : (await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined))?.ok
      )
        ? true
        : undefined,
    {
      timeoutMs: 30_000,
      failIf: () => (p.child.exitCode !== null ? `exited; see ${p.logFile}` : undefined),
    },
  );
}

/**
 * Starts `sluice server --config config` on `port`, logging to `dir/name.log`, and waits until
 * `readyPath` answers 200 (`/healthz` for a server that need not reach ZooKeeper yet).
 */
export async function startSluiceServer(
  dir: string,
  name: string,
  port: number,
  config: string,
  opts: { extraArgs?: string[]; readyPath?: string; env?: Record<string, string>; tls?: ProbeTls } = {},
): Promise<ManagedProcess> {
  const p = spawnManaged(
    name,
    process.execPath,
    [SLUICE, "server", "--config", config, "--port", String(port), ...(opts.extraArgs ?? [])],
    {
      logFile: join(dir, `${name}.log`),
      env: { ...process.env, SLUICE_LOG_LEVEL: "info", ...opts.env },
    },
  );
  await ready(name, p, port, opts.readyPath, opts.tls);
  return p;
}

export async function startSluiceGateway(
  dir: string,
  name: string,
  port: number,
  zk: ZooKeeper,
  extra: string[] = [],
  env: Record<string, string> = {},
  tls?: ProbeTls,
): Promise<ManagedProcess> {
  // Defaults a test may override in extra (a flag is given once): several gateways run on one
  // host, so metrics are off unless a test that scrapes them passes a port.
  const defaults = [
    ["--zk", zk.connectString],
    ["--port", String(port)],
    ["--zk-session-timeout", "2s"],
    ["--metrics-port", "off"],
  ].filter(([flag]) => !extra.some((a) => a === flag || a.startsWith(`${flag}=`)));
  const args = [SLUICE, "gateway", ...defaults.flat()];
  const p = spawnManaged(name, process.execPath, [...args, ...extra], {
    logFile: join(dir, `${name}.log`),
    env: { ...process.env, SLUICE_LOG_LEVEL: "info", ...env },
  });
  await ready(name, p, port, "/readyz", tls);
  return p;
}
