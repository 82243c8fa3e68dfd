// The ACL Sluice gives ZooKeeper nodes: digest ids as ZooKeeper computes them, which nodes
// anyone may read, and how an ACL is shown (never a digest's hash).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  credentialsProblem,
  describeAcl,
  digestId,
  sameAcl,
  sluiceAclPolicy,
  WORLD_ALL,
  WORLD_READ,
  ZK_PERM,
} from "../../../src/common/zk/acl.js";
import { ZkPaths } from "../../../src/common/zk/paths.js";

test("digestId is ZooKeeper's DigestAuthenticationProvider.generateDigest", () => {
  // The example of ZooKeeper's administrator guide (super:admin).
  assert.equal(digestId({ user: "super", password: "admin" }), "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=");
});

test("canal's layout is readable by anyone, sluice's own tree only with the credentials", () => {
  const paths = new ZkPaths("/otter/canal");
  const policy = sluiceAclPolicy(paths, { user: "sluice", password: "pw" });
  const owner = { perms: ZK_PERM.ALL, scheme: "digest", auth: digestId({ user: "sluice", password: "pw" }) };
  for (const path of [
    "/otter",
    "/otter/canal",
    paths.server("10.0.0.1:11113"),
    paths.destinationRunning("example"),
    paths.destinationCluster("example"),
    paths.clientRunning("example", "1001"),
    paths.clientCursor("example", "1001"),
    paths.clientFilter("example", "1001"),
    "/otter/canal/sluicey",
  ]) {
    assert.deepEqual(policy(path), [owner, WORLD_READ], path);
  }
  for (const path of [paths.sluiceTree(), paths.handoff("example"), paths.skippedEvents("example")]) {
    assert.deepEqual(policy(path), [owner], path);
  }
});

test("sameAcl ignores order; describeAcl names digest users without their hash", () => {
  const owner = { perms: ZK_PERM.ALL, scheme: "digest", auth: digestId({ user: "sluice", password: "pw" }) };
  assert.ok(sameAcl([owner, WORLD_READ], [WORLD_READ, owner]));
  assert.ok(!sameAcl([owner, WORLD_READ], [owner]));
  assert.ok(!sameAcl([owner], [{ ...owner, perms: ZK_PERM.READ }]));
  assert.equal(describeAcl([WORLD_ALL]), "world:anyone:cdrwa");
  assert.equal(describeAcl([owner, WORLD_READ]), "digest:sluice:cdrwa, world:anyone:r");
  assert.ok(!describeAcl([owner]).includes(owner.auth.split(":")[1] as string));
});

test("credentials ZooKeeper cannot take are refused", () => {
  assert.equal(credentialsProblem({ user: "sluice", password: "p:w" }), undefined);
  assert.match(credentialsProblem({ user: "a:b", password: "x" }) ?? "", /must not contain ":"/);
  assert.match(credentialsProblem({ user: "", password: "x" }) ?? "", /user is empty/);
  assert.match(credentialsProblem({ user: "a", password: "" }) ?? "", /password is empty/);
});
