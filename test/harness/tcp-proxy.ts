// A TCP proxy on loopback for fault tests: forwards to a target until told to black-hole the
// traffic (bytes are swallowed, connections stay open, as when a network path silently
// drops packets), or to cut connections outright.
import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./processes.js";

export interface TcpProxy {
  readonly port: number;
  readonly address: string;
  /** Swallow all traffic from now on; connections stay open and new ones hang. */
  blackhole(): void;
  /** Forward again (connections made meanwhile start forwarding too). */
  restore(): void;
  /** Close every connection at once (RST-like for both sides). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let dropping = false;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => {
        if (!dropping) to.write(chunk);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    address: `127.0.0.1:${port}`,
    blackhole() {
      dropping = true;
    },
    restore() {
      dropping = false;
    },
    cutAll() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
