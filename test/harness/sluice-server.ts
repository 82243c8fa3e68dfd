// A `sluice server` child process (bin entry compiled to dist/), standalone, for tests that
// talk to a server the way clients and the CLI do: over its port, from another process.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ProbeTls, probeTls } from "./certificates.js";
import { freePort, type ManagedProcess, spawnManaged, waitFor } from "./processes.js";

export const SLUICE_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface SluiceServerProcess {
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait (a crash). */
  kill(): Promise<void>;
}

/** Starts `sluice server` on `port` (a free one by default) and waits until it is ready. */
export async function startSluiceServer(opts: {
  name: string;
  sourceUrl: string;
  dataDir: string;
  port?: number;
  extraArgs?: string[];
  /** Prometheus metrics port; default "off". */
  metricsPort?: number | "off";
  env?: Record<string, string>;
  /** The server serves TLS (its flags in extraArgs): how to probe it. */
  tls?: ProbeTls;
}): Promise<SluiceServerProcess> {
  const port = opts.port ?? (await freePort());
  const args = [
    SLUICE_MAIN,
    "server",
    "--host=127.0.0.1",
    `--port=${port}`,
    `--source=${opts.sourceUrl}`,
    `--data-dir=${opts.dataDir}`,
    `--metrics-port=${opts.metricsPort ?? "off"}`,
    ...(opts.extraArgs ?? []),
  ];
  const p = spawnManaged(opts.name, process.execPath, args, {
    logFile: join(opts.dataDir, `${opts.name}.log`),
    env: { ...process.env, SLUICE_LOG_LEVEL: "info", ...opts.env },
  });
  await waitFor(
    `${opts.name} to listen`,
    async () =>
      (
        opts.tls
          ? await probeTls(port, "/readyz", opts.tls)
          : (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok
      )
        ? true
        : undefined,
    {
      timeoutMs: 30_000,
      failIf: () => (p.child.exitCode !== null ? `exited; see ${p.logFile}` : undefined),
    },
  );
  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    process: p,
    stop: () => p.stop(),
    kill: () => p.kill(),
  };
}
