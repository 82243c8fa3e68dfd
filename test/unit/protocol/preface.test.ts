import assert from "node:assert/strict";
import { test } from "node:test";
import { HTTP2_PREFACE, sniffProtocol } from "../../../src/protocol/server/preface.js";

test("the preface is RFC 9113's 24 bytes", () => {
  assert.equal(HTTP2_PREFACE.length, 24);
  assert.equal(HTTP2_PREFACE.toString("latin1"), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
});

test("the whole preface, alone or followed by frames, is h2", () => {
  assert.equal(sniffProtocol(HTTP2_PREFACE), "h2");
  assert.equal(sniffProtocol(Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])), "h2");
});

test("every proper prefix of the preface asks for more bytes", () => {
  for (let n = 0; n < HTTP2_PREFACE.length; n++) {
    assert.equal(sniffProtocol(HTTP2_PREFACE.subarray(0, n)), "more", `prefix of ${n} bytes`);
  }
});

test("HTTP/1.x requests are told apart as soon as a byte differs", () => {
  for (const start of [
    "GET / HTTP/1.1\r\n",
    "POST /x HTTP/1.1\r\n",
    "PUT /",
    "PATCH /",
    "OPTIONS *",
    "HEAD /",
  ]) {
    assert.equal(sniffProtocol(Buffer.from(start)), "http1", start);
  }
  assert.equal(sniffProtocol(Buffer.from("P")), "more");
  assert.equal(sniffProtocol(Buffer.from("PO")), "http1");
  assert.equal(sniffProtocol(Buffer.from("PRI * HTTP/1.1")), "http1");
  // TLS ClientHello and garbage are not h2 either (the HTTP/1.1 server answers 400).
  assert.equal(sniffProtocol(Buffer.from([0x16, 0x03, 0x01])), "http1");
});
