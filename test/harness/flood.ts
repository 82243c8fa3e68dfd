// A client that floods a server or gateway, in a process of its own (so that its work does not
// slow the client it is measured against), from a loopback address of its own (so that the
// limits, which count clients by address, see it as one client apart). Bounded: `concurrency`
// calls or streams at once, for `durationMs`; loopback only. Prints what it got as one JSON line.
//
//   node dist/test/harness/flood.js '{"url":"http://127.0.0.1:P","localAddress":"127.0.0.2",
//     "kind":"get","concurrency":500,"durationMs":3000,"clientPrefix":"flood"}'
//
// kinds: get (Get, and Ack of what it got, on `clients` subscribed clientIds), stream (a stream
// per clientId, each read until the end), subscribe (Subscribe a new clientId, then Unsubscribe
// it), admin (GetDestination and ListDestinations).
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import { codeName } from "../../src/protocol/wire-errors.js";

export type FloodKind = "get" | "stream" | "subscribe" | "admin";

export interface FloodOptions {
  url: string;
  localAddress: string;
  kind: FloodKind;
  concurrency: number;
  durationMs: number;
  clientPrefix: string;
  /** clientIds the get flood subscribes and shares among its workers. Default 20. */
  clients?: number;
}

/** What a flood got: calls answered ok, and the others by code. */
export interface FloodResult {
  ok: number;
  failed: Record<string, number>;
}

const DESTINATION = "example";

/** Calls a connection carries at once: node:http2's client allows 100 until the server says more. */
const PER_CONNECTION = 50;

export async function flood(o: FloodOptions): Promise<FloodResult> {
  // As many connections as it takes for all the calls to be open at once on the server.
  const connections = Array.from({ length: Math.ceil(o.concurrency / PER_CONNECTION) }, () => {
    const transport = createGrpcTransport({
      baseUrl: o.url,
      // node:http2's connect passes it to net.connect (its types do not list it).
      nodeOptions: { localAddress: o.localAddress } as object,
    });
    return { canal: createClient(CanalService, transport), admin: createClient(AdminService, transport) };
  });
  const clients = (i: number) => connections[i % connections.length] as (typeof connections)[number];
  const result: FloodResult = { ok: 0, failed: {} };
  const count = async (p: Promise<unknown>): Promise<boolean> => {
    try {
      await p;
      result.ok++;
      return true;
    } catch (err) {
      const code = codeName(ConnectError.from(err).code);
      result.failed[code] = (result.failed[code] ?? 0) + 1;
      return false;
    }
  };
  const until = Date.now() + o.durationMs;
  const stop = AbortSignal.timeout(o.durationMs);
  const workers = (work: (i: number) => Promise<void>) =>
    Promise.all(Array.from({ length: o.concurrency }, (_, i) => work(i)));
  switch (o.kind) {
    case "get": {
      const sessions = await subscribeAll(clients(0).canal, o.clientPrefix, o.clients ?? 20);
      await workers(async (i) => {
        const { canal } = clients(i);
        const [clientId, session] = sessions[i % sessions.length] as [string, string];
        while (Date.now() < until) {
          let batchId = "";
          await count(
            canal
              .get({ destination: DESTINATION, clientId, session, batchSize: 100, timeoutMs: 0n })
              .then((r) => {
                batchId = r.batchId;
              }),
          );
          if (batchId) await count(canal.ack({ destination: DESTINATION, clientId, session, batchId }));
        }
      });
      break;
    }
    case "stream":
      await workers(async (i) => {
        const { canal } = clients(i);
        while (Date.now() < until) {
          await count(
            (async () => {
              const s = canal.stream(
                { destination: DESTINATION, clientId: `${o.clientPrefix}-${i}`, batchSize: 100 },
                { signal: stop },
              );
              for await (const _ of s) {
                // read and drop; unacked batches stay unacked, the window then pauses the stream
              }
            })().catch((err: unknown) => {
              if (stop.aborted) return;
              throw err;
            }),
          );
        }
      });
      break;
    case "subscribe":
      await workers(async (i) => {
        const { canal } = clients(i);
        for (let n = 0; Date.now() < until; n++) {
          const clientId = `${o.clientPrefix}-${i}-${n}`;
          let session = "";
          const ok = await count(
            canal.subscribe({ destination: DESTINATION, clientId }).then((r) => {
              session = r.session;
            }),
          );
          if (ok) await count(canal.unsubscribe({ destination: DESTINATION, clientId, session }));
        }
      });
      break;
    case "admin":
      await workers(async (i) => {
        const { admin } = clients(i);
        while (Date.now() < until) {
          await count(
            i % 2 === 0 ? admin.getDestination({ destination: DESTINATION }) : admin.listDestinations({}),
          );
        }
      });
      break;
  }
  return result;
}

/** Subscribes `n` clientIds, one call at a time (not refused as a flood); their sessions. */
async function subscribeAll(
  canal: Client<typeof CanalService>,
  prefix: string,
  n: number,
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const clientId = `${prefix}-${i}`;
    const r = await canal.subscribe({ destination: DESTINATION, clientId });
    out.push([clientId, r.session]);
  }
  return out;
}

/** How long calls still open when the flood's time is up may take to end before it stops anyway. */
const DRAIN_MS = 10_000;

if (process.argv[1]?.endsWith("flood.js") && process.argv[2]) {
  const options = JSON.parse(process.argv[2]) as FloodOptions;
  const result = await Promise.race([
    flood(options),
    new Promise<FloodResult>((resolve) =>
      setTimeout(() => resolve({ ok: -1, failed: { unfinished: 1 } }), options.durationMs + DRAIN_MS).unref(),
    ),
  ]);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
