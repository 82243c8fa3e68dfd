// The MariaDB the benchmark reads from: a fresh one from the test harness (then generated
// into), or one restarted on a dataset saved earlier (`--datadir`), so that repeated runs can
// skip generation. Loopback only, stopped by whoever started it (and by the harness's
// watchdog if this process dies).
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type mysql from "mysql2/promise";
import { connectWhenReady, mariadbdArgs, startMariaDB } from "../../test/harness/mariadb.js";
import { freePort, makeTempDir, removeDir, spawnManaged } from "../../test/harness/processes.js";
import type { Dataset } from "./common.js";

export interface BenchServer {
  readonly host: string;
  readonly port: number;
  readonly replUser: string;
  readonly replPassword: string;
  /** mysql://repl:pass@127.0.0.1:port */
  readonly sourceUrl: string;
  readonly dataDir: string;
  /** mariadbd's pid, to read its CPU time. */
  readonly pid: number;
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** mariadbd options the benchmark adds to the harness's. */
export function benchServerArgs(maxBinlogSize: number): string[] {
  return [
    // Every reader gets the same bytes: no statement text before the row events.
    "--binlog-annotate-row-events=OFF",
    `--max-binlog-size=${maxBinlogSize}`,
    // Generation speed only: the readers never touch InnoDB.
    "--innodb-buffer-pool-size=512M",
    "--innodb-log-file-size=256M",
  ];
}

export async function startFreshServer(opts: {
  maxBinlogSize: number;
  keepDataDir: boolean;
}): Promise<BenchServer> {
  const db = await startMariaDB({
    extraArgs: benchServerArgs(opts.maxBinlogSize),
    keepDataDir: opts.keepDataDir,
  });
  const pid = db.process.child.pid;
  if (pid === undefined) throw new Error("mariadbd has no pid");
  return {
    host: db.host,
    port: db.port,
    replUser: db.replUser,
    replPassword: db.replPassword,
    sourceUrl: db.sourceUrl,
    dataDir: db.dataDir,
    pid,
    query: (sql, params) => db.query(sql, params),
    stop: () => db.stop(),
  };
}

const DATASET_FILE = "dataset.json";

export function readSavedDataset(dir: string): Dataset | undefined {
  const file = join(dir, DATASET_FILE);
  if (!existsSync(file) || !existsSync(join(dir, "data"))) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as Dataset;
}

/** Moves a stopped server's datadir into `dir`/data and writes the manifest next to it. */
export function saveDataset(db: BenchServer, ds: Dataset, dir: string): void {
  const target = resolve(dir);
  mkdirSync(target, { recursive: true });
  const dest = join(target, "data");
  if (existsSync(dest)) rmSync(dest, { recursive: true, force: true });
  try {
    renameSync(db.dataDir, dest);
  } catch {
    cpSync(db.dataDir, dest, { recursive: true });
  }
  // The harness's temp dir (logs, socket) is no longer needed.
  removeDir(dirname(db.dataDir));
  writeFileSync(join(target, DATASET_FILE), `${JSON.stringify(ds, null, 2)}\n`);
}

/**
 * Restarts mariadbd on a saved datadir with the harness's options (mariadbdArgs) plus the
 * benchmark's. The restart adds a binlog file and, at
 * shutdown, a STOP event: both lie past the dataset's end position, which every reader stops at.
 */
export async function startSavedServer(dir: string, ds: Dataset): Promise<BenchServer> {
  const dataDir = join(resolve(dir), "data");
  const run = makeTempDir("bench-decode");
  const socket = join(run, "mysqld.sock");
  const port = await freePort();
  const args = [
    ...mariadbdArgs({ dataDir, runDir: run, socket, port, serverId: 1 }),
    ...benchServerArgs(ds.maxBinlogSize),
  ];
  const proc = spawnManaged("mariadbd", "mariadbd", args, {
    logFile: join(run, "mariadbd.out"),
    cleanupDir: run,
  });
  let exited: string | undefined;
  proc.exited.then((code) => {
    // Read now: stop() removes the run directory, error.log with it.
    const log = join(run, "error.log");
    exited = `mariadbd exited with ${code}: ${startupFailure(existsSync(log) ? readFileSync(log, "utf8") : "", dataDir)}`;
  });
  const pid = proc.child.pid;
  const stop = async () => {
    await pool?.end().catch(() => {});
    await proc.stop(10_000);
    removeDir(run);
  };
  let pool: mysql.Pool | undefined;
  try {
    pool = await connectWhenReady(port, { timeoutMs: 60_000, failIf: () => exited, connectionLimit: 2 });
  } catch (err) {
    await stop();
    throw err;
  }
  if (pid === undefined) throw new Error("mariadbd has no pid");
  const p = pool;
  return {
    host: "127.0.0.1",
    port,
    replUser: "sluice",
    replPassword: "sluice",
    sourceUrl: `mysql://sluice:sluice@127.0.0.1:${port}`,
    dataDir,
    pid,
    async query<T>(sql: string, params?: unknown[]): Promise<T> {
      const [rows] = await p.query(sql, params);
      return rows as T;
    },
    stop,
  };
}

/**
 * Why mariadbd stopped before it was ready, from its error log: a saved dataset that another
 * mariadbd holds (InnoDB locks its files: another bench on the same --datadir) is said so;
 * otherwise the log's last errors.
 */
export function startupFailure(errorLog: string, dataDir: string): string {
  const errors = errorLog.split("\n").filter((l) => l.includes("[ERROR]"));
  if (errors.some((l) => /Unable to lock/i.test(l))) {
    return `the saved dataset ${dataDir} is in use by another mariadbd (another bench with the same --datadir?): wait for it, or give each run a copy of its own`;
  }
  const last = errors.slice(-3).map((l) => l.replace(/^.*?\[ERROR\]\s*/, ""));
  return last.length > 0 ? last.join("; ") : "no error in its log";
}
