// A private MariaDB for tests, the quickstart and benchmarks: its own temp datadir, a free
// loopback port, binlog in ROW format with FULL row metadata, a replication user. Starts in
// well under two seconds (mariadb-install-db ~1 s, mariadbd ~0.3 s).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { freePort, type ManagedProcess, makeTempDir, removeDir, spawnManaged, waitFor } from "./processes.js";
import { ensureSystemPackages, MARIADB } from "./system-packages.js";

export interface MariaDBOptions {
  /** server_id of this primary (default 1). */
  serverId?: number;
  /** Extra mariadbd options, e.g. ["--binlog-row-image=MINIMAL"]. */
  extraArgs?: string[];
  /** Keep the datadir after stop() (for debugging). */
  keepDataDir?: boolean;
}

export interface MariaDB {
  readonly host: string;
  readonly port: number;
  /** Superuser over TCP (root@127.0.0.1, no password). */
  readonly user: string;
  readonly password: string;
  /** Replication user: REPLICATION SLAVE, BINLOG MONITOR, REPLICATION MASTER ADMIN, SELECT. */
  readonly replUser: string;
  readonly replPassword: string;
  readonly dataDir: string;
  readonly socket: string;
  /** Base name of binlog files inside dataDir, e.g. "mysql-bin" -> mysql-bin.000001. */
  readonly binlogBasename: string;
  /** mysql://repl:pass@127.0.0.1:port, the form `sluice server --source` takes. */
  readonly sourceUrl: string;
  /** The running mariadbd (a new one after restart()). */
  readonly process: ManagedProcess;
  /** Runs SQL as root through a pooled mysql2 connection; returns rows (or the OK packet). */
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
  /** Runs the `mariadb` command-line client (batch mode) as root and returns its stdout. */
  cli(sql: string, extraArgs?: string[]): string;
  /**
   * Stops mariadbd (SIGTERM: a clean shutdown, as an operator's restart), waits `downMs`, and
   * starts it again on the same port and datadir; resolves once it answers queries. Queries
   * made meanwhile fail (their connections are gone); later ones use a new pool.
   */
  restart(opts?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export const BINLOG_BASENAME = "mysql-bin";

export async function startMariaDB(opts: MariaDBOptions = {}): Promise<MariaDB> {
  ensureSystemPackages(MARIADB);
  const dir = makeTempDir("mariadb");
  const dataDir = join(dir, "data");
  const socket = join(dir, "mysqld.sock");
  // A private tmpdir: MariaDB names its temporary files by pid, and two runs on one machine
  // (parallel test runs, or sandboxes sharing /tmp) must not trip over each other's.
  const tmpDir = join(dir, "tmp");
  mkdirSync(tmpDir, { recursive: true });
  const install = spawnSync(
    "mariadb-install-db",
    [
      "--no-defaults",
      `--datadir=${dataDir}`,
      `--tmpdir=${tmpDir}`,
      "--user=root",
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--innodb-log-file-size=16M",
    ],
    { encoding: "utf8" },
  );
  if (install.status !== 0) {
    removeDir(dir);
    throw new Error(`mariadb-install-db failed (${install.status}): ${install.stderr || install.stdout}`);
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [
      ...mariadbdArgs({ dataDir, runDir: dir, socket, port, serverId: opts.serverId ?? 1 }),
      ...(opts.extraArgs ?? []),
    ];
    const proc = spawnManaged("mariadbd", "mariadbd", args, {
      logFile: join(dir, "mariadbd.out"),
      cleanupDir: opts.keepDataDir ? undefined : dir,
    });
    let exitedEarly: string | undefined;
    proc.exited.then((code) => {
      exitedEarly = `mariadbd exited with ${code}`;
    });
    try {
      const pool = await connectWhenReady(port, { timeoutMs: 30_000, failIf: () => exitedEarly });
      await pool.query(
        [
          "CREATE USER 'sluice'@'127.0.0.1' IDENTIFIED BY 'sluice'",
          "GRANT REPLICATION SLAVE, BINLOG MONITOR, REPLICATION MASTER ADMIN, SELECT ON *.* TO 'sluice'@'127.0.0.1'",
        ].join(";"),
      );
      return makeHandle({ dir, dataDir, socket, port, args, proc, pool, keep: opts.keepDataDir ?? false });
    } catch (err) {
      lastError = err;
      await proc.kill();
      const log = readIfExists(join(dir, "error.log"));
      // A port taken between freePort() and bind is worth another try; anything else is not.
      if (!/Address already in use|Can't start server: Bind/.test(log)) {
        removeDir(dir);
        throw new Error(`${(err as Error).message}\n--- ${join(dir, "error.log")} ---\n${log.slice(-4000)}`);
      }
    }
  }
  removeDir(dir);
  throw lastError;
}

/** The options every private mariadbd runs with (tests, quickstart, benchmarks). */
export function mariadbdArgs(p: {
  dataDir: string;
  /** Where the pid file and error log go. */
  runDir: string;
  socket: string;
  port: number;
  serverId: number;
}): string[] {
  const tmpDir = join(p.runDir, "tmp");
  mkdirSync(tmpDir, { recursive: true });
  return [
    "--no-defaults",
    "--user=root",
    `--datadir=${p.dataDir}`,
    `--tmpdir=${tmpDir}`,
    `--socket=${p.socket}`,
    `--port=${p.port}`,
    "--bind-address=127.0.0.1",
    `--pid-file=${join(p.runDir, "mysqld.pid")}`,
    `--log-error=${join(p.runDir, "error.log")}`,
    `--server-id=${p.serverId}`,
    `--log-bin=${BINLOG_BASENAME}`,
    "--binlog-format=ROW",
    "--binlog-row-metadata=FULL",
    "--binlog-row-image=FULL",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
    "--innodb-log-file-size=16M",
    "--innodb-buffer-pool-size=128M",
    "--innodb-flush-log-at-trx-commit=2",
    "--max-allowed-packet=256M",
    "--skip-name-resolve",
  ];
}

/** A root connection pool to a starting mariadbd on 127.0.0.1:port, once it answers. */
export async function connectWhenReady(
  port: number,
  opts: { timeoutMs: number; failIf?: () => string | undefined; connectionLimit?: number },
): Promise<mysql.Pool> {
  return waitFor(
    `mariadbd on 127.0.0.1:${port}`,
    async () => {
      const p = mysql.createPool({
        host: "127.0.0.1",
        port,
        user: "root",
        password: "",
        connectionLimit: opts.connectionLimit ?? 4,
        multipleStatements: true,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
      });
      try {
        await p.query("SELECT 1");
        return p;
      } catch (err) {
        await p.end().catch(() => {});
        throw err;
      }
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 50, ...(opts.failIf ? { failIf: opts.failIf } : {}) },
  );
}

function makeHandle(p: {
  dir: string;
  dataDir: string;
  socket: string;
  port: number;
  /** mariadbd's arguments, to start it again as it was. */
  args: string[];
  proc: ManagedProcess;
  pool: mysql.Pool;
  keep: boolean;
}): MariaDB {
  let stopped = false;
  let { proc, pool } = p;
  return {
    host: "127.0.0.1",
    port: p.port,
    user: "root",
    password: "",
    replUser: "sluice",
    replPassword: "sluice",
    dataDir: p.dataDir,
    socket: p.socket,
    binlogBasename: BINLOG_BASENAME,
    sourceUrl: `mysql://sluice:sluice@127.0.0.1:${p.port}`,
    get process() {
      return proc;
    },
    async query<T>(sql: string, params?: unknown[]): Promise<T> {
      const [rows] = await pool.query(sql, params);
      return rows as T;
    },
    cli(sql: string, extraArgs: string[] = []): string {
      const r = spawnSync(
        "mariadb",
        [
          "--no-defaults",
          "-uroot",
          `-S${p.socket}`,
          "--batch",
          "--skip-column-names",
          ...extraArgs,
          "-e",
          sql,
        ],
        { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
      );
      if (r.status !== 0) throw new Error(`mariadb client failed: ${r.stderr}`);
      return r.stdout;
    },
    async restart(opts = {}) {
      if (stopped) throw new Error("restart() after stop()");
      await proc.stop(30_000);
      await pool.end().catch(() => {});
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      proc = spawnManaged("mariadbd", "mariadbd", p.args, {
        logFile: join(p.dir, "mariadbd.out"),
        cleanupDir: p.keep ? undefined : p.dir,
      });
      const started = proc;
      let exited: string | undefined;
      started.exited.then((code) => {
        exited = `mariadbd exited with ${code}; see ${join(p.dir, "error.log")}`;
      });
      pool = await connectWhenReady(p.port, { timeoutMs: 30_000, failIf: () => exited });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await pool.end().catch(() => {});
      await proc.stop(10_000);
      if (!p.keep) removeDir(p.dir);
    },
  };
}

function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}
