// The client side of TLS the gateway dials servers with (src/protocol/tls.ts): a server's
// certificate is checked against the IP connected to (servers are ip:port in ZooKeeper), or
// against a configured name that every server's certificate carries.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as tls from "node:tls";
import { connectTls } from "../../../src/protocol/tls.js";
import { TestCa } from "../../harness/certificates.js";

let dir: string;
let ca: TestCa;
const servers: tls.Server[] = [];

/** A TLS server with a certificate naming `names`; resolves with its port. */
async function serve(file: string, names: { ips?: string[]; dns?: string[] }): Promise<number> {
  const c = ca.issue(file, { cn: file, usage: "server", ...names });
  const s = tls.createServer(
    { cert: readFileSync(c.cert), key: readFileSync(c.key), ALPNProtocols: ["h2"] },
    (socket) => socket.end("hello"),
  );
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return (s.address() as { port: number }).port;
}

/** "ok" once the handshake succeeds (ALPN h2 agreed), or the error's message. */
function dial(port: number, serverName?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTls("127.0.0.1", port, { ca: readFileSync(ca.cert), serverName }, [
      "h2",
    ]) as tls.TLSSocket;
    socket.once("secureConnect", () => {
      resolve(socket.alpnProtocol === "h2" ? "ok" : `alpn ${socket.alpnProtocol}`);
      socket.destroy();
    });
    socket.once("error", (err) => resolve(err.message));
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "protocol-tls-"));
  ca = TestCa.create(dir, "ca");
});
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a server's certificate must name the IP dialled, or the configured server name", async () => {
  const byIp = await serve("by-ip", { ips: ["127.0.0.1"] });
  const byName = await serve("by-name", { dns: ["sluice-server"] });
  assert.equal(await dial(byIp), "ok");
  assert.match(await dial(byName), /IP: 127\.0\.0\.1 is not in the cert's list/);
  assert.equal(await dial(byName, "sluice-server"), "ok");
  assert.match(
    await dial(byName, "other-name"),
    /Host: other-name\. is not in the cert's altnames|does not match/,
  );
  assert.match(await dial(byIp, "sluice-server"), /sluice-server/, "a name given is checked, not the IP");
});
