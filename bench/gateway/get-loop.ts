// Child process of promoted.ts: sequential gRPC calls on a bare node:http2 session, so that
// the process being measured holds none of the client's objects.
//   node get-loop.js URL PATH BODY_HEX   then, per message N from the parent: N calls, "done"
import http2 from "node:http2";
import { bareGrpcCall } from "./bare-call.js";

const [url, path, hex] = process.argv.slice(2);
if (url === undefined || path === undefined || hex === undefined || process.send === undefined) {
  throw new Error("usage: forked with URL PATH BODY_HEX");
}
const body = Buffer.from(hex, "hex");
const session = http2.connect(url);
process.on("message", async (n: number) => {
  for (let i = 0; i < n; i++) await bareGrpcCall(session, path, body);
  process.send?.("done");
});
