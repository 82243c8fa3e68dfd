// A replica connection to a MySQL or MariaDB primary: connect, check that the server can feed
// us (binary log on, ROW format, grants), negotiate checksums and heartbeats, register as a
// replica and stream raw binlog events. It knows nothing of decoding; see ../binlog.
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { hostname } from "node:os";
import mysql from "mysql2/promise";
import {
  binlogDumpBody,
  commandPacket,
  createSimpleCommand,
  type DumpHandlers,
  type DumpRequest,
  registerSlaveBody,
} from "./binlog-dump-command.js";
import { DumpFramer } from "./dump-framer.js";
import { encodeMysqlGtidSet } from "./gtid-set.js";
import { ReadSocket } from "./read-socket.js";
import { describeSource, type SourceConfig } from "./source.js";

export type Flavor = "mysql" | "mariadb";

export interface ServerInfo {
  flavor: Flavor;
  /** e.g. "10.11.19-MariaDB-0+deb12u1" or "8.4.8". */
  version: string;
  major: number;
  minor: number;
  serverId: number;
  checksum: "CRC32" | "NONE";
  binlogFormat: string;
  /** The server's time zone for TIMESTAMP rendering: an IANA name or a fixed "+hh:mm" offset. */
  timeZone: string;
}

export type StartPosition =
  | { kind: "file"; file: string; position: number }
  /** MySQL: every transaction not in this executed GTID set, e.g. "3E11FA47-...:1-5". */
  | { kind: "mysql-gtid"; gtidSet: string }
  /** MariaDB: after this GTID state, e.g. "0-1-100" (one GTID per replication domain). */
  | { kind: "mariadb-gtid"; state: string };

export interface BinlogHead {
  file: string;
  position: number;
  /** Executed GTID set (MySQL) or binlog GTID position (MariaDB); empty when GTIDs are off. */
  gtid: string;
}

export type ReplicationErrorCode =
  | "CONNECT_FAILED"
  | "ACCESS_DENIED"
  | "MISSING_PRIVILEGE"
  | "BINLOG_OFF"
  | "BINLOG_FORMAT"
  | "BINLOG_PURGED"
  | "BAD_POSITION"
  | "CONNECTION_LOST"
  | "SERVER_ERROR";

export class ReplicationError extends Error {
  constructor(
    readonly code: ReplicationErrorCode,
    message: string,
    readonly serverErrno?: number,
  ) {
    super(message);
    this.name = "ReplicationError";
  }
  /** Worth reconnecting for (the network or the server went away), not a setup problem. */
  get retryable(): boolean {
    return this.code === "CONNECTION_LOST" || this.code === "CONNECT_FAILED";
  }
}

export interface DumpOptions {
  /** The replica server_id we present; must differ from every other replica's. */
  replicaServerId: number;
  /** The primary sends a heartbeat event after this much silence (default 5 s; 0 = off). */
  heartbeatMs?: number;
}

/** A running dump. Pause it to apply back-pressure: the socket stops reading. */
export interface BinlogDump {
  pause(): void;
  resume(): void;
  /** Ends the dump by closing its connection. */
  stop(): void;
  /** Settles when the dump ends: resolves on stop(), rejects with a ReplicationError otherwise. */
  readonly done: Promise<void>;
}

let serverIdCounter = 0;

/** A replica server_id unlikely to collide with real replicas or with another sluice process. */
export function makeReplicaServerId(avoid: number): number {
  for (;;) {
    const id = 0x40000000 + ((process.pid * 7919 + ++serverIdCounter * 104729 + Date.now()) % 0x3fffffff);
    if (id !== avoid) return id;
  }
}

export class ReplicationClient {
  readonly info: ServerInfo;
  readonly #conn: mysql.Connection;
  readonly #source: SourceConfig;
  /** The socket, when not TLS: the dump then reads it into one reused buffer. */
  readonly #reader: ReadSocket | undefined;
  #dumping = false;

  private constructor(
    conn: mysql.Connection,
    source: SourceConfig,
    info: ServerInfo,
    reader: ReadSocket | undefined,
  ) {
    this.#conn = conn;
    this.#source = source;
    this.info = info;
    this.#reader = reader;
  }

  /** Opens a connection and checks that this server can be replicated from. */
  static async connect(
    source: SourceConfig,
    opts: { connectTimeoutMs?: number } = {},
  ): Promise<ReplicationClient> {
    let conn: mysql.Connection;
    const ssl = sslOptions(source);
    // mysql2 upgrades a plain socket to TLS itself; only a plain connection gets ours.
    const reader = ssl === undefined ? new ReadSocket(source.host, source.port) : undefined;
    try {
      conn = await mysql.createConnection({
        host: source.host,
        port: source.port,
        ...(reader ? { stream: reader.socket } : {}),
        user: source.user,
        password: source.password,
        connectTimeout: opts.connectTimeoutMs ?? 10_000,
        ssl,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        charset: "utf8mb4",
      });
    } catch (err) {
      reader?.socket.destroy();
      throw connectError(err, source);
    }
    conn.on("error", () => {
      // Reported through the dump's `done` or the failing query; without a listener an
      // 'error' event would crash the process.
    });
    try {
      const info = await readServerInfo(conn);
      return new ReplicationClient(conn, source, info, reader);
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  async query<T = Record<string, unknown>[]>(sql: string, params?: unknown[]): Promise<T> {
    // Once dumping, the socket's bytes are the dump's (framed by us, not mysql2): a query sent
    // then would never get its answer.
    if (this.#dumping)
      throw new Error("this connection is streaming the binlog: queries need another connection");
    const [rows] = await this.#conn.query(sql, params);
    return rows as T;
  }

  /** The primary's current write position. */
  async head(): Promise<BinlogHead> {
    const statement =
      this.info.flavor === "mysql" && (this.info.major > 8 || (this.info.major === 8 && this.info.minor >= 4))
        ? "SHOW BINARY LOG STATUS"
        : "SHOW MASTER STATUS";
    let rows: Array<Record<string, string | number>>;
    try {
      rows = await this.query(statement);
    } catch (err) {
      throw mapQueryError(err, statement, this.info.flavor);
    }
    const row = rows[0];
    if (!row)
      throw new ReplicationError("BINLOG_OFF", `${statement} returned nothing: binary logging is off`);
    let gtid = String(row.Executed_Gtid_Set ?? "").replace(/\s+/g, "");
    if (this.info.flavor === "mariadb") {
      const [pos] = await this.query<Array<{ pos: string }>>("SELECT @@global.gtid_binlog_pos AS pos");
      gtid = pos?.pos ?? "";
    }
    return { file: String(row.File), position: Number(row.Position), gtid };
  }

  /** Binlog files the primary still has, oldest first. */
  async binlogFiles(): Promise<Array<{ file: string; size: number }>> {
    let rows: Array<{ Log_name: string; File_size: string | number }>;
    try {
      rows = await this.query("SHOW BINARY LOGS");
    } catch (err) {
      throw mapQueryError(err, "SHOW BINARY LOGS", this.info.flavor);
    }
    return rows.map((r) => ({ file: r.Log_name, size: Number(r.File_size) }));
  }

  /**
   * Starts streaming events from `start`. The connection is then the dump's: no more queries.
   * Events are handed to `handlers.event` synchronously, in order, as they arrive.
   */
  async dump(start: StartPosition, handlers: DumpHandlers, opts: DumpOptions): Promise<BinlogDump> {
    if (this.#dumping) throw new Error("this connection is already dumping the binlog");
    this.#dumping = true;
    const conn = this.#conn;
    const flavor = this.info.flavor;
    await this.#prepareSession(start, opts);

    const req: DumpRequest =
      start.kind === "mysql-gtid"
        ? {
            kind: "mysql-gtid",
            serverId: opts.replicaServerId,
            gtidSetEncoded: encodeMysqlGtidSet(start.gtidSet),
          }
        : start.kind === "mariadb-gtid"
          ? // MariaDB takes the GTID state from @slave_connect_state and ignores file/position.
            { kind: "file", serverId: opts.replicaServerId, file: "", position: 4 }
          : { kind: "file", serverId: opts.replicaServerId, file: start.file, position: start.position };

    let stopped = false;
    let settle!: { resolve: () => void; reject: (e: Error) => void };
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // biome-ignore lint/suspicious/noExplicitAny: mysql2's core connection is untyped
    const core = (conn as any).connection;
    // The TLS socket when TLS is on, else the ReadSocket's.
    const stream = core.stream as Socket;
    const finish = (err?: Error) => {
      if (stopped || !err) settle.resolve();
      else settle.reject(err);
    };
    // From here on the connection's bytes are the dump's packets, framed by us, not mysql2.
    const framer = new DumpFramer({
      event: handlers.event,
      end: () => {
        handlers.end();
        finish();
      },
      error: (err, fromHandler) => {
        finish(fromHandler ? err : mapDumpError(err, start, flavor));
        stream.destroy();
      },
    });
    if (this.#reader) this.#reader.sink = (chunk) => framer.push(chunk);
    else {
      stream.removeAllListeners("data");
      stream.on("data", (chunk: Buffer) => {
        if (!framer.push(chunk)) stream.pause();
      });
    }
    stream.once("close", () =>
      finish(
        new ReplicationError("CONNECTION_LOST", `the connection to ${describeSource(this.#source)} closed`),
      ),
    );
    stream.write(commandPacket(binlogDumpBody(req)));

    return {
      pause: () => {
        framer.pause();
        stream.pause();
      },
      resume: () => {
        framer.resume();
        if (!framer.paused) stream.resume();
      },
      stop: () => {
        stopped = true;
        // Destroying the socket is the only way to end a blocking dump.
        stream.destroy();
        finish();
      },
      done,
    };
  }

  /**
   * The zone the server renders TIMESTAMPs in now (ServerInfo.timeZone, read again). A query:
   * not on a connection that is streaming the binlog.
   */
  async timeZone(): Promise<string> {
    // A session keeps the zone it started with; NOW() must be in the current global one.
    await this.query("SET SESSION time_zone = @@global.time_zone");
    const rows = await this.query<Array<Record<string, string | number>>>(
      "SELECT @@global.time_zone AS tz, @@system_time_zone AS system_tz, " +
        "TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW()) AS offset_minutes",
    );
    const r = rows[0] ?? {};
    return resolveTimeZone(String(r.tz), String(r.system_tz), Number(r.offset_minutes));
  }

  close(): void {
    this.#conn.destroy();
  }

  async #prepareSession(start: StartPosition, opts: DumpOptions): Promise<void> {
    const statements = [
      // Both flavours send checksums only to replicas that say they can verify them.
      "SET @master_binlog_checksum = @@global.binlog_checksum",
      `SET @master_heartbeat_period = ${BigInt(opts.heartbeatMs ?? 5000) * 1_000_000n}`,
    ];
    if (this.info.flavor === "mariadb") {
      // 4 = MARIA_SLAVE_CAPABILITY_GTID: GTID events, annotate events, no fake events for old replicas.
      statements.push("SET @mariadb_slave_capability = 4");
      if (start.kind === "mariadb-gtid") {
        statements.push(
          `SET @slave_connect_state = ${this.#conn.escape(start.state)}`,
          "SET @slave_gtid_strict_mode = 0",
          "SET @slave_gtid_ignore_duplicates = 0",
        );
      }
    }
    if (start.kind === "mariadb-gtid" && this.info.flavor !== "mariadb") {
      throw new ReplicationError(
        "BAD_POSITION",
        "a MariaDB GTID start position was given for a MySQL server",
      );
    }
    if (start.kind === "mysql-gtid" && this.info.flavor !== "mysql") {
      throw new ReplicationError(
        "BAD_POSITION",
        "a MySQL GTID set start position was given for a MariaDB server",
      );
    }
    for (const sql of statements) {
      try {
        await this.#conn.query(sql);
      } catch (err) {
        throw mapQueryError(err, sql, this.info.flavor);
      }
    }
    await this.#command(registerSlaveBody(opts.replicaServerId, hostname(), 0)).catch((err) => {
      throw mapDumpError(err, start, this.info.flavor);
    });
  }

  #command(body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      // biome-ignore lint/suspicious/noExplicitAny: mysql2's core connection is untyped
      (this.#conn as any).connection.addCommand(
        createSimpleCommand(body, (err) => (err ? reject(err) : resolve())),
      );
    });
  }
}

async function readServerInfo(conn: mysql.Connection): Promise<ServerInfo> {
  const [rows] = await conn.query(
    "SELECT VERSION() AS version, @@version_comment AS comment, @@server_id AS server_id, @@log_bin AS log_bin, " +
      "@@global.binlog_format AS binlog_format, @@global.binlog_checksum AS checksum, " +
      "@@global.time_zone AS tz, @@system_time_zone AS system_tz, " +
      "TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW()) AS offset_minutes",
  );
  const r = (rows as Array<Record<string, string | number>>)[0] ?? {};
  const version = String(r.version);
  const flavor: Flavor = /mariadb/i.test(`${version} ${r.comment}`) ? "mariadb" : "mysql";
  const [major = 0, minor = 0] = version.split(/[.-]/).map((p) => Number.parseInt(p, 10));
  if (String(r.log_bin) !== "1") {
    throw new ReplicationError("BINLOG_OFF", "binary logging is off on the source: start it with --log-bin");
  }
  const binlogFormat = String(r.binlog_format).toUpperCase();
  if (binlogFormat !== "ROW") {
    throw new ReplicationError(
      "BINLOG_FORMAT",
      `binlog_format is ${binlogFormat} on the source; sluice needs ROW ` +
        "(SET GLOBAL binlog_format = 'ROW' and in the server's configuration)",
    );
  }
  const checksum = String(r.checksum).toUpperCase() === "CRC32" ? "CRC32" : "NONE";
  return {
    flavor,
    version,
    major,
    minor,
    serverId: Number(r.server_id),
    checksum,
    binlogFormat,
    timeZone: resolveTimeZone(String(r.tz), String(r.system_tz), Number(r.offset_minutes)),
  };
}

/**
 * The zone TIMESTAMP values are shown in by the server's own client (its global time_zone).
 * SYSTEM means the OS zone, which the server only reports as an abbreviation ("CET", "UTC");
 * we use it when it is an IANA name and fall back to the current fixed offset otherwise.
 */
export function resolveTimeZone(globalTz: string, systemTz: string, offsetMinutes: number): string {
  const candidate = globalTz === "SYSTEM" ? systemTz : globalTz;
  if (/^[+-]\d{1,2}:\d{2}$/.test(candidate)) return candidate;
  // UTC needs no check (and no ICU: the process's first Intl.DateTimeFormat takes 13-20 ms).
  if (/^(utc|gmt)$/i.test(candidate)) return candidate;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: candidate });
    return candidate;
  } catch {
    const sign = offsetMinutes < 0 ? "-" : "+";
    const abs = Math.abs(offsetMinutes);
    return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  }
}

function sslOptions(source: SourceConfig): mysql.SslOptions | undefined {
  if (source.ssl === "off") return undefined;
  const ca = source.caFile ? readFileSync(source.caFile) : undefined;
  if (source.ssl === "required") return { rejectUnauthorized: false, ...(ca ? { ca } : {}) };
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    ...(source.ssl === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
  };
}

interface SqlError {
  errno?: number;
  code?: string;
  message: string;
}

function connectError(err: unknown, source: SourceConfig): ReplicationError {
  const e = err as SqlError;
  const where = describeSource(source);
  if (e.errno === 1045)
    return new ReplicationError("ACCESS_DENIED", `access denied for ${where}: ${e.message}`, 1045);
  return new ReplicationError("CONNECT_FAILED", `cannot connect to ${where}: ${e.message}`, e.errno);
}

function mapQueryError(err: unknown, statement: string, flavor: Flavor): ReplicationError {
  const e = err as SqlError;
  if (e.errno === 1227 || e.errno === 1142 || e.errno === 1044) {
    const grant = flavor === "mariadb" ? "BINLOG MONITOR" : "REPLICATION CLIENT";
    return new ReplicationError(
      "MISSING_PRIVILEGE",
      `${statement} was refused: the source user needs the ${grant} privilege ` +
        `(GRANT ${grant}, REPLICATION SLAVE ON *.* TO ...). Server said: ${e.message}`,
      e.errno,
    );
  }
  if (e.code === "PROTOCOL_CONNECTION_LOST" || e.code === "ECONNRESET" || e.code === "EPIPE") {
    return new ReplicationError(
      "CONNECTION_LOST",
      `connection lost during ${statement}: ${e.message}`,
      e.errno,
    );
  }
  return new ReplicationError("SERVER_ERROR", `${statement} failed: ${e.message}`, e.errno);
}

function mapDumpError(err: unknown, start: StartPosition, flavor: Flavor): ReplicationError {
  const e = err as SqlError;
  const where =
    start.kind === "file"
      ? `${start.file}:${start.position}`
      : start.kind === "mysql-gtid"
        ? `GTID set ${start.gtidSet}`
        : `GTID state ${start.state}`;
  if (e.errno === 1227 || e.errno === 1045) {
    return new ReplicationError(
      "MISSING_PRIVILEGE",
      `the source refused to stream its binlog: the user needs the REPLICATION SLAVE privilege ` +
        `(GRANT REPLICATION SLAVE${flavor === "mariadb" ? ", BINLOG MONITOR" : ", REPLICATION CLIENT"} ON *.* TO ...). ` +
        `Server said: ${e.message}`,
      e.errno,
    );
  }
  if (e.errno === 1236) {
    // ER_MASTER_FATAL_ERROR_READING_BINLOG covers both a purged/unknown file and a bad offset.
    const purged =
      /could not find first log file|purged|not find.*binlog|could not find gtid|gtid.*not.*found/i.test(
        e.message,
      );
    return new ReplicationError(
      purged ? "BINLOG_PURGED" : "BAD_POSITION",
      purged
        ? `the source no longer has the binlog for ${where} (purged or never existed); ` +
            `start from a position it still has. Server said: ${e.message}`
        : `the source cannot stream from ${where}: ${e.message}`,
      1236,
    );
  }
  if (e.code === "PROTOCOL_CONNECTION_LOST" || e.code === "ECONNRESET" || e.code === "EPIPE") {
    return new ReplicationError(
      "CONNECTION_LOST",
      `binlog connection lost at ${where}: ${e.message}`,
      e.errno,
    );
  }
  return new ReplicationError("SERVER_ERROR", `binlog dump from ${where} failed: ${e.message}`, e.errno);
}
