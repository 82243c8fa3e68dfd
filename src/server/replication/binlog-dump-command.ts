// COM_REGISTER_SLAVE and COM_BINLOG_DUMP / COM_BINLOG_DUMP_GTID: their bytes, and the one-shot
// mysql2 command that sends COM_REGISTER_SLAVE.
//
// mysql2 does the connection, authentication (mysql_native_password, caching_sha2_password),
// TLS and the packets of every query; its own createBinlogStream is broken (it mangles file
// names and decodes no rows), so we send the dump request ourselves and frame the events it
// streams ourselves (dump-framer.ts). This file decodes nothing.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
// mysql2 exposes no public API for custom commands (and its package "exports" hide lib/);
// these two internals have been stable across its 2.x and 3.x lines. Pinned in package.json.
const mysql2Dir = dirname(require.resolve("mysql2/package.json"));
const Command = require(join(mysql2Dir, "lib/commands/command.js")) as new () => MysqlCommandBase;
const Packet = require(join(mysql2Dir, "lib/packets/packet.js")) as new (
  id: number,
  buffer: Buffer,
  start: number,
  end: number,
) => MysqlPacket;

interface MysqlPacket {
  buffer: Buffer;
  start: number;
  end: number;
  offset: number;
}

interface MysqlConnection {
  writePacket(packet: MysqlPacket): void;
  clientEncoding: string;
}

interface MysqlCommandBase {
  on(event: string, fn: (...args: unknown[]) => void): void;
  emit(event: string, ...args: unknown[]): boolean;
}

export const COM_BINLOG_DUMP = 0x12;
export const COM_REGISTER_SLAVE = 0x15;
export const COM_BINLOG_DUMP_GTID = 0x1e;

/** Flag: with a GTID dump, the server also sends the events it has after the GTID set. */
const BINLOG_THROUGH_GTID = 0x04;

export type DumpRequest =
  | { kind: "file"; serverId: number; file: string; position: number }
  | { kind: "mysql-gtid"; serverId: number; gtidSetEncoded: Buffer };

export interface DumpHandlers {
  /**
   * One binlog event: the bytes after the 0x00 OK marker. Valid only during the call: they
   * are a view of the connection's read buffer, which the next read overwrites. Copy what you keep.
   */
  event(bytes: Buffer): void;
  /** The server ended the dump (only with non-blocking dumps; we never ask for that). */
  end(): void;
}

/** A command as bytes on the wire: its packet header (length, sequence id 0), then `body`. */
export function commandPacket(body: Buffer): Buffer {
  const packet = Buffer.allocUnsafe(4 + body.length);
  packet.writeUIntLE(body.length, 0, 3);
  packet[3] = 0;
  body.copy(packet, 4);
  return packet;
}

/** The same bytes as a mysql2 packet, for commands mysql2 sends (it rewrites the header). */
function mysqlCommandPacket(body: Buffer): MysqlPacket {
  const buffer = commandPacket(body);
  const packet = new Packet(0, buffer, 0, buffer.length);
  packet.offset = 4;
  return packet;
}

export function binlogDumpBody(req: DumpRequest): Buffer {
  if (req.kind === "file") {
    const name = Buffer.from(req.file, "utf8");
    const body = Buffer.alloc(11 + name.length);
    body[0] = COM_BINLOG_DUMP;
    // The 4-byte position field cannot carry offsets past 4 GiB; MySQL and MariaDB both
    // cap binlog files below that (max_binlog_size <= 1 GiB).
    body.writeUInt32LE(req.position, 1);
    body.writeUInt16LE(0, 5); // flags: blocking dump
    body.writeUInt32LE(req.serverId, 7);
    name.copy(body, 11);
    return body;
  }
  const set = req.gtidSetEncoded;
  const body = Buffer.alloc(1 + 2 + 4 + 4 + 0 + 8 + 4 + set.length);
  let o = 0;
  body[o++] = COM_BINLOG_DUMP_GTID;
  body.writeUInt16LE(BINLOG_THROUGH_GTID, o);
  o += 2;
  body.writeUInt32LE(req.serverId, o);
  o += 4;
  body.writeUInt32LE(0, o); // binlog name length: none, the GTID set decides
  o += 4;
  body.writeBigUInt64LE(4n, o); // position
  o += 8;
  body.writeUInt32LE(set.length, o);
  o += 4;
  set.copy(body, o);
  return body;
}

export function registerSlaveBody(serverId: number, hostname: string, port: number): Buffer {
  const host = Buffer.from(hostname.slice(0, 60), "utf8");
  const body = Buffer.alloc(1 + 4 + 1 + host.length + 1 + 1 + 2 + 4 + 4);
  let o = 0;
  body[o++] = COM_REGISTER_SLAVE;
  body.writeUInt32LE(serverId, o);
  o += 4;
  body[o++] = host.length;
  host.copy(body, o);
  o += host.length;
  body[o++] = 0; // user
  body[o++] = 0; // password
  body.writeUInt16LE(port, o);
  o += 2;
  body.writeUInt32LE(0, o); // replication rank, ignored
  o += 4;
  body.writeUInt32LE(0, o); // master id, filled in by the server
  return body;
}

/** A one-shot command: sends `body`, expects an OK (or ERR) packet. */
export function createSimpleCommand(body: Buffer, done: (err: Error | null) => void): MysqlCommandBase {
  const cmd = new Command() as MysqlCommandBase & Record<string, unknown>;
  cmd.onResult = (err: Error) => done(err);
  cmd.start = (_packet: MysqlPacket, connection: MysqlConnection) => {
    connection.writePacket(mysqlCommandPacket(body));
    return cmd.response;
  };
  cmd.response = () => {
    done(null);
    return null;
  };
  return cmd;
}
