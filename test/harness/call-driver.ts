// Every method of the API over every protocol and transport (gRPC and gRPC JSON on h2c;
// gRPC-Web, Connect binary and Connect JSON on HTTP/1.1 and h2c): the fast paths included (the
// server's lean gRPC path for Get/Ack/Rollback, the gateway's byte relays of gRPC and Connect
// Get/Ack/Rollback and of gRPC and binary Connect streams). Used by the call-pipeline and
// security tests to show that a hook sees, and a check refuses, every call whichever path
// answers it.
import assert from "node:assert/strict";
import { ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { AdminService } from "../../src/gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";

export interface DriverTransport {
  name: string;
  protocol: string;
  codec: string;
  http: "1.1" | "2";
  /** A transport to `url`; `headers` go with every call (credentials). */
  make: (url: string, headers?: Record<string, string>) => Transport;
}

function headerInterceptors(headers: Record<string, string> | undefined): Interceptor[] {
  if (headers === undefined) return [];
  return [
    (next) => (req) => {
      for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
      return next(req);
    },
  ];
}

export const TRANSPORTS: DriverTransport[] = [
  {
    name: "gRPC",
    protocol: "grpc",
    codec: "proto",
    http: "2",
    make: (u, h) => createGrpcTransport({ baseUrl: u, interceptors: headerInterceptors(h) }),
  },
  {
    name: "gRPC JSON",
    protocol: "grpc",
    codec: "json",
    http: "2",
    make: (u, h) =>
      createGrpcTransport({ baseUrl: u, useBinaryFormat: false, interceptors: headerInterceptors(h) }),
  },
  ...(["1.1", "2"] as const).flatMap((http) => [
    {
      name: `gRPC-Web HTTP/${http}`,
      protocol: "grpc-web",
      codec: "proto",
      http,
      make: (u: string, h?: Record<string, string>) =>
        createGrpcWebTransport({ baseUrl: u, httpVersion: http, interceptors: headerInterceptors(h) }),
    },
    {
      name: `gRPC-Web JSON HTTP/${http}`,
      protocol: "grpc-web",
      codec: "json",
      http,
      make: (u: string, h?: Record<string, string>) =>
        createGrpcWebTransport({
          baseUrl: u,
          httpVersion: http,
          useBinaryFormat: false,
          interceptors: headerInterceptors(h),
        }),
    },
    {
      name: `Connect binary HTTP/${http}`,
      protocol: "connect",
      codec: "proto",
      http,
      make: (u: string, h?: Record<string, string>) =>
        createConnectTransport({ baseUrl: u, httpVersion: http, interceptors: headerInterceptors(h) }),
    },
    {
      name: `Connect JSON HTTP/${http}`,
      protocol: "connect",
      codec: "json",
      http,
      make: (u: string, h?: Record<string, string>) =>
        createConnectTransport({
          baseUrl: u,
          httpVersion: http,
          useBinaryFormat: false,
          interceptors: headerInterceptors(h),
        }),
    },
  ]),
];

export const METHODS = [
  "sluice.v1.CanalService/Subscribe",
  "sluice.v1.CanalService/Get",
  "sluice.v1.CanalService/Ack",
  "sluice.v1.CanalService/Rollback",
  "sluice.v1.CanalService/Stream",
  "sluice.v1.CanalService/Unsubscribe",
  "sluice.v1.AdminService/ListDestinations",
  "sluice.v1.AdminService/GetDestination",
  "sluice.v1.AdminService/SetCursor",
  "sluice.v1.AdminService/SkipEvent",
  "sluice.v1.AdminService/ReleaseDestination",
] as const;

export type Outcomes = Map<string, ConnectError | "ok">;

/**
 * Every method once over `transport`, as client `clientId` of `destination` (the stream as
 * `${clientId}-s`); each call's outcome. The stream is canceled once its first message
 * (`subscribed`) came: its outcome then is "ok" or canceled.
 */
export async function everyMethod(
  transport: Transport,
  clientId: string,
  destination = "example",
): Promise<Outcomes> {
  const canal = createClient(CanalService, transport);
  const admin = createClient(AdminService, transport);
  const outcome = async (p: Promise<unknown>): Promise<ConnectError | "ok"> =>
    p.then(
      () => "ok" as const,
      (e: unknown) => ConnectError.from(e),
    );
  const out: Outcomes = new Map();
  const sub = await canal.subscribe({ destination, clientId }).catch((e: unknown) => ConnectError.from(e));
  out.set(METHODS[0], sub instanceof ConnectError ? sub : "ok");
  const session = sub instanceof ConnectError ? "" : sub.session;
  out.set(METHODS[1], await outcome(canal.get({ destination, clientId, session, batchSize: 10 })));
  out.set(METHODS[2], await outcome(canal.ack({ destination, clientId, session, batchId: "1-1-1" })));
  out.set(METHODS[3], await outcome(canal.rollback({ destination, clientId, session })));
  // The stream: read up to `subscribed`, then cancel it (its call ends canceled).
  const stop = new AbortController();
  const stream = canal.stream(
    { destination, clientId: `${clientId}-s`, batchSize: 10 },
    { signal: stop.signal },
  );
  out.set(
    METHODS[4],
    await outcome(
      (async () => {
        for await (const m of stream) {
          assert.equal(m.message.case, "subscribed");
          stop.abort();
        }
      })(),
    ),
  );
  out.set(METHODS[5], await outcome(canal.unsubscribe({ destination, clientId, session })));
  out.set(METHODS[6], await outcome(admin.listDestinations({})));
  out.set(METHODS[7], await outcome(admin.getDestination({ destination })));
  out.set(
    METHODS[8],
    await outcome(admin.setCursor({ destination, clientId, target: { case: "head", value: true } })),
  );
  out.set(
    METHODS[9],
    await outcome(admin.skipEvent({ destination, journalName: "mysql-bin.000001", position: 4n })),
  );
  out.set(METHODS[10], await outcome(admin.releaseDestination({ destination })));
  return out;
}
