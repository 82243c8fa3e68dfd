// Cursors in canal's LogPosition JSON, so that canal's tools read what sluice writes:
// {"@type":"com.alibaba.otter.canal.protocol.position.LogPosition",
//  "identity":{"slaveId":-1,"sourceAddress":{"address":"host","port":3306}},
//  "postion":{"gtid":"","included":false,"journalName":"mysql-bin.000018","position":1689,
//             "serverId":1,"timestamp":1605775168000}}
// canal's misspelled "postion" is kept. `postion` is the resume point (the start of the
// first transaction not fully acked; included=false: nothing at it is consumed yet). sluice
// adds one object, "sluice", for what canal cannot say: how far into that transaction the
// client has acked.
import type { Cursor } from "../entry/positions.js";

export interface CanalLogPosition {
  "@type": "com.alibaba.otter.canal.protocol.position.LogPosition";
  identity: { slaveId: number; sourceAddress: { address: string; port: number } };
  postion: {
    gtid: string;
    included: boolean;
    journalName: string;
    position: number;
    serverId: number;
    timestamp: number;
  };
  sluice?: {
    version: 1;
    ackedThrough?: { journalName: string; position: number };
    /** Epoch of the runner that wrote the cursor (fencing: an older runner may not overwrite it). */
    epoch?: string;
  };
}

export function toCanalPosition(
  cursor: Cursor,
  source: { host: string; port: number },
  epoch?: bigint,
): CanalLogPosition {
  return {
    "@type": "com.alibaba.otter.canal.protocol.position.LogPosition",
    identity: { slaveId: -1, sourceAddress: { address: source.host, port: source.port } },
    postion: {
      gtid: cursor.resume.gtid,
      included: false,
      journalName: cursor.resume.file,
      position: cursor.resume.position,
      serverId: cursor.serverId,
      timestamp: cursor.resume.timestamp,
    },
    sluice: {
      version: 1,
      ...(epoch !== undefined ? { epoch: epoch.toString() } : {}),
      ...(cursor.ackedThrough
        ? { ackedThrough: { journalName: cursor.ackedThrough.file, position: cursor.ackedThrough.position } }
        : {}),
    },
  };
}

/** Reads canal's JSON (written by sluice or by canal itself); throws naming what is wrong. */
export function fromCanalPosition(text: string): Cursor {
  let json: Partial<CanalLogPosition>;
  try {
    json = JSON.parse(text) as Partial<CanalLogPosition>;
  } catch (err) {
    throw new Error(`cursor is not JSON: ${(err as Error).message}`);
  }
  const p = json.postion;
  if (!p || typeof p.journalName !== "string" || typeof p.position !== "number") {
    throw new Error('cursor lacks "postion.journalName" / "postion.position"');
  }
  const through = json.sluice?.ackedThrough;
  // A cursor canal's server wrote holds the position of the last acked event, not a point to
  // resume from: destination/canal-import.ts (adoptCanalCursors) rewrites it before use.
  return {
    resume: { file: p.journalName, position: p.position, gtid: p.gtid ?? "", timestamp: p.timestamp ?? 0 },
    ...(through ? { ackedThrough: { file: through.journalName, position: through.position } } : {}),
    serverId: p.serverId ?? 0,
  };
}

/** The epoch a cursor was written under (0 when canal or an older sluice wrote it). */
export function epochOfCanalPosition(text: string): bigint {
  try {
    const e = (JSON.parse(text) as Partial<CanalLogPosition>).sluice?.epoch;
    return e ? BigInt(e) : 0n;
  } catch {
    return 0n;
  }
}

/** True when canal's own server wrote the cursor (Sluice always adds its "sluice" object). */
export function writtenByCanal(text: string): boolean {
  try {
    return (JSON.parse(text) as Partial<CanalLogPosition>).sluice === undefined;
  } catch {
    return false;
  }
}
