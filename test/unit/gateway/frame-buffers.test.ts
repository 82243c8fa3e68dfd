// The relay's pool of frame buffers: a buffer comes back only from the one it was lent to, once.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FrameBuffers } from "../../../src/gateway/frame-buffers.js";
import { encodeFrame, WholeFrames } from "../../../src/protocol/frame.js";

const MiB = 1 << 20;

test("a buffer given back is lent again for a frame of about its size", () => {
  const pool = new FrameBuffers(32 * MiB);
  const a = pool.take(3 * MiB);
  assert.equal(a.length, 3 * MiB);
  pool.give(a);
  assert.ok(pool.freeBytes >= 3 * MiB);
  const b = pool.take(3 * MiB - 1000);
  assert.equal(b.buffer, a.buffer, "the same memory");
  assert.equal(b.length, 3 * MiB - 1000);
  assert.equal(pool.freeBytes, 0);
  assert.notEqual(pool.take(3 * MiB).buffer, a.buffer, "lent out: not lent twice");
});

test("a buffer is given back once: a second give does not put it in the pool again", () => {
  const pool = new FrameBuffers(32 * MiB);
  const a = pool.take(MiB);
  pool.give(a);
  pool.give(a);
  const b = pool.take(MiB);
  const c = pool.take(MiB);
  assert.equal(b.buffer, a.buffer);
  assert.notEqual(c.buffer, a.buffer);
});

test("views the pool did not lend are ignored, and small frames are not pooled", () => {
  const pool = new FrameBuffers(32 * MiB);
  const chunk = Buffer.allocUnsafeSlow(2 * MiB);
  pool.give(chunk.subarray(100, MiB));
  assert.equal(pool.freeBytes, 0);
  const small = pool.take(1000);
  pool.give(small);
  assert.equal(pool.freeBytes, 0);
});

test("no buffer more than twice the frame's size, none kept past keepBytes", () => {
  const pool = new FrameBuffers(5 * MiB);
  const big = pool.take(4 * MiB);
  pool.give(big);
  assert.notEqual(pool.take(MiB).buffer, big.buffer, "a small frame does not pin a big buffer");
  assert.notEqual(pool.take(5 * MiB).buffer, big.buffer, "too small for the frame");
  const again = pool.take(4 * MiB);
  assert.equal(again.buffer, big.buffer);
  const other = pool.take(4 * MiB);
  pool.give(again);
  pool.give(other);
  assert.ok(pool.freeBytes <= 5 * MiB, `kept ${pool.freeBytes}`);
});

test("WholeFrames copies frames cut across chunks into the pool's buffers, the same bytes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1000, max: 70_000 }),
      (sizes, chunkSize) => {
        const pool = new FrameBuffers(8 * MiB);
        const frames = sizes.map((n, i) => encodeFrame(Buffer.alloc(n, i + 1)));
        const wire = Buffer.concat(frames);
        const whole = new WholeFrames(Number.POSITIVE_INFINITY, undefined, pool.take);
        const out: Buffer[] = [];
        for (let at = 0; at < wire.length; at += chunkSize) {
          for (const bytes of whole.push(wire.subarray(at, at + chunkSize))) {
            out.push(Buffer.from(bytes));
            // Written: the next frame may take its memory.
            pool.give(bytes);
          }
        }
        assert.deepEqual(Buffer.concat(out), wire);
      },
    ),
    { numRuns: 60 },
  );
});
