// Writes the decode benchmark's binlog: a sysbench-like table and a wide 16-column mixed-type
// table, inserts, updates and deletes in transactions of exactly 100 row changes each, until
// the binlog holds at least the requested number of row changes. Rows are made server-side
// (INSERT ... SELECT FROM seq_0_to_99, MariaDB's SEQUENCE engine), many autocommit statements
// per round trip, so a million row changes take well under a minute.
//
// Standalone: node dist/bench/decode/generate.js [--rows N] [--max-binlog-size BYTES]
//   [--wide-every N] [--datadir DIR] [--no-verify]
// (with --datadir the dataset is kept in DIR for `run.js --datadir DIR`).
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { prng } from "../../test/harness/entries.js";
import {
  type BinlogPos,
  comparePos,
  type Dataset,
  fileSeq,
  log,
  MB,
  parseArgs,
  parseCount,
} from "./common.js";
import { type BenchServer, saveDataset, startFreshServer } from "./server.js";

export const SCHEMA = "sbtest";
export const DEFAULT_ROWS = 1_000_000;
/** Several binlog files for a million rows (~270 MB): every reader has to follow rotations. */
export const DEFAULT_MAX_BINLOG_SIZE = 128 * 1024 * 1024;

const TX_ROWS = 100;
/** Statements (= transactions) sent per round trip. */
const STATEMENTS_PER_QUERY = 40;

export interface GenerateOptions {
  rows: number;
  /** Count the row changes in the binlog itself with `mariadb-binlog --verbose` (default true). */
  verify?: boolean;
  maxBinlogSize?: number;
  /** Every wideEvery-th round of 10 transactions goes to wide16 (default 3; 1 = all, 0 = none). */
  wideEvery?: number;
}

export type Kind = "I" | "U" | "D";
/** One table's round of 10 transactions: 5 inserts, 3 updates, 2 deletes (net +300 rows). */
const ROUND: Kind[] = ["I", "I", "U", "I", "U", "D", "I", "U", "D", "I"];
export type TableName = "sbtest1" | "wide16";
/**
 * By default every 10th round goes to the wide table (10% of the row changes). That mix gives
 * `mariadb-binlog --verbose` ~600k rows/s and zongji ~220k rows/s, as in the reference
 * figures; a wide row costs every decoder 5 to 10 times an sbtest1 row (--wide-every 1 to see).
 */
export const DEFAULT_WIDE_EVERY = 10;

const DDL = [
  `CREATE DATABASE ${SCHEMA}`,
  `CREATE TABLE ${SCHEMA}.sbtest1 (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    k INT NOT NULL DEFAULT 0,
    c CHAR(120) NOT NULL DEFAULT '',
    pad CHAR(60) NOT NULL DEFAULT '',
    KEY k_1 (k)
  ) ENGINE=InnoDB`,
  // 16 columns: integers of four widths (BIGINT UNSIGNED near 2^64), DECIMAL, DOUBLE, FLOAT,
  // utf8mb4 VARCHAR, TEXT, DATETIME(6), TIMESTAMP(3), DATE, TIME, ENUM, JSON, VARBINARY; some
  // nullable columns are NULL in some rows.
  `CREATE TABLE ${SCHEMA}.wide16 (
    id INT UNSIGNED NOT NULL PRIMARY KEY,
    ti TINYINT NOT NULL,
    si SMALLINT UNSIGNED NOT NULL,
    bi BIGINT UNSIGNED NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    ratio DOUBLE NOT NULL,
    score FLOAT NULL,
    name VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL,
    note TEXT CHARACTER SET utf8mb4 NULL,
    created DATETIME(6) NOT NULL,
    updated TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    day DATE NOT NULL,
    tod TIME NOT NULL,
    color ENUM('red','green','blue','cyan','magenta') NOT NULL,
    doc JSON NULL,
    bin VARBINARY(32) NULL
  ) ENGINE=InnoDB`,
];

/** n groups of 11 random digits joined by '-', as sysbench fills c (10 groups) and pad (5). */
function digitGroups(n: number): string {
  const g = "LPAD(FLOOR(RAND()*99999999999),11,'0')";
  return `CONCAT_WS('-',${Array.from({ length: n }, () => g).join(",")})`;
}
const C_EXPR = digitGroups(10);
const PAD_EXPR = digitGroups(5);

function insertSql(table: TableName, base: number): string {
  const seq = `${SCHEMA}.seq_0_to_${TX_ROWS - 1}`;
  if (table === "sbtest1") {
    return `INSERT INTO ${SCHEMA}.sbtest1 (id,k,c,pad) SELECT ${base}+seq, FLOOR(RAND()*1000000), ${C_EXPR}, ${PAD_EXPR} FROM ${seq}`;
  }
  // Signed arithmetic: the SEQUENCE engine's seq is BIGINT UNSIGNED.
  const id = `(${base}+s)`;
  return (
    `INSERT INTO ${SCHEMA}.wide16 SELECT ${id}, s%256-128, ${id}%65536, 18446744073709551615-${id}*7919, ` +
    "ROUND(RAND()*2000000-1000000,2), RAND()*1e6, IF(s%10=0,NULL,RAND()*100), " +
    `CONCAT('naïve café ',${id},' 日本語 ✓'), IF(s%7=0,NULL,REPEAT(CONCAT('lorem ipsum ',s,' — '),1+s%8)), ` +
    `TIMESTAMP'2024-01-01 00:00:00'+INTERVAL ${id}*1013 SECOND+INTERVAL s*10101 MICROSECOND, ` +
    `TIMESTAMP'2023-06-01 12:00:00'+INTERVAL ${id} SECOND+INTERVAL (s*7)%1000*1000 MICROSECOND, ` +
    `DATE'2000-01-01'+INTERVAL ${id}%20000 DAY, SEC_TO_TIME((${id}*37)%600000-300000), ` +
    "ELT(1+s%5,'red','green','blue','cyan','magenta'), " +
    `IF(s%9=0,NULL,JSON_OBJECT('id',${id},'tags',JSON_ARRAY('a',s,1.5),'ok',s%2=0,'name','zoë')), ` +
    `IF(s%5=0,NULL,UNHEX(MD5(${id}))) FROM (SELECT CAST(seq AS SIGNED) AS s FROM ${seq}) q`
  );
}

function updateSql(table: TableName, from: number, variant: number): string {
  const where = `WHERE id BETWEEN ${from} AND ${from + TX_ROWS - 1}`;
  if (table === "sbtest1") {
    // sysbench's two updates: the indexed column, or a non-indexed one.
    return variant % 2 === 0
      ? `UPDATE ${SCHEMA}.sbtest1 SET k=k+1 ${where}`
      : `UPDATE ${SCHEMA}.sbtest1 SET c=${C_EXPR}, k=k-1 ${where}`;
  }
  return (
    `UPDATE ${SCHEMA}.wide16 SET bi=bi-1, ratio=ratio+0.25, amount=amount+1.01, ` +
    "note=IF(note IS NULL,'was null ∅',NULL), updated=updated+INTERVAL 1 SECOND, " +
    `doc=JSON_SET(COALESCE(doc,'{}'),'$.v',${variant}) ${where}`
  );
}

function deleteSql(table: TableName, from: number): string {
  return `DELETE FROM ${SCHEMA}.${table} WHERE id BETWEEN ${from} AND ${from + TX_ROWS - 1}`;
}

/** Live ids of a table are always exactly [lo, hi): inserts append, deletes cut the oldest. */
interface TableState {
  lo: number;
  hi: number;
  rounds: number;
}

/** One planned statement: it changes exactly the TX_ROWS rows with ids [from, from + TX_ROWS). */
export interface PlannedStatement {
  sql: string;
  kind: Kind;
  table: TableName;
  from: number;
}

/**
 * Every statement the workload of `rows` row changes runs, in binlog order (rounds of 10
 * transactions until at least `rows`). Deterministic: the same arguments always plan the same
 * statements, so a consumer of the binlog can be checked against the plan id by id (each
 * statement's rows appear in id order: inserts from the sequence, updates and deletes by a
 * primary key range).
 */
export function planWorkload(rows: number, wideEvery = DEFAULT_WIDE_EVERY): PlannedStatement[] {
  const state: Record<TableName, TableState> = {
    sbtest1: { lo: 1, hi: 1, rounds: 0 },
    wide16: { lo: 1, hi: 1, rounds: 0 },
  };
  const rand = prng(42);
  const plan: PlannedStatement[] = [];
  for (let round = 0; plan.length * TX_ROWS < rows; round++) {
    const table: TableName = wideEvery > 0 && round % wideEvery === wideEvery - 1 ? "wide16" : "sbtest1";
    const st = state[table];
    for (const [i, kind] of ROUND.entries()) {
      if (kind === "I") {
        plan.push({ sql: insertSql(table, st.hi), kind, table, from: st.hi });
        st.hi += TX_ROWS;
      } else if (kind === "U") {
        // Any 100 consecutive live ids: [lo, hi) has no gaps.
        const from = st.lo + Math.floor(rand() * (st.hi - st.lo - TX_ROWS + 1));
        plan.push({ sql: updateSql(table, from, st.rounds * ROUND.length + i), kind, table, from });
      } else {
        plan.push({ sql: deleteSql(table, st.lo), kind, table, from: st.lo });
        st.lo += TX_ROWS;
      }
    }
    st.rounds++;
  }
  return plan;
}

/** The workload's schema (database sbtest, tables sbtest1 and wide16). */
export async function createSchema(db: Pick<BenchServer, "query">): Promise<void> {
  await db.query(DDL.join(";"));
}

/** What writeStatements wrote. */
export interface Written {
  perTable: Record<TableName, number>;
  inserts: number;
  updates: number;
  deletes: number;
  transactions: number;
  total: number;
}

/**
 * Runs planned statements in order, STATEMENTS_PER_QUERY autocommit statements per round trip,
 * and checks that each changed exactly TX_ROWS rows. A part of a plan can be written, then the
 * rest (bench/delivery's catch-up writes its first statements before stopping the consumer).
 */
export async function writeStatements(
  db: Pick<BenchServer, "query">,
  stmtsToWrite: PlannedStatement[],
): Promise<Written> {
  const w: Written = {
    perTable: { sbtest1: 0, wide16: 0 },
    inserts: 0,
    updates: 0,
    deletes: 0,
    transactions: 0,
    total: 0,
  };
  let nextLog = performance.now() + 10_000;
  for (let at = 0; at < stmtsToWrite.length; at += STATEMENTS_PER_QUERY) {
    const stmts = stmtsToWrite.slice(at, at + STATEMENTS_PER_QUERY);
    const results = await db
      .query<Array<{ affectedRows: number }> | { affectedRows: number }>(stmts.map((s) => s.sql).join(";"))
      .catch((err: Error & { sql?: string }) => {
        // mysql2 puts the whole (long) SQL text in the error: keep the message only.
        throw new Error(`generating the workload failed: ${err.message}`);
      });
    const list = Array.isArray(results) ? results : [results];
    if (list.length !== stmts.length) throw new Error(`expected ${stmts.length} results, got ${list.length}`);
    for (const [i, r] of list.entries()) {
      const s = stmts[i] as (typeof stmts)[number];
      if (r.affectedRows !== TX_ROWS) {
        throw new Error(`a ${s.kind} on ${s.table} changed ${r.affectedRows} rows, not ${TX_ROWS}: ${s.sql}`);
      }
      if (s.kind === "I") w.inserts += TX_ROWS;
      else if (s.kind === "U") w.updates += TX_ROWS;
      else w.deletes += TX_ROWS;
      w.perTable[s.table] += TX_ROWS;
      w.transactions++;
      w.total += TX_ROWS;
    }
    if (performance.now() > nextLog) {
      log(`generating: ${w.total.toLocaleString("en-US")} row changes so far`);
      nextLog = performance.now() + 10_000;
    }
  }
  return w;
}

export async function generate(db: BenchServer, opts: GenerateOptions): Promise<Dataset> {
  const t0 = performance.now();
  const [ver] = await db.query<Array<{ v: string }>>("SELECT VERSION() AS v");
  const [mbs] = await db.query<Array<{ v: string }>>("SELECT @@max_binlog_size AS v");
  const [ann] = await db.query<Array<{ v: string }>>("SELECT @@binlog_annotate_row_events AS v");
  if (String(ann?.v) !== "0") throw new Error("binlog_annotate_row_events must be OFF for this benchmark");
  await createSchema(db);

  const wideEvery = opts.wideEvery ?? DEFAULT_WIDE_EVERY;
  const plan = planWorkload(opts.rows, wideEvery);
  const { perTable, inserts, updates, deletes, transactions, total } = await writeStatements(db, plan);

  const [head] = await db.query<Array<{ File: string; Position: string | number }>>("SHOW MASTER STATUS");
  if (!head) throw new Error("SHOW MASTER STATUS returned nothing");
  const end: BinlogPos = { file: head.File, position: Number(head.Position) };
  const logs = await db.query<Array<{ Log_name: string; File_size: string | number }>>("SHOW BINARY LOGS");
  const first = logs[0];
  if (!first) throw new Error("SHOW BINARY LOGS returned nothing");
  const start: BinlogPos = { file: first.Log_name, position: 4 };
  const files = logs
    .filter((l) => fileSeq(l.Log_name) <= fileSeq(end.file))
    .map((l) => ({ file: l.Log_name, bytes: l.Log_name === end.file ? end.position : Number(l.File_size) }));
  const dataset: Dataset = {
    rows: total,
    inserts,
    updates,
    deletes,
    perTable: { "sbtest.sbtest1": perTable.sbtest1, "sbtest.wide16": perTable.wide16 },
    transactions,
    wideEvery,
    start,
    end,
    files,
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    generationSeconds: (performance.now() - t0) / 1000,
    serverVersion: String(ver?.v),
    maxBinlogSize: Number(mbs?.v),
    createdAt: new Date().toISOString(),
  };
  if (comparePos(start, end) >= 0) throw new Error("the binlog is empty");
  if (opts.verify !== false) {
    const t1 = performance.now();
    const counted = await countRowsInBinlog(db, dataset);
    dataset.verifiedRows = counted.total;
    const expect = `${inserts}/${updates}/${deletes}`;
    const got = `${counted.inserts}/${counted.updates}/${counted.deletes}`;
    if (expect !== got) {
      throw new Error(`the binlog holds ${got} inserted/updated/deleted rows, expected ${expect}`);
    }
    log(
      `verified with mariadb-binlog --verbose: ${counted.total.toLocaleString("en-US")} row changes ` +
        `(${((performance.now() - t1) / 1000).toFixed(1)} s)`,
    );
  }
  return dataset;
}

/** The mariadb-binlog arguments that read [dataset.start, dataset.end) from the server. */
export function binlogRangeArgs(db: { port: number; replUser: string; replPassword: string }, ds: Dataset) {
  return [
    "--no-defaults",
    "--read-from-remote-server",
    "--host=127.0.0.1",
    `--port=${db.port}`,
    `--user=${db.replUser}`,
    `--password=${db.replPassword}`,
    "--skip-ssl",
    // Every file by name (one dump each), the stop position applying to the last one only.
    // (--to-last-log would apply --stop-position to every file.)
    `--start-position=${ds.start.position}`,
    ...ds.files.map((f) => f.file),
  ];
}

/** Counts row images in the binlog with `mariadb-binlog --verbose` (one "### VERB" line per row). */
export async function countRowsInBinlog(
  db: BenchServer,
  ds: Dataset,
): Promise<{ inserts: number; updates: number; deletes: number; total: number }> {
  const args = [
    ...binlogRangeArgs(db, ds),
    `--stop-position=${ds.end.position}`,
    "--base64-output=decode-rows",
    "--verbose",
  ];
  const child = spawn("mariadb-binlog", args, { stdio: ["ignore", "pipe", "pipe"] });
  const needles = [
    Buffer.from("\n### INSERT INTO "),
    Buffer.from("\n### UPDATE "),
    Buffer.from("\n### DELETE FROM "),
  ];
  const maxNeedle = Math.max(...needles.map((n) => n.length));
  const counts = [0, 0, 0];
  let carry = Buffer.alloc(0);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    stderr += d;
  });
  child.stdout.on("data", (chunk: Buffer) => {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    for (const [i, needle] of needles.entries()) {
      // A match lying wholly inside the carried tail was counted with the previous chunk.
      let at = buf.indexOf(needle, Math.max(0, carry.length - needle.length + 1));
      while (at >= 0) {
        counts[i] = (counts[i] as number) + 1;
        at = buf.indexOf(needle, at + needle.length);
      }
    }
    // Keep a tail one byte shorter than the longest needle, so a match split across two
    // chunks is found.
    carry = Buffer.from(buf.subarray(Math.max(0, buf.length - (maxNeedle - 1))));
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`mariadb-binlog --verbose exited with ${code}: ${stderr.slice(-2000)}`);
  const [inserts = 0, updates = 0, deletes = 0] = counts;
  return { inserts, updates, deletes, total: inserts + updates + deletes };
}

export function describeDataset(ds: Dataset): string {
  return (
    `${ds.rows.toLocaleString("en-US")} row changes (${ds.inserts.toLocaleString("en-US")} inserted, ` +
    `${ds.updates.toLocaleString("en-US")} updated, ${ds.deletes.toLocaleString("en-US")} deleted; ` +
    `sbtest1 ${ds.perTable["sbtest.sbtest1"]?.toLocaleString("en-US")}, wide16 ` +
    `${ds.perTable["sbtest.wide16"]?.toLocaleString("en-US")}) in ${ds.transactions.toLocaleString("en-US")} ` +
    `transactions, ${(ds.bytes / MB).toFixed(1)} MB of binlog in ${ds.files.length} file(s) ` +
    `${ds.start.file}:${ds.start.position} .. ${ds.end.file}:${ds.end.position}`
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), [
    ...["rows", "datadir", "max-binlog-size", "wide-every", "no-verify"],
  ]);
  const rows = args.has("rows") ? parseCount(args.get("rows") as string) : DEFAULT_ROWS;
  const maxBinlogSize = args.has("max-binlog-size")
    ? parseCount(args.get("max-binlog-size") as string)
    : DEFAULT_MAX_BINLOG_SIZE;
  const datadir = args.get("datadir");
  let db: BenchServer | undefined;
  try {
    db = await startFreshServer({ maxBinlogSize, keepDataDir: datadir !== undefined });
    const ds = await generate(db, {
      rows,
      verify: !args.has("no-verify"),
      maxBinlogSize,
      ...(args.has("wide-every") ? { wideEvery: parseCount(args.get("wide-every") as string) } : {}),
    });
    log(`generated in ${ds.generationSeconds.toFixed(1)} s: ${describeDataset(ds)}`);
    if (datadir) {
      await db.stop();
      saveDataset(db, ds, datadir);
      log(`dataset saved in ${datadir}; measure it with: node dist/bench/decode/run.js --datadir ${datadir}`);
    }
    process.stdout.write(`${JSON.stringify(ds, null, 2)}\n`);
  } finally {
    await db?.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
}
