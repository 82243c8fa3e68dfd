// Errors through every wire form and back: code, message (with characters gRPC must escape),
// details and retry-after-ms survive gRPC trailers, gRPC-Web trailers, Connect unary JSON and
// the Connect end-of-stream message.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { PositionSchema } from "../../../src/gen/sluice/v1/position_pb.js";
import { unavailable } from "../../../src/protocol/errors.js";
import { FLAG_END_STREAM, FLAG_TRAILER, FrameReader } from "../../../src/protocol/frame.js";
import {
  connectEndStreamFrame,
  connectUnaryError,
  errorFromConnectUnary,
  errorFromGrpcStatus,
  fromConnectEndStream,
  fromGrpcWebTrailer,
  grpcStatusCode,
  grpcStatusFields,
  grpcWebTrailerFrame,
  webHeaders,
} from "../../../src/protocol/wire-errors.js";

function sample(): ConnectError {
  const e = unavailable("destination: 100% busy, try «later»", 250);
  e.details.push({
    desc: PositionSchema,
    value: create(PositionSchema, { journalName: "mysql-bin.000001" }),
  });
  return e;
}

function same(got: ConnectError | undefined, want: ConnectError): void {
  assert.ok(got instanceof ConnectError);
  assert.equal(got.code, want.code);
  assert.equal(got.rawMessage, want.rawMessage);
  assert.equal(got.metadata.get("retry-after-ms"), "250");
  assert.equal(got.findDetails(PositionSchema)[0]?.journalName, "mysql-bin.000001");
}

test("gRPC: status fields in trailers (or headers) and back", () => {
  const e = sample();
  const fields = grpcStatusFields(e);
  assert.equal(fields["grpc-status"], String(Code.Unavailable));
  // The gRPC spec's percent-encoding: printable ASCII stays, "%" and non-ASCII are escaped.
  assert.equal(
    fields["grpc-message"],
    "destination: 100%25 busy, try %C2%ABlater%C2%BB (retry after 250 ms)",
  );
  assert.ok(fields["grpc-status-details-bin"]);
  same(errorFromGrpcStatus(fields), e);
  same(errorFromGrpcStatus(webHeaders({ ":status": "200", ...fields })), e);
  assert.deepEqual(grpcStatusFields(undefined), { "grpc-status": "0" });
  assert.equal(errorFromGrpcStatus({ "grpc-status": "0" }), undefined);
  assert.equal(grpcStatusCode({ "grpc-status": "14" }), "14");
  assert.equal(grpcStatusCode(new Headers()), undefined);
  // A stray "%" from some other sender does not break the reading.
  assert.equal(errorFromGrpcStatus({ "grpc-status": "2", "grpc-message": "50% off" })?.rawMessage, "50% off");
});

test("gRPC-Web: the trailer frame and back", () => {
  const e = sample();
  const reader = new FrameReader();
  reader.push(grpcWebTrailerFrame(e, new Headers({ "x-extra": "1" })));
  const frame = reader.next();
  assert.equal(frame?.flags, FLAG_TRAILER);
  const { trailers, error } = fromGrpcWebTrailer(frame?.message as Buffer);
  assert.equal(trailers.get("x-extra"), "1");
  same(error, e);
});

test("Connect unary: HTTP status, JSON body, metadata as headers, and back", () => {
  const e = sample();
  const answer = connectUnaryError(e);
  assert.equal(answer.status, 503);
  assert.equal(answer.headers["content-type"], "application/json");
  assert.equal(answer.headers["retry-after-ms"], "250");
  assert.equal(answer.headers["content-length"], String(answer.body.length));
  assert.equal(JSON.parse(answer.body.toString()).code, "unavailable");
  same(errorFromConnectUnary(answer.status, new Headers(answer.headers), answer.body), e);
  const notJson = errorFromConnectUnary(502, new Headers(), Buffer.from("<html>"));
  assert.equal(notJson.code, Code.Unavailable);
});

test("Connect streams: the end-of-stream frame and back", () => {
  const e = sample();
  const reader = new FrameReader();
  reader.push(connectEndStreamFrame(e));
  const frame = reader.next();
  assert.equal(frame?.flags, FLAG_END_STREAM);
  const { error } = fromConnectEndStream(frame?.message as Buffer);
  same(error, e);
  reader.push(connectEndStreamFrame(undefined));
  const ok = fromConnectEndStream(reader.next()?.message as Buffer);
  assert.equal(ok.error, undefined);
});
