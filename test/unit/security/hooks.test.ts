// The authentication and authorization hooks on calls built by hand (the integration tests
// drive them over every protocol and path): who is let in, as whom, and what each refusal says.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { silentLogger } from "../../../src/common/log.js";
import { Call, CallPipeline } from "../../../src/protocol/pipeline.js";
import { VISIBLE_DESTINATIONS } from "../../../src/security/authorize.js";
import { canalPasswd } from "../../../src/security/canal-user.js";
import { GATEWAY_HEADER, gatewayProof, PRINCIPAL_HEADER } from "../../../src/security/gateway-trust.js";
import { PRINCIPAL } from "../../../src/security/principal.js";
import { createSecurity, type Security } from "../../../src/security/security.js";
import { authenticationConfigured } from "../../../src/security/settings.js";
import { createToken } from "../../../src/security/tokens.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-hooks-"));
const files = {
  tokens: join(dir, "tokens"),
  policy: join(dir, "policy.yaml"),
  secret: join(dir, "gateway.secret"),
};
let reader: string;
let scoped: string;
let admin: string;
before(async () => {
  const made = await Promise.all([
    createToken("reader"),
    createToken("scoped", ["read:orders"]),
    createToken("admin"),
  ]);
  [reader, scoped, admin] = made.map((m) => m.token) as [string, string, string];
  writeFileSync(files.tokens, made.map((m) => m.line).join("\n"));
  writeFileSync(
    files.policy,
    [
      "rules:",
      "  - principals: [token:reader, token:scoped, canal:canal]",
      "    destinations: [orders, shop]",
      "    allow: [read]",
      "  - principals: [token:admin, certificate:ops]",
      '    destinations: ["*"]',
      "    allow: [read, admin]",
    ].join("\n"),
  );
  writeFileSync(files.secret, "s3cret-shared-by-gateways\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Fake {
  service?: string;
  method?: string;
  headers?: Record<string, string>;
  message?: Record<string, unknown>;
  tls?: { cn: string; authorized: boolean };
}

function call(f: Fake = {}): Call {
  const h = f.headers ?? {};
  const socket = f.tls
    ? {
        remoteAddress: "10.0.0.1",
        remotePort: 5000,
        encrypted: true,
        authorized: f.tls.authorized,
        getPeerCertificate: () => ({ subject: { CN: f.tls?.cn } }),
      }
    : { remoteAddress: "10.0.0.1", remotePort: 5000 };
  return new Call({
    service: f.service ?? "sluice.v1.CanalService",
    method: f.method ?? "Get",
    streaming: false,
    protocol: "connect",
    codec: "json",
    httpVersion: "1.1",
    headers: { get: (n) => h[n] ?? null },
    socket,
    message: f.message ?? { destination: "orders", clientId: "1001", session: "" },
  });
}

/** Runs the security's hooks on a call: the ConnectError it is refused with, or the call. */
async function run(s: Security, c: Call): Promise<ConnectError | Call> {
  const p = new CallPipeline(s.hooks);
  try {
    await p.start(c);
    return c;
  } catch (err) {
    return ConnectError.from(err);
  }
}

function refused(got: ConnectError | Call, code: Code, message: RegExp): void {
  assert.ok(got instanceof ConnectError, "refused");
  assert.equal(got.code, code, got.message);
  assert.match(got.rawMessage, message);
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

test("a server with tokens and a policy: no credentials, bad ones, and wrong scope are refused, saying what to send or what is missing", async () => {
  const s = createSecurity({ tokensFile: files.tokens, policyFile: files.policy }, "server", silentLogger);
  try {
    refused(
      await run(s, call()),
      Code.Unauthenticated,
      /credentials are required: send "authorization: Bearer <token>"/,
    );
    refused(
      await run(s, call({ headers: bearer(`${reader}x`) })),
      Code.Unauthenticated,
      /^the bearer token was not accepted$/,
    );
    refused(
      await run(s, call({ headers: bearer("nobody.abc") })),
      Code.Unauthenticated,
      /^the bearer token was not accepted$/,
    );
    refused(
      await run(s, call({ headers: { authorization: "Token abc" } })),
      Code.Unauthenticated,
      /must be "Bearer <token>"/,
    );
    const ok = await run(s, call({ headers: bearer(reader) }));
    assert.ok(ok instanceof Call);
    assert.deepEqual(ok.values.get(PRINCIPAL), { id: "reader", via: "token" });
    refused(
      await run(s, call({ headers: bearer(reader), message: { destination: "billing", clientId: "1001" } })),
      Code.PermissionDenied,
      /^token:reader may not read destination "billing" as clientId "1001": it needs a rule of the policy file that grants it$/,
    );
    // Scoped to orders: the policy also grants shop, the scope does not.
    assert.ok((await run(s, call({ headers: bearer(scoped) }))) instanceof Call);
    refused(
      await run(s, call({ headers: bearer(scoped), message: { destination: "shop", clientId: "1001" } })),
      Code.PermissionDenied,
      /may not read destination "shop" as clientId "1001": it needs the scope read:shop\/1001 in its token$/,
    );
    refused(
      await run(
        s,
        call({ service: "sluice.v1.AdminService", method: "ReleaseDestination", headers: bearer(reader) }),
      ),
      Code.PermissionDenied,
      /token:reader may not admin destination "orders" \(every clientId\)/,
    );
    assert.ok(
      (await run(
        s,
        call({ service: "sluice.v1.AdminService", method: "SkipEvent", headers: bearer(admin) }),
      )) instanceof Call,
    );
    // ListDestinations is let through, its answer kept to what the caller administers.
    const list = await run(
      s,
      call({ service: "sluice.v1.AdminService", method: "ListDestinations", headers: bearer(reader) }),
    );
    assert.ok(list instanceof Call);
    assert.equal(list.values.get(VISIBLE_DESTINATIONS)?.("orders"), false);
    // Health is open by default, reflection needs credentials but no grant.
    assert.ok((await run(s, call({ service: "grpc.health.v1.Health", method: "Check" }))) instanceof Call);
    refused(
      await run(s, call({ service: "grpc.reflection.v1.ServerReflection", method: "ServerReflectionInfo" })),
      Code.Unauthenticated,
      /./,
    );
    assert.ok(
      (await run(
        s,
        call({
          service: "grpc.reflection.v1.ServerReflection",
          method: "ServerReflectionInfo",
          headers: bearer(reader),
        }),
      )) instanceof Call,
    );
    // A client is not a gateway: the consumer-fencing header is not its to send.
    assert.equal(s.fencingTrusted?.(ok), false);
  } finally {
    s.close();
  }
});

test("a server that knows its gateways: their proof makes a call a gateway's, with the principal it forwards; a wrong proof is refused", async () => {
  const s = createSecurity({ gateways: { secretFile: files.secret } }, "server", silentLogger);
  try {
    assert.ok(authenticationConfigured({ gateways: { secretFile: files.secret } }, "server"));
    const proof = gatewayProof("s3cret-shared-by-gateways");
    const g = await run(
      s,
      call({ headers: { [GATEWAY_HEADER]: proof, [PRINCIPAL_HEADER]: "token:reader" } }),
    );
    assert.ok(g instanceof Call);
    assert.deepEqual(g.values.get(PRINCIPAL), { id: "token:reader", via: "gateway" });
    assert.equal(s.fencingTrusted?.(g), true);
    refused(
      await run(s, call({ headers: { [GATEWAY_HEADER]: gatewayProof("guess") } })),
      Code.Unauthenticated,
      /sluice-gateway header was not accepted/,
    );
    refused(await run(s, call()), Code.Unauthenticated, /accepts calls from sluice gateways only/);
    // Only gateways are served: a client's token is nothing here.
    refused(await run(s, call({ headers: bearer(reader) })), Code.Unauthenticated, /not accepted/);
    // A forwarded principal is believed only with the proof.
    refused(
      await run(s, call({ headers: { [PRINCIPAL_HEADER]: "token:admin" } })),
      Code.Unauthenticated,
      /gateways only/,
    );
  } finally {
    s.close();
  }
});

test("client certificates: only a verified one is a principal; gateways' certificates by subject", async () => {
  const s = createSecurity(
    { certificates: true, policyFile: files.policy, gateways: { certificates: ["gw-*"] } },
    "server",
    silentLogger,
  );
  try {
    const ops = await run(
      s,
      call({
        service: "sluice.v1.AdminService",
        method: "GetDestination",
        tls: { cn: "ops", authorized: true },
      }),
    );
    assert.ok(ops instanceof Call);
    assert.deepEqual(ops.values.get(PRINCIPAL), { id: "ops", via: "certificate" });
    refused(
      await run(s, call({ tls: { cn: "ops", authorized: false } })),
      Code.Unauthenticated,
      /a client certificate/,
    );
    const gw = await run(s, call({ tls: { cn: "gw-1", authorized: true } }));
    assert.ok(gw instanceof Call && gw.values.get(PRINCIPAL)?.via === "gateway");
    refused(await run(s, call({ tls: { cn: "gw-1", authorized: false } })), Code.Unauthenticated, /./);
  } finally {
    s.close();
  }
});

test("canal's user with HTTP Basic; a wrong password or user never says which", async () => {
  const s = createSecurity(
    { canal: { user: "canal", passwd: canalPasswd("canal-pw") }, policyFile: files.policy },
    "gateway",
    silentLogger,
  );
  const basic = (user: string, pw: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}`,
  });
  try {
    const ok = await run(s, call({ headers: basic("canal", "canal-pw") }));
    assert.ok(ok instanceof Call);
    assert.deepEqual(ok.values.get(PRINCIPAL), { id: "canal", via: "canal" });
    refused(
      await run(s, call({ headers: basic("canal", "wrong") })),
      Code.Unauthenticated,
      /^the user name or password was not accepted$/,
    );
    refused(
      await run(s, call({ headers: basic("other", "canal-pw") })),
      Code.Unauthenticated,
      /^the user name or password was not accepted$/,
    );
    // The gateway tells servers who it is and whom it authenticated.
    assert.ok(ok instanceof Call && ok.upstreamHeaders[PRINCIPAL_HEADER] === "canal:canal");
  } finally {
    s.close();
  }
});

test("health behind authentication; no authentication configured: everything open, fencing from anyone", async () => {
  const s = createSecurity({ tokensFile: files.tokens, health: "authenticated" }, "gateway", silentLogger);
  try {
    refused(
      await run(s, call({ service: "grpc.health.v1.Health", method: "Check" })),
      Code.Unauthenticated,
      /./,
    );
    // Without a policy an authenticated caller may do everything its scopes allow.
    assert.ok(
      (await run(
        s,
        call({ method: "Get", headers: bearer(reader), message: { destination: "any", clientId: "x" } }),
      )) instanceof Call,
    );
  } finally {
    s.close();
  }
  const open = createSecurity(undefined, "server", silentLogger);
  assert.deepEqual(open.hooks, []);
  assert.equal(open.fencingTrusted, undefined);
  assert.ok(!authenticationConfigured(undefined, "server"));
  assert.ok(
    !authenticationConfigured({ gateways: { secretFile: files.secret } }, "gateway"),
    "a gateway's secret is for servers",
  );
  assert.throws(
    () => createSecurity({ policyFile: files.policy }, "server", undefined),
    /needs authentication/,
  );
});

test("a changed token file is read again: a deleted token is refused at once after", async () => {
  const tokens = join(dir, "reloaded");
  const a = await createToken("a");
  writeFileSync(tokens, a.line);
  const s = createSecurity({ tokensFile: tokens }, "server", silentLogger);
  try {
    assert.ok((await run(s, call({ headers: bearer(a.token) }))) instanceof Call);
    writeFileSync(tokens, "# nobody\n");
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = await run(s, call({ headers: bearer(a.token) }));
      if (got instanceof ConnectError) break;
      assert.ok(Date.now() < deadline, "the token was still accepted 10 s after its line went");
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    s.close();
  }
});
