import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { notApplied, wasNotApplied } from "../../../src/contracts/not-applied.js";
import { NotAppliedSchema } from "../../../src/gen/sluice/v1/errors_pb.js";
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  MAX_GRPC_MESSAGE,
  MAX_STATUS_DETAILS,
  reencodeGrpcMessage,
} from "../../../src/protocol/grpc-message.js";
import { errorFromGrpcStatus, grpcStatusFields } from "../../../src/protocol/wire-errors.js";

test("only bytes outside 0x20-0x7E and % are escaped", () => {
  assert.equal(encodeGrpcMessage("destination: must not be empty"), "destination: must not be empty");
  assert.equal(
    encodeGrpcMessage("held by 10.0.0.9:40000 since 2024-01-01T00:00:00Z, a/b=c?d&e@f"),
    "held by 10.0.0.9:40000 since 2024-01-01T00:00:00Z, a/b=c?d&e@f",
  );
  assert.equal(encodeGrpcMessage("100% déjà\nvu"), "100%25 d%C3%A9j%C3%A0%0Avu");
});

test("decoding reads any escape, and what grpc-js's decodeURI reads matches", () => {
  for (const m of ["a: b", "100% déjà\nvu", "日本 ✓", "tab\tend", "%zz stays"]) {
    const wire = encodeGrpcMessage(m);
    assert.equal(decodeGrpcMessage(wire), m);
    assert.equal(decodeURI(wire), m, `grpc-js would read ${decodeURI(wire)}`);
    assert.equal(decodeURIComponent(wire), m);
  }
  assert.equal(decodeGrpcMessage("%zz%4"), "%zz%4");
});

test("connect-es's encodeURIComponent form is re-encoded the spec's way", () => {
  const m = "clientId 1001 is held by 10.0.0.9:40000 (déjà)";
  assert.equal(
    reencodeGrpcMessage(encodeURIComponent(m)),
    "clientId 1001 is held by 10.0.0.9:40000 (d%C3%A9j%C3%A0)",
  );
  assert.equal(decodeURI(reencodeGrpcMessage(encodeURIComponent(m))), m);
});

test("a long message is cut to MAX_GRPC_MESSAGE, between characters, and ends in ...", () => {
  const long = encodeGrpcMessage(`clientId: got "${"x".repeat(70_000)}"`);
  assert.equal(long.length, MAX_GRPC_MESSAGE);
  assert.ok(long.endsWith("x..."));
  for (const ch of ["é", "日", "✓", "😀", "%"]) {
    const wire = encodeGrpcMessage(ch.repeat(5000));
    assert.ok(wire.length <= MAX_GRPC_MESSAGE, ch);
    assert.ok(wire.endsWith("..."), ch);
    const text = decodeGrpcMessage(wire);
    assert.ok(!text.includes("\uFFFD"), `${ch}: no character was split`);
    assert.equal(text, `${ch.repeat([...text].length - 3)}...`);
  }
  assert.equal(encodeGrpcMessage("short").length, 5);
});

test("a status whose details would pass MAX_STATUS_DETAILS reaches the client without them: code and cut message", () => {
  // google.rpc.Status repeats the whole message: an error quoting 100 KiB with a detail.
  const long = new ConnectError(`filter: "${"x".repeat(100_000)}" is too large`, Code.Unavailable);
  long.details.push({ desc: NotAppliedSchema, value: create(NotAppliedSchema, { reason: "x" }) });
  const fields = grpcStatusFields(long);
  assert.equal(fields["grpc-status-details-bin"], undefined);
  assert.equal(fields["grpc-status"], String(Code.Unavailable));
  assert.ok((fields["grpc-message"] as string).length <= MAX_GRPC_MESSAGE);
  // A short one keeps them, and says the call did not take effect.
  const short = grpcStatusFields(
    notApplied(new ConnectError("destination example is starting", Code.Unavailable)),
  );
  assert.ok((short["grpc-status-details-bin"] as string).length <= MAX_STATUS_DETAILS);
  assert.equal(wasNotApplied(errorFromGrpcStatus(short)), true);
  // NotApplied's reason is cut at the source, so that the detail stays small.
  const cut = grpcStatusFields(
    notApplied(new ConnectError("y".repeat(3000), Code.Unavailable), "z".repeat(50_000)),
  );
  assert.equal(wasNotApplied(errorFromGrpcStatus(cut)), true);
});
