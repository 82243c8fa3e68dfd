import assert from "node:assert/strict";
import { test } from "node:test";
import { SecurityConfigError } from "../../../src/security/errors.js";
import { parsePolicy } from "../../../src/security/policy.js";
import type { Principal } from "../../../src/security/principal.js";

const POLICY = `# who may do what
rules:
  - principals: [token:orders-app, "jwt:svc-*"]
    destinations: [orders]
    clientIds: ["orders-*", 1001]
    allow: [read]
  - principals: ["certificate:ops.example.com", ops]
    destinations: ["*"]
    allow: [read, admin]
  - principals: [token:team-a]
    destinations: [shop]
    clientIds: ["team-a-*"]
    allow: [admin]
`;

const token = (id: string): Principal => ({ id, via: "token" });

test("a policy grants what its rules name, and nothing else", () => {
  const p = parsePolicy(POLICY, "policy.yaml");
  const read = (destination: string, clientId: string | undefined) => ({
    action: "read" as const,
    destination,
    clientId,
  });
  const admin = (destination: string, clientId: string | undefined) => ({
    action: "admin" as const,
    destination,
    clientId,
  });
  assert.ok(p.allows(token("orders-app"), read("orders", "orders-eu")));
  assert.ok(p.allows(token("orders-app"), read("orders", "1001")), "a number in YAML is a name");
  assert.ok(!p.allows(token("orders-app"), read("orders", "billing")), "another clientId");
  assert.ok(!p.allows(token("orders-app"), read("shop", "orders-eu")), "another destination");
  assert.ok(!p.allows(token("orders-app"), admin("orders", "orders-eu")), "read is not admin");
  assert.ok(p.allows({ id: "svc-x", via: "jwt" }, read("orders", "orders-1")));
  assert.ok(!p.allows({ id: "svc-x", via: "token" }, read("orders", "orders-1")), "the via counts");
  assert.ok(
    p.allows({ id: "ops", via: "canal" }, admin("anything", undefined)),
    "an id without via: any via",
  );
  assert.ok(p.allows({ id: "ops.example.com", via: "certificate" }, admin("x", undefined)));
  // A clientId-restricted admin grant covers calls for its clientIds, not the destination as a whole.
  assert.ok(p.allows(token("team-a"), admin("shop", "team-a-1")));
  assert.ok(!p.allows(token("team-a"), admin("shop", undefined)));
  assert.ok(!p.allows(token("nobody"), read("orders", "orders-1")));
});

test("policy file mistakes name the file, the line and the key", () => {
  const cases: [string, RegExp][] = [
    ["rules: {}", /^p.yaml:1:8: a policy file is a map with "rules:"/],
    [
      "rules:\n  - principals: [a]\n    destinations: [x]\n    allow: [write]\n",
      /^p.yaml:4:13: rules\[0\].allow: must list read, admin, got "write"/,
    ],
    ["rules:\n  - principals: [a]\n    allow: [read]\n", /^p.yaml:2:5: rules\[0\].destinations: is required/],
    [
      "rules:\n  - principals: [a]\n    destinations: [x]\n    allow: [read]\n    clientid: [y]\n",
      /^p.yaml:5:5: rules\[0\].clientid: unknown key/,
    ],
    [
      "rules:\n  - principals: [root:a]\n    destinations: [x]\n    allow: [read]\n",
      /^p.yaml:2:18: rules\[0\].principals: "root:a": the part before ":" must be one of/,
    ],
    [
      'rules:\n  - principals: [a]\n    destinations: ["a/b"]\n    allow: [read]\n',
      /^p.yaml:3:20: rules\[0\]: must be a name or a pattern/,
    ],
    ["rules:\n  - principals: [a\n", /^p.yaml:\d+:\d+: not valid YAML/],
    ["rule:\n  - x\n", /^p.yaml:1:1: a policy file is a map with "rules:"/],
  ];
  for (const [text, want] of cases) {
    assert.throws(
      () => parsePolicy(text, "p.yaml"),
      (err: Error) => err instanceof SecurityConfigError && want.test(err.message),
      `${text}\n---`,
    );
  }
});
