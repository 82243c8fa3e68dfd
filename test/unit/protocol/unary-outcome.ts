// One unary Get through a transport, reduced to what callers can see: the answer with a response
// header and trailer, or the error's code, message, retry-after-ms and number of details. The
// lean transports' tests compare these with connect-node's.
import { type Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { CanalService } from "../../../src/gen/sluice/v1/canal_service_pb.js";

export type Outcome =
  | { ok: true; batchId: string; epoch: bigint; header: string | null; trailer: string | null }
  | { ok: false; code: Code; message: string; retryAfter: string | null; details: number };

export async function outcome(
  transport: Transport,
  clientId: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<Outcome> {
  const client = createClient(CanalService, transport);
  let header: string | null = null;
  let trailer: string | null = null;
  try {
    const res = await client.get(
      { destination: "d", clientId, batchSize: 10 },
      {
        ...opts,
        headers: { "x-custom": "yes" },
        onHeader: (h) => {
          header = h.get("x-answer");
        },
        onTrailer: (t) => {
          trailer = t.get("x-answer");
        },
      },
    );
    return { ok: true, batchId: res.batchId, epoch: res.epoch, header, trailer };
  } catch (err) {
    const e = ConnectError.from(err);
    return {
      ok: false,
      code: e.code,
      message: e.rawMessage,
      retryAfter: e.metadata.get("retry-after-ms"),
      details: e.details.length,
    };
  }
}
