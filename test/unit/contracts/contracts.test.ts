// What server, gateway and clients agree on: name rules, session tokens, the epoch header, and
// the NotApplied detail through every wire form.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ZkPaths } from "../../../src/common/zk/paths.js";
import { parseClientEpoch } from "../../../src/contracts/client-epoch.js";
import {
  checkClientId,
  checkDestination,
  clientIdProblem,
  destinationProblem,
  LAYOUT,
} from "../../../src/contracts/names.js";
import { notApplied, wasNotApplied } from "../../../src/contracts/not-applied.js";
import {
  makeSession,
  newSessionSecret,
  parseSession,
  sessionDigest,
  sessionMatches,
} from "../../../src/contracts/session.js";
import { unavailable } from "../../../src/protocol/errors.js";
import { FrameReader } from "../../../src/protocol/frame.js";
import {
  connectEndStreamFrame,
  connectUnaryError,
  errorFromConnectUnary,
  errorFromGrpcStatus,
  fromConnectEndStream,
  fromGrpcWebTrailer,
  grpcStatusFields,
  grpcWebTrailerFrame,
} from "../../../src/protocol/wire-errors.js";

function invalid(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    const err = ConnectError.from(e);
    assert.equal(err.code, Code.InvalidArgument);
    return err.rawMessage;
  }
  assert.fail("expected invalid_argument");
}

test("clientIds: letters, digits, _ - ., never a name of the ZooKeeper layout nor . or ..", () => {
  for (const ok of ["1001", "orders-v2", "a.b", "_x", "Running", "x".repeat(64)]) {
    assert.equal(clientIdProblem(ok), undefined, ok);
  }
  assert.match(
    invalid(() => checkClientId("")),
    /^clientId: is required$/,
  );
  assert.match(
    invalid(() => checkClientId("a/b")),
    /^clientId: must be 1 to 64 letters/,
  );
  assert.match(
    invalid(() => checkClientId("x".repeat(65))),
    /^clientId: must be 1 to 64/,
  );
  for (const reserved of ["running", "cluster", "cursor", "filter", ".", ".."]) {
    assert.match(
      invalid(() => checkClientId(reserved)),
      /^clientId: ".*" is reserved \(canal's ZooKeeper layout/,
    );
  }
});

test("every child name the ZooKeeper layout uses under a destination or a clientId is reserved", () => {
  const paths = new ZkPaths("/r");
  const d = "/r/destinations/d";
  const children = [
    paths.destinationRunning("d"),
    paths.destinationCluster("d"),
    paths.clientRunning("d", "c"),
    paths.clientCursor("d", "c"),
    paths.clientFilter("d", "c"),
  ].map((p) => p.slice(p.lastIndexOf("/") + 1));
  for (const name of children) assert.ok(clientIdProblem(name) !== undefined, name);
  assert.deepEqual(new Set(children), new Set(Object.values(LAYOUT)));
  assert.equal(paths.client("d", "c"), `${d}/c`);
});

test("destinations: letters, digits, _ - ., not . or ..", () => {
  checkDestination("example");
  assert.match(
    invalid(() => checkDestination("")),
    /^destination: is required$/,
  );
  for (const bad of [".", "..", "a/b", "x".repeat(129)]) {
    assert.match(
      invalid(() => checkDestination(bad)),
      /^destination: must be 1 to 128 letters/,
    );
  }
});

test("a session names a hold's epoch for one clientId and carries an unguessable secret", () => {
  const secret = newSessionSecret();
  assert.match(secret, /^[A-Za-z0-9_-]{24}$/, "144 random bits, base64url");
  assert.notEqual(newSessionSecret(), secret);
  const s = makeSession(42n, secret, "1001");
  assert.deepEqual(parseSession(s, "1001"), { epoch: 42n, secret });
  assert.equal(parseSession(s, "1002"), undefined);
  assert.equal(parseSession("nonsense", "1001"), undefined);
  assert.deepEqual(parseSession(makeSession(7n, secret, "a.b"), "a.b"), { epoch: 7n, secret });
  // The old form, <epoch>.<clientId>, is built from what anyone may see: not a session.
  assert.equal(parseSession("42.1001", "1001"), undefined);
  assert.equal(parseSession("42.short.1001", "1001"), undefined);
});

test("a hold's node stores the secret's digest: the digest matches the secret, and is not a secret", () => {
  const secret = newSessionSecret();
  const digest = sessionDigest(secret);
  assert.ok(sessionMatches(secret, digest));
  assert.ok(!sessionMatches(newSessionSecret(), digest));
  assert.ok(!sessionMatches(digest.slice(0, 24), digest), "the digest read from the node is no secret");
  assert.ok(!sessionMatches(secret, ""), "a node without a digest accepts no session");
});

test("the epoch header: a decimal, or invalid_argument naming the header", () => {
  assert.equal(parseClientEpoch(" 12 "), 12n);
  assert.match(
    invalid(() => parseClientEpoch("x")),
    /^sluice-client-epoch: must be a decimal epoch/,
  );
});

test("NotApplied survives every wire form; a message alone never says it", () => {
  const e = notApplied(unavailable("destination example is starting", 500));
  assert.ok(wasNotApplied(e));
  assert.ok(wasNotApplied(errorFromGrpcStatus(grpcStatusFields(e))));
  const unary = connectUnaryError(e);
  assert.ok(wasNotApplied(errorFromConnectUnary(unary.status, new Headers(unary.headers), unary.body)));
  const reader = new FrameReader();
  reader.push(Buffer.concat([grpcWebTrailerFrame(e), connectEndStreamFrame(e)]));
  assert.ok(wasNotApplied(fromGrpcWebTrailer(reader.next()?.message as Buffer).error));
  assert.ok(wasNotApplied(fromConnectEndStream(reader.next()?.message as Buffer).error));
  // The text of a retryable error is not the contract.
  assert.equal(wasNotApplied(new ConnectError("the request did not take effect", Code.Unavailable)), false);
  assert.equal(wasNotApplied(new Error("x")), false);
});

test("a long name is quoted by its start and its length, not whole", () => {
  assert.equal(
    clientIdProblem("x".repeat(70_000)),
    `must be 1 to 64 letters, digits, "_", "-" or ".", got "${"x".repeat(128)}"... (70000 characters)`,
  );
  assert.match(destinationProblem("d".repeat(200)) as string, /got "d{128}"\.\.\. \(200 characters\)$/);
  assert.match(clientIdProblem("é".repeat(65)) as string, /got "é{65}"$/);
});
