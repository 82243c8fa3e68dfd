// The message envelope: written and read back, whole, in pieces and cut short.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  ChunkedFrameReader,
  encodeFrame,
  FLAG_END_STREAM,
  FrameReader,
  FrameTooLarge,
  singleMessage,
  splitFrames,
  WholeFrames,
} from "../../../src/protocol/frame.js";

test("a frame is flags, a big-endian length and the message", () => {
  const f = encodeFrame(Buffer.from("hello"), FLAG_END_STREAM);
  assert.deepEqual([...f.subarray(0, 5)], [2, 0, 0, 0, 5]);
  assert.equal(f.subarray(5).toString(), "hello");
  assert.deepEqual([...encodeFrame(new Uint8Array(0))], [0, 0, 0, 0, 0]);
});

test("singleMessage takes exactly one uncompressed frame", () => {
  assert.equal(singleMessage(encodeFrame(Buffer.from("abc")))?.toString(), "abc");
  assert.equal(singleMessage(encodeFrame(Buffer.from("abc"), 1)), undefined, "compressed");
  assert.equal(
    singleMessage(Buffer.concat([encodeFrame(Buffer.from("a")), encodeFrame(Buffer.from("b"))])),
    undefined,
  );
  assert.equal(singleMessage(encodeFrame(Buffer.from("abc")).subarray(0, 6)), undefined, "cut short");
  assert.equal(singleMessage(Buffer.from([0, 0])), undefined);
});

test("FrameReader takes frames as their bytes arrive, one byte at a time or many at once", () => {
  const bytes = Buffer.concat([
    encodeFrame(Buffer.from("one")),
    encodeFrame(Buffer.from("two"), 0x80),
    Buffer.from([0, 0]),
  ]);
  const reader = new FrameReader();
  const got: string[] = [];
  for (const b of bytes) {
    reader.push(Buffer.from([b]));
    for (let f = reader.next(); f !== undefined; f = reader.next()) got.push(`${f.flags}:${f.message}`);
  }
  assert.deepEqual(got, ["0:one", "128:two"]);
  assert.equal(reader.pending, 2);
  assert.deepEqual([...reader.rest()], [0, 0]);
  assert.equal(reader.pending, 0);
});

test("splitFrames reads a whole body and refuses one cut inside a frame", () => {
  const body = Buffer.concat([encodeFrame(Buffer.from("a")), encodeFrame(Buffer.from("bc"), 2)]);
  assert.deepEqual(
    splitFrames(body).map((f) => [f.flags, f.message.toString()]),
    [
      [0, "a"],
      [2, "bc"],
    ],
  );
  assert.throws(() => splitFrames(body.subarray(0, body.length - 1)), /cut short/);
});

test("WholeFrames passes on whole frames only, however the bytes are cut; only frames cut across chunks are copied", () => {
  const frames = [
    encodeFrame(Buffer.from("first message")),
    encodeFrame(new Uint8Array(0)),
    encodeFrame(Buffer.alloc(300, 7)),
    encodeFrame(Buffer.from("x"), FLAG_END_STREAM),
  ];
  const all = Buffer.concat(frames);
  const ends = new Set<number>([0]);
  let at = 0;
  for (const f of frames) {
    at += f.length;
    ends.add(at);
  }
  // Every way of cutting the bytes into pieces of one size, from 1 byte to all at once; a frame
  // cut short set aside whole, or grown as it comes.
  for (let cut = 0; cut < all.length * 2; cut++) {
    const size = (cut >> 1) + 1;
    const whole = new WholeFrames(Number.POSITIVE_INFINITY, cut & 1 ? 7 : undefined);
    let passed = 0;
    const out: Buffer[] = [];
    for (let i = 0; i < all.length; i += size) {
      for (const b of whole.push(all.subarray(i, i + size))) {
        if (b.buffer !== all.buffer) {
          // A copy: exactly one frame, which the pushed chunks cut.
          assert.ok(
            frames.some((f) => f.equals(b)),
            `pieces of ${size}: a copy that is not one frame`,
          );
          assert.ok(Math.floor(passed / size) !== Math.floor((passed + b.length - 1) / size));
        }
        out.push(b);
        passed += b.length;
      }
      assert.ok(ends.has(passed), `pieces of ${size}: ${passed} bytes passed, not at a frame's end`);
      // Everything that makes whole frames so far has passed.
      const got = Math.min(i + size, all.length);
      const lastEnd = Math.max(...[...ends].filter((e) => e <= got));
      assert.equal(passed, lastEnd, `pieces of ${size}, after ${got} bytes`);
    }
    assert.deepEqual(Buffer.concat(out), all);
  }
});

test("WholeFrames refuses a message above its limit, whether its header comes whole or cut", () => {
  const big = encodeFrame(Buffer.alloc(101));
  assert.throws(() => new WholeFrames(100).push(big), FrameTooLarge);
  const cut = new WholeFrames(100);
  cut.push(big.subarray(0, 3));
  assert.throws(() => cut.push(big.subarray(3)), /a message of 101 bytes, larger than the limit of 100/);
  assert.equal(new WholeFrames(101).push(big)[0], big);
});

test("ChunkedFrameReader gives every frame however the bytes are cut, a frame inside a chunk without a copy", () => {
  const FRAMES = fc.array(
    fc
      .tuple(fc.constantFrom(0, 1, 0x80), fc.uint8Array({ maxLength: 300 }))
      .map(([flags, m]) => encodeFrame(m, flags)),
    { maxLength: 8 },
  );
  fc.assert(
    fc.property(FRAMES, fc.array(fc.nat(400), { maxLength: 12 }), (frames, cuts) => {
      const body = Buffer.concat(frames);
      const at = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...at, body.length]
        .slice(1)
        .map((end, i, ends) => body.subarray(i === 0 ? 0 : ends[i - 1], end));
      const reader = new ChunkedFrameReader();
      const got = chunks.flatMap((c) => reader.push(c));
      assert.deepEqual(
        got.map((f) => [f.flags, [...f.message]]),
        splitFrames(body).map((f) => [f.flags, [...f.message]]),
      );
      assert.equal(reader.pending, 0);
    }),
    { numRuns: 300 },
  );
  const reader = new ChunkedFrameReader();
  const chunk = Buffer.concat([
    encodeFrame(Buffer.from("abc")),
    encodeFrame(Buffer.from("defg")).subarray(0, 7),
  ]);
  const [whole] = reader.push(chunk);
  assert.equal(whole?.message.buffer, chunk.buffer, "a view of the chunk");
  assert.equal(reader.pending, 7);
  assert.deepEqual(
    reader.push(Buffer.from("fg")).map((f) => f.message.toString()),
    ["defg"],
  );
});
