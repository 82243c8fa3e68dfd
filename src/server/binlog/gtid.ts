// GTID events.
// MySQL: GTID_LOG_EVENT (33), ANONYMOUS_GTID_LOG_EVENT (34), GTID_TAGGED_LOG_EVENT (42, MySQL
// 8.3+, mysql::serialization format), PREVIOUS_GTIDS_LOG_EVENT (35, classic and tagged).
// MariaDB: GTID_EVENT (162), GTID_LIST_EVENT (163), BINLOG_CHECKPOINT_EVENT (161).
import type { BufferReader } from "./buffer-reader.js";
import { fail } from "./errors.js";
import type { EventHeader } from "./event-header.js";
import type { GtidEvent, MariadbGtidEvent, MariadbGtidListEvent } from "./events.js";

type Body<T> = Omit<T, "type" | "header" | "position">;

export function uuidText(b: Buffer | Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, 16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** GTID_LOG_EVENT / ANONYMOUS_GTID_LOG_EVENT (fixed layout, fields appended across versions). */
export function parseMysqlGtid(r: BufferReader, anonymous: boolean): Body<GtidEvent> {
  const flags = r.u8();
  const sid = uuidText(r.bytes(16));
  const gno = r.i64();
  const out: Body<GtidEvent> = {
    anonymous,
    gtid: anonymous ? "ANONYMOUS" : `${sid}:${gno}`,
    sid,
    gno,
    flags,
  };
  if (r.remaining >= 17 && r.buf[r.pos] === 2) {
    r.skip(1);
    out.lastCommitted = r.i64();
    out.sequenceNumber = r.i64();
    if (r.remaining >= 7) {
      let ts = BigInt(r.uintLE(6)) | (BigInt(r.u8()) << 48n);
      if (ts & (1n << 55n)) {
        ts &= ~(1n << 55n);
        out.immediateCommitTimestamp = ts;
        out.originalCommitTimestamp = BigInt(r.uintLE(6)) | (BigInt(r.u8()) << 48n);
      } else {
        out.immediateCommitTimestamp = ts;
        out.originalCommitTimestamp = ts;
      }
      if (r.remaining >= 1) {
        out.transactionLength = r.packedBig();
        if (r.remaining >= 4) {
          let v = r.u32();
          if (v & 0x80000000) {
            v = v & 0x7fffffff;
            out.immediateServerVersion = v;
            out.originalServerVersion = r.u32();
          } else {
            out.immediateServerVersion = v;
            out.originalServerVersion = v;
          }
          if (r.remaining >= 8) out.commitGroupTicket = r.u64();
        }
      }
    }
  }
  return out;
}

// ---- mysql::serialization (tagged GTIDs) ----------------------------------------------

/** Variable-length unsigned integer: trailing one bits of byte 0 + 1 = byte count (9 = full 64 bits). */
export function readVarUint(r: BufferReader): bigint {
  r.need(1);
  const first = r.buf[r.pos] as number;
  let n = 1;
  while (n < 9 && (first & (1 << (n - 1))) !== 0) n++;
  r.need(n);
  if (n === 9) {
    r.skip(1);
    return r.u64();
  }
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.buf[r.pos + i] as number);
  r.skip(n);
  return v >> BigInt(n);
}

export function readVarInt(r: BufferReader): bigint {
  const u = readVarUint(r);
  return (u & 1n) === 0n ? u >> 1n : -((u >> 1n) + 1n);
}

function readVarSmall(r: BufferReader): number {
  const v = readVarUint(r);
  if (v > 0xffffffffn) fail("serialized value too large");
  return Number(v);
}

/** GTID_TAGGED_LOG_EVENT. */
export function parseTaggedGtid(r: BufferReader): Body<GtidEvent> {
  readVarSmall(r); // serialization format version
  readVarSmall(r); // message size
  readVarSmall(r); // last non-ignorable field id
  let flags = 0;
  const uuid = new Uint8Array(16);
  let gno = 0n;
  let tag = "";
  const out: Partial<Body<GtidEvent>> = {};
  let seen7 = false;
  let seen10 = false;
  while (r.remaining > 0) {
    const id = readVarSmall(r);
    switch (id) {
      case 0:
        flags = readVarSmall(r);
        break;
      case 1:
        for (let i = 0; i < 16; i++) uuid[i] = readVarSmall(r);
        break;
      case 2:
        gno = readVarInt(r);
        break;
      case 3: {
        const len = readVarSmall(r);
        if (len > 32) fail(`GTID tag longer than 32 bytes (${len})`);
        tag = r.str(len);
        break;
      }
      case 4:
        out.lastCommitted = readVarInt(r);
        break;
      case 5:
        out.sequenceNumber = readVarInt(r);
        break;
      case 6:
        out.immediateCommitTimestamp = readVarUint(r);
        break;
      case 7:
        out.originalCommitTimestamp = readVarUint(r);
        seen7 = true;
        break;
      case 8:
        out.transactionLength = readVarUint(r);
        break;
      case 9:
        out.immediateServerVersion = Number(readVarUint(r));
        break;
      case 10:
        out.originalServerVersion = Number(readVarUint(r));
        seen10 = true;
        break;
      case 11:
        out.commitGroupTicket = readVarUint(r);
        break;
      default:
        // a field from a newer server: its encoding is unknown, stop
        r.pos = r.end;
    }
  }
  if (!seen7) out.originalCommitTimestamp = out.immediateCommitTimestamp;
  if (!seen10) out.originalServerVersion = out.immediateServerVersion;
  const sid = uuidText(uuid);
  return {
    ...out,
    anonymous: false,
    sid,
    tag: tag === "" ? undefined : tag,
    gno,
    flags,
    gtid: tag === "" ? `${sid}:${gno}` : `${sid}:${tag}:${gno}`,
  };
}

/** PREVIOUS_GTIDS_LOG_EVENT -> GTID set text. */
export function parsePreviousGtids(r: BufferReader): string {
  const head = r.bytes(8);
  const tagged = head[7] === 1;
  const count = tagged ? head.readUIntLE(1, 6) : Number(head.readBigUInt64LE(0));
  if (count > r.remaining / 16) fail(`implausible GTID set size ${count}`);
  let out = "";
  let lastUuid = "";
  for (let i = 0; i < count; i++) {
    const uuid = uuidText(r.bytes(16));
    let tag = "";
    if (tagged) {
      const len = readVarSmall(r);
      if (len > 32) fail(`GTID tag longer than 32 bytes (${len})`);
      tag = r.str(len);
    }
    const nIntervals = r.u64Number();
    if (nIntervals > r.remaining / 16) fail(`implausible interval count ${nIntervals}`);
    let ranges = "";
    for (let k = 0; k < nIntervals; k++) {
      const start = r.i64();
      const end = r.i64(); // exclusive
      ranges += end === start + 1n ? `:${start}` : `:${start}-${end - 1n}`;
    }
    if (uuid === lastUuid) out += tag === "" ? ranges : `:${tag}${ranges}`;
    else {
      if (out !== "") out += ",";
      out += tag === "" ? `${uuid}${ranges}` : `${uuid}:${tag}${ranges}`;
    }
    lastUuid = uuid;
  }
  return out;
}

// ---- MariaDB ----------------------------------------------------------------------------

const FL_STANDALONE = 1;
const FL_GROUP_COMMIT_ID = 2;
const FL_TRANSACTIONAL = 4;
const FL_DDL = 32;
const FL_PREPARED_XA = 64;
const FL_COMPLETED_XA = 128;

export function parseMariadbGtid(r: BufferReader, header: EventHeader): Body<MariadbGtidEvent> {
  const sequence = r.u64();
  const domainId = r.u32();
  const flags = r.u8();
  const out: Body<MariadbGtidEvent> = {
    domainId,
    serverId: header.serverId,
    sequence,
    gtid: `${domainId}-${header.serverId}-${sequence}`,
    flags,
    standalone: (flags & FL_STANDALONE) !== 0,
    transactional: (flags & FL_TRANSACTIONAL) !== 0,
    ddl: (flags & FL_DDL) !== 0,
  };
  if (flags & FL_GROUP_COMMIT_ID) out.commitId = r.u64();
  if (flags & (FL_PREPARED_XA | FL_COMPLETED_XA)) {
    const formatId = r.i32();
    const gl = r.u8();
    const bl = r.u8();
    const data = r.bytes(gl + bl);
    out.xa = {
      formatId,
      gtrid: data.toString("latin1", 0, gl),
      bqual: data.toString("latin1", gl, gl + bl),
    };
  }
  if (r.remaining > 0) {
    const fe = r.u8();
    if (fe !== 0) out.flagsExtra = fe;
  }
  return out;
}

export function parseMariadbGtidList(r: BufferReader): Body<MariadbGtidListEvent> {
  const v = r.u32();
  const count = v & 0x0fffffff;
  const flags = v >>> 28;
  if (count > r.remaining / 16) fail(`implausible GTID list length ${count}`);
  const gtids: MariadbGtidListEvent["gtids"] = [];
  for (let i = 0; i < count; i++) {
    const domainId = r.u32();
    const serverId = r.u32();
    const sequence = r.u64();
    gtids.push({ domainId, serverId, sequence });
  }
  return {
    gtids,
    gtidSet: gtids.map((g) => `${g.domainId}-${g.serverId}-${g.sequence}`).join(","),
    flags,
  };
}

export function parseBinlogCheckpoint(r: BufferReader): string {
  const len = r.u32();
  return r.str(len);
}
