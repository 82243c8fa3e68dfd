// DumpFramer: the dump's packets framed from socket chunks that are reused after each push,
// whatever the chunk boundaries, with events over 16 MiB, ERR, EOF, pauses and failing handlers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DumpFramer, DumpServerError } from "../../../src/server/replication/dump-framer.js";

/** One packet on the wire: 3-byte length, sequence id, payload. */
function packet(payload: Buffer, seq = 1): Buffer {
  const p = Buffer.alloc(4 + payload.length);
  p.writeUIntLE(payload.length, 0, 3);
  p[3] = seq & 0xff;
  payload.copy(p, 4);
  return p;
}

/** An event packet: 0x00 and the event's bytes (payloads of 16 MiB or more split in packets). */
function eventPackets(event: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from([0]), event]);
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const len = Math.min(0xffffff, payload.length - at);
    out.push(packet(payload.subarray(at, at + len)));
    at += len;
    if (len < 0xffffff) break;
  }
  return Buffer.concat(out);
}

function errPacket(errno: number, state: string, message: string): Buffer {
  const p = Buffer.alloc(3);
  p[0] = 0xff;
  p.writeUInt16LE(errno, 1);
  return packet(Buffer.concat([p, Buffer.from(`#${state}${message}`)]));
}

const EOF_PACKET = packet(Buffer.from([0xfe, 0, 0, 2, 0]));

function someEvents(n: number, seed: number): Buffer[] {
  const events: Buffer[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const len = 19 + (x % 300);
    const e = Buffer.alloc(len);
    for (let k = 0; k < len; k++) e[k] = (x >>> (k % 24)) + k + i;
    events.push(e);
  }
  return events;
}

interface Seen {
  events: Buffer[];
  ended: number;
  errors: Array<{ err: Error; fromHandler: boolean }>;
}

function collector(onEvent?: (bytes: Buffer, seen: Seen) => void): { framer: DumpFramer; seen: Seen } {
  const seen: Seen = { events: [], ended: 0, errors: [] };
  const framer = new DumpFramer({
    event(bytes) {
      seen.events.push(Buffer.from(bytes)); // copied during the call, as a consumer must
      onEvent?.(bytes, seen);
    },
    end() {
      seen.ended++;
    },
    error(err, fromHandler) {
      seen.errors.push({ err, fromHandler });
    },
  });
  return { framer, seen };
}

/** Feeds `wire` in chunks of the given sizes through one reused buffer, scribbled over after each push. */
function feed(framer: DumpFramer, wire: Buffer, sizes: (i: number) => number): void {
  const reused = Buffer.alloc(1 << 16);
  let at = 0;
  for (let i = 0; at < wire.length; i++) {
    const n = Math.min(sizes(i), wire.length - at, reused.length);
    wire.copy(reused, 0, at, at + n);
    framer.push(reused.subarray(0, n));
    reused.fill(0xaa);
    at += n;
  }
}

test("events come out whole and in order at every chunk boundary, with the chunk reused", () => {
  const events = someEvents(40, 7);
  const wire = Buffer.concat(events.map(eventPackets));
  for (const size of [1, 2, 3, 4, 5, 7, 19, 23, 64, 333, 1000, 4096, wire.length]) {
    const { framer, seen } = collector();
    feed(framer, wire, () => size);
    assert.equal(seen.events.length, events.length, `chunks of ${size}`);
    for (const [i, e] of events.entries())
      assert.deepEqual(seen.events[i], e, `event ${i}, chunks of ${size}`);
    assert.deepEqual(seen.errors, []);
  }
  // Irregular chunks: every split point of the first 600 bytes, then the rest at once.
  for (let cut = 1; cut < 600; cut++) {
    const { framer, seen } = collector();
    feed(framer, wire, (i) => (i === 0 ? cut : wire.length));
    assert.equal(seen.events.length, events.length, `cut at ${cut}`);
    assert.deepEqual(seen.events.at(-1), events.at(-1));
  }
});

test("an event of 16 MiB or more arrives as one, also when its payload is exactly 16 MiB - 1", () => {
  for (const eventLen of [0xffffff + 1000, 0xffffff - 1, 2 * 0xffffff + 5]) {
    const big = Buffer.alloc(eventLen);
    for (let k = 0; k < big.length; k += 4093) big[k] = k & 0xff;
    big[big.length - 1] = 0x5a;
    const small = someEvents(3, eventLen);
    const wire = Buffer.concat([
      eventPackets(small[0] as Buffer),
      eventPackets(big),
      eventPackets(small[1] as Buffer),
    ]);
    const { framer, seen } = collector();
    feed(framer, wire, (i) => (i % 2 === 0 ? 65536 : 777));
    assert.equal(seen.events.length, 3, `event of ${eventLen} bytes`);
    assert.deepEqual(seen.events[0], small[0]);
    assert.equal(seen.events[1]?.length, eventLen);
    assert.ok((seen.events[1] as Buffer).equals(big), `event of ${eventLen} bytes, contents`);
    assert.deepEqual(seen.events[2], small[1]);
  }
});

test("an ERR packet ends the dump with the server's code, state and message; nothing after it", () => {
  const events = someEvents(3, 1);
  const wire = Buffer.concat([
    eventPackets(events[0] as Buffer),
    errPacket(1236, "HY000", "Could not find first log file name in binary log index file"),
    eventPackets(events[1] as Buffer),
  ]);
  const { framer, seen } = collector();
  feed(framer, wire, () => 10);
  assert.equal(seen.events.length, 1);
  assert.equal(seen.errors.length, 1);
  const { err, fromHandler } = seen.errors[0] as { err: Error; fromHandler: boolean };
  assert.ok(err instanceof DumpServerError);
  assert.equal(err.errno, 1236);
  assert.equal(err.sqlState, "HY000");
  assert.equal(err.message, "Could not find first log file name in binary log index file");
  assert.equal(fromHandler, false);
  assert.equal(framer.push(eventPackets(events[2] as Buffer)), false, "over: stop reading");
  assert.equal(seen.events.length, 1);
});

test("EOF ends a non-blocking dump; a packet that is neither event, EOF nor ERR is an error", () => {
  const one = collector();
  one.framer.push(Buffer.concat([eventPackets(someEvents(1, 3)[0] as Buffer), EOF_PACKET]));
  assert.equal(one.seen.events.length, 1);
  assert.equal(one.seen.ended, 1);
  assert.deepEqual(one.seen.errors, []);

  const two = collector();
  two.framer.push(packet(Buffer.from([0x01, 2, 3])));
  assert.equal(two.seen.errors.length, 1);
  assert.match(
    two.seen.errors[0]?.err.message ?? "",
    /unexpected packet in the binlog stream \(first byte 0x1, 3 bytes\)/,
  );
});

test("a pause inside a handler holds the rest of the chunk until resume, which delivers it in order", () => {
  const events = someEvents(30, 11);
  const wire = Buffer.concat(events.map(eventPackets));
  let pauses = 0;
  const { framer, seen } = collector((_bytes, s) => {
    if (s.events.length % 7 === 0) {
      framer.pause();
      pauses++;
    }
  });
  const reused = Buffer.alloc(wire.length);
  // Two chunks: the second arrives while paused (read before the pause took effect).
  const half = wire.length >> 1;
  wire.copy(reused, 0, 0, half);
  assert.equal(framer.push(reused.subarray(0, half)), false, "paused: stop reading");
  reused.fill(0xaa);
  wire.copy(reused, 0, half);
  assert.equal(framer.push(reused.subarray(0, wire.length - half)), false);
  reused.fill(0xaa);
  assert.equal(seen.events.length, 7);
  while (framer.paused) framer.resume();
  assert.equal(pauses, 4);
  assert.equal(seen.events.length, events.length);
  for (const [i, e] of events.entries()) assert.deepEqual(seen.events[i], e, `event ${i}`);
});

test("an exception from the event handler ends the dump with that exception", () => {
  const events = someEvents(3, 5);
  const boom = new Error("consumer failed");
  const { framer, seen } = collector((_bytes, s) => {
    if (s.events.length === 2) throw boom;
  });
  assert.equal(framer.push(Buffer.concat(events.map(eventPackets))), false);
  assert.equal(seen.events.length, 2);
  assert.deepEqual(seen.errors, [{ err: boom, fromHandler: true }]);
});
