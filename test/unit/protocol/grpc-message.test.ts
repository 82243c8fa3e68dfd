import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  MAX_GRPC_MESSAGE,
  reencodeGrpcMessage,
} from "../../../src/protocol/grpc-message.js";

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
