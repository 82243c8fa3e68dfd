// The per-client limits (src/security/limits.ts) on their own: the token bucket, who a call
// counts against, and the hook's refusals (rate with a retry hint, streams and calls in
// flight), counts given back when calls end, and other clients untouched.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { retryAfterMs } from "../../../src/protocol/errors.js";
import { Call, CallPipeline, nodeCallHeaders, protocolOf } from "../../../src/protocol/pipeline.js";
import { limitClientOf, peerIp } from "../../../src/security/limit-client.js";
import { type Limits, limitsHook } from "../../../src/security/limits.js";
import { TokenBucket } from "../../../src/security/token-bucket.js";

function call(ip: string, opts: { streaming?: boolean; port?: number } = {}): Call {
  return new Call({
    service: "sluice.v1.CanalService",
    method: opts.streaming ? "Stream" : "Get",
    streaming: opts.streaming ?? false,
    ...protocolOf("application/grpc+proto"),
    httpVersion: "2",
    headers: nodeCallHeaders({}),
    socket: { remoteAddress: ip, remotePort: opts.port ?? 40000 },
    message: { destination: "example", clientId: "1001" },
  });
}

/** The refusal of `start`, or undefined when it let the call through. */
function refusal(p: CallPipeline, c: Call): ConnectError | undefined {
  try {
    p.start(c);
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}

test("a token bucket: full at first, one token per call, refilled at its rate up to its size", () => {
  const b = new TokenBucket(10, 3, 0);
  assert.deepEqual([b.take(0), b.take(0), b.take(0)], [0, 0, 0]);
  assert.equal(b.take(0), 100, "the next token in 1/rate s");
  assert.equal(b.take(50), 50);
  assert.equal(b.take(100), 0, "one token after 100 ms");
  assert.equal(b.full(100), false);
  assert.equal(b.full(1000), true, "refilled, never above its size");
  assert.deepEqual([b.take(1000), b.take(1000), b.take(1000)], [0, 0, 0]);
  assert.ok(b.take(1000) > 0);
});

test("a call counts against its peer's IP address (an IPv6 peer's /64), whatever its port", () => {
  assert.equal(peerIp("127.0.0.2:4242"), "127.0.0.2");
  assert.equal(peerIp("[::1]:4242"), "0:0:0:0::/64");
  assert.equal(peerIp("[2001:db8:1:2:aaaa::5]:80"), "2001:db8:1:2::/64");
  assert.equal(peerIp("[2001:db8:1:2:bbbb:cccc:dddd:eeee]:81"), "2001:db8:1:2::/64");
  assert.equal(peerIp("[::ffff:127.1.2.3]:80"), "127.1.2.3");
  assert.equal(peerIp("unknown:0"), "unknown");
  assert.deepEqual(
    limitClientOf(call("127.0.0.2", { port: 1 })),
    limitClientOf(call("127.0.0.2", { port: 2 })),
  );
  assert.notDeepEqual(limitClientOf(call("127.0.0.2")), limitClientOf(call("127.0.0.3")));
});

test("an authenticated principal is the client; a trusted gateway calling a server is not limited", () => {
  const c = call("127.0.0.2");
  assert.deepEqual(limitClientOf(c, { id: "team-a", via: "token" }), {
    key: "token:team-a",
    name: "client team-a",
  });
  assert.equal(limitClientOf(c, { id: "gw-1", via: "gateway" }), undefined);
});

const LIMITS: Limits = { streams: 2, calls: 3, rate: 10, burst: 5 };

test("the rate: a burst passes, then one call per 1/rate s; the refusal says when to retry", () => {
  let now = 0;
  const p = new CallPipeline([limitsHook(LIMITS, { now: () => now })]);
  for (let i = 0; i < 5; i++) {
    const c = call("127.0.0.11");
    assert.equal(refusal(p, c), undefined, `call ${i} of the burst`);
    p.end(c);
  }
  const refused = refusal(p, call("127.0.0.11"));
  assert.equal(refused?.code, Code.ResourceExhausted);
  assert.match(refused?.rawMessage ?? "", /client 127\.0\.0\.11 started more than 10 calls a second/);
  assert.equal(retryAfterMs(refused), 100);
  assert.equal(refusal(p, call("127.0.0.12")), undefined, "another client is not refused");
  now = 100;
  assert.equal(refusal(p, call("127.0.0.11")), undefined, "a token came back");
});

test("calls in flight and streams open: bounded per client, given back when they end", () => {
  const p = new CallPipeline([limitsHook({ ...LIMITS, rate: 1000, burst: 1000 })]);
  const open = [call("127.0.0.11"), call("127.0.0.11"), call("127.0.0.11")];
  for (const c of open) assert.equal(refusal(p, c), undefined);
  const fourth = refusal(p, call("127.0.0.11"));
  assert.equal(fourth?.code, Code.ResourceExhausted);
  assert.match(fourth?.rawMessage ?? "", /has 3 calls in progress, the most it may/);
  assert.equal(retryAfterMs(fourth), undefined);
  assert.equal(refusal(p, call("127.0.0.11", { streaming: true })), undefined, "streams count apart");
  assert.equal(refusal(p, call("127.0.0.11", { streaming: true })), undefined);
  const third = refusal(p, call("127.0.0.11", { streaming: true }));
  assert.match(third?.rawMessage ?? "", /has 2 streams open, the most it may/);
  assert.equal(refusal(p, call("127.0.0.12")), undefined, "another client is not refused");
  p.end(open[0] as Call, 0);
  assert.equal(refusal(p, call("127.0.0.11")), undefined, "room again once a call ended");
});

test("a call refused by a later hook gives its count back; a refused call holds none", () => {
  const limits = limitsHook({ ...LIMITS, rate: 1000, burst: 1000 });
  let refuseAll = true;
  const later = {
    name: "later",
    start() {
      if (refuseAll) throw new ConnectError("no", Code.PermissionDenied);
    },
  };
  const p = new CallPipeline([limits, later]);
  for (let i = 0; i < 10; i++) assert.equal(refusal(p, call("127.0.0.11"))?.code, Code.PermissionDenied);
  refuseAll = false;
  const open = [call("127.0.0.11"), call("127.0.0.11"), call("127.0.0.11")];
  for (const c of open) assert.equal(refusal(p, c), undefined, "no count was left behind");
  for (let i = 0; i < 5; i++) assert.equal(refusal(p, call("127.0.0.11"))?.code, Code.ResourceExhausted);
  for (const c of open) p.end(c, 0);
  assert.equal(refusal(p, call("127.0.0.11")), undefined, "refusals held no count");
});

test("clients with nothing open and a full bucket are forgotten", () => {
  let now = 0;
  const hook = limitsHook(LIMITS, { now: () => now });
  const p = new CallPipeline([hook]);
  const kept = call("127.0.0.11", { streaming: true });
  p.start(kept);
  for (let i = 0; i < 100; i++) {
    const c = call(`127.1.0.${i}`);
    p.start(c);
    p.end(c, 0);
  }
  assert.equal(hook.clients, 101);
  now = 60_000;
  const c = call("127.0.0.9");
  p.start(c);
  assert.equal(hook.clients, 2, "the one with a stream open, and the new one");
  p.end(c, 0);
});
