import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { AnswerBody } from "../../../src/protocol/h2/answer-body.js";

test("AnswerBody gives the pieces' bytes in order, however many, with or without a content-length", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 70_000 }), { maxLength: 6 }),
      fc.constantFrom("exact", "none", "short", "long", "bad"),
      (pieces, announced) => {
        const all = Buffer.concat(pieces);
        const body = new AnswerBody();
        const length = {
          exact: String(all.length),
          none: undefined,
          short: String(Math.max(0, all.length - 10)),
          long: String(all.length + 100_000),
          bad: "12x",
        }[announced];
        body.expect(length, Number.POSITIVE_INFINITY);
        for (const p of pieces) body.add(Buffer.from(p));
        const parts = body.parts();
        assert.ok(parts.length <= 1);
        assert.deepEqual(Buffer.concat(parts), all);
      },
    ),
  );
});

test("AnswerBody keeps a single piece as it is and copies from the second on", () => {
  const one = Buffer.from("only");
  const body = new AnswerBody();
  body.add(one);
  assert.equal(body.parts()[0], one);
  const socketChunk = Buffer.from("first|second");
  const two = new AnswerBody();
  two.expect("12", 100);
  two.add(socketChunk.subarray(0, 6));
  two.add(socketChunk.subarray(6));
  const [joined] = two.parts();
  assert.equal(joined?.toString(), "first|second");
  socketChunk.fill(0);
  assert.equal(joined?.toString(), "first|second", "a copy, not a view of the socket's chunk");
});

test("AnswerBody sets aside no more than the caller's limit whatever the content-length says", () => {
  const body = new AnswerBody();
  body.expect("999999999999999", 1000);
  body.add(Buffer.alloc(10, 1));
  body.add(Buffer.alloc(10, 2));
  const [joined] = body.parts();
  assert.equal(joined?.length, 20);
  assert.ok((joined?.buffer.byteLength ?? 0) <= 65_536);
});
