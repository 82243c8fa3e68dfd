// canal's file-mode cursor file, {canal.file.data.dir}/{destination}/meta.dat, written by
// canal's FileMixedMetaManager (spring/file-instance.xml) every canal.file.flush.period:
//   {"clientDatas":[{"clientIdentity":{"clientId":1001,"destination":"example","filter":""},
//     "cursor":{"identity":{"slaveId":-1,"sourceAddress":{"address":"127.0.0.1","port":3306}},
//               "postion":{"gtid":"","included":false,"journalName":"mysql-bin.000001",
//                          "position":2345,"serverId":1,"timestamp":1700000000000}}}],
//    "destination":"example"}
// A client that subscribed and never acked has no "cursor". canal's cursor is the position
// of the last event the client acked (canal reads again from there).

export interface CanalMetaClient {
  clientId: string;
  /** The client's subscription filter ("" for none). */
  filter: string;
  cursor?: {
    journalName: string;
    position: number;
    gtid: string;
    timestamp: number;
    serverId: number;
  };
}

/** The clients of `destination` in a meta.dat text; throws an Error saying what is wrong. */
export function parseCanalMetaFile(text: string, destination: string): CanalMetaClient[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  const datas = (json as { clientDatas?: unknown } | null)?.clientDatas;
  if (datas === undefined || datas === null) return [];
  if (!Array.isArray(datas)) throw new Error('"clientDatas" is not a list');
  const out: CanalMetaClient[] = [];
  datas.forEach((d, i) => {
    const identity = (d as { clientIdentity?: Record<string, unknown> } | null)?.clientIdentity;
    if (!identity) throw new Error(`clientDatas[${i}] has no clientIdentity`);
    // canal keeps only its own destination's clients from a file (loadClientIdentity).
    if (identity.destination !== destination) return;
    const clientId = identity.clientId;
    if (typeof clientId !== "number" && typeof clientId !== "string") {
      throw new Error(`clientDatas[${i}].clientIdentity.clientId is missing`);
    }
    const client: CanalMetaClient = {
      clientId: String(clientId),
      filter: typeof identity.filter === "string" ? identity.filter : "",
    };
    const p = (d as { cursor?: { postion?: Record<string, unknown> } }).cursor?.postion;
    if (p) {
      if (typeof p.journalName !== "string" || typeof p.position !== "number") {
        throw new Error(`clientDatas[${i}].cursor.postion lacks journalName or position`);
      }
      client.cursor = {
        journalName: p.journalName,
        position: p.position,
        gtid: typeof p.gtid === "string" ? p.gtid : "",
        timestamp: typeof p.timestamp === "number" ? p.timestamp : 0,
        serverId: typeof p.serverId === "number" ? p.serverId : 0,
      };
    }
    out.push(client);
  });
  return out;
}
