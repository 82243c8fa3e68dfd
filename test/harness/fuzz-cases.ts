// What test/integration/fuzz.test.ts sends: for every method of CanalService and AdminService,
// requests that are well-formed messages with random field values (empty, huge, unicode,
// negative, out of range, canal's reserved clientIds, sessions and batch ids near real ones),
// and raw bodies that are not (garbage, truncated frames, wrong lengths, bad JSON), as
// fast-check arbitraries.
//
// Markers stand for values only known when the case runs: SESSION is the session of the
// known clientId the case names on the target it runs against, BATCH the id of a batch that
// known clientId has just been given (the runner makes one with a real Get first).
import fc from "fast-check";

export const SESSION = "$session";
export const BATCH = "$batch";
/** clientIds the runner keeps subscribed on every target, with rows to read. */
export const KNOWN_CLIENTS = ["fz-1", "fz-2"] as const;

export const CANAL_METHODS = ["Subscribe", "Unsubscribe", "Get", "Ack", "Rollback", "Stream"] as const;
export const ADMIN_METHODS = [
  "ListDestinations",
  "GetDestination",
  "ReleaseDestination",
  "SetCursor",
  "SkipEvent",
] as const;
export type Method = (typeof CANAL_METHODS)[number] | (typeof ADMIN_METHODS)[number];
export const METHODS: readonly Method[] = [...CANAL_METHODS, ...ADMIN_METHODS];

export function serviceOf(method: Method): "sluice.v1.CanalService" | "sluice.v1.AdminService" {
  return (CANAL_METHODS as readonly string[]).includes(method)
    ? "sluice.v1.CanalService"
    : "sluice.v1.AdminService";
}

const HUGE = "x".repeat(100_000);

/** Any text: short, unicode (lone surrogates included), long, huge. */
const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", minLength: 100, maxLength: 3000 }) },
  { weight: 1, arbitrary: fc.constantFrom(HUGE, "\u0000", "\uD800", "../..", "%00", "a/b", "a\nb") },
);

const destination = fc.oneof(
  { weight: 6, arbitrary: fc.constant("example") },
  { weight: 1, arbitrary: fc.constantFrom("", "nope", ".", "..", "example ", "EXAMPLE", "d".repeat(129)) },
  { weight: 2, arbitrary: anyText },
);

const clientId = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...KNOWN_CLIENTS) },
  { weight: 2, arbitrary: fc.stringMatching(/^fz-[a-z0-9]{1,8}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      "1001",
      "running",
      "cluster",
      "cursor",
      "filter",
      ".",
      "..",
      "c".repeat(65),
    ),
  },
  { weight: 2, arbitrary: anyText },
);

const session = fc.oneof(
  { weight: 5, arbitrary: fc.constant(SESSION) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("", "1.fz-1", "0.fz-1", "-1.fz-1", "99999999999999999999.fz-1", "1.fz-2."),
  },
  { weight: 2, arbitrary: anyText },
);

const batchId = fc.oneof(
  { weight: 5, arbitrary: fc.constant(BATCH) },
  { weight: 2, arbitrary: fc.constantFrom("", "1-1-1", "0-0-0", "-1--1--1", "99999999999999999999-1-1") },
  { weight: 2, arbitrary: anyText },
);

const filter = fc.oneof(
  { weight: 4, arbitrary: fc.constant("") },
  {
    weight: 2,
    arbitrary: fc.constantFrom("fuzz\\..*", ".*\\..*", "fuzz.t,fuzz.u", "(", "[", "a{99999}", "\\"),
  },
  { weight: 2, arbitrary: anyText },
);

const int32 = fc.oneof(
  fc.constantFrom(0, 1, 10, 10_000, 10_001, -1, 2 ** 31 - 1, -(2 ** 31)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);
const int64 = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);
/** A Get's timeout_ms: mostly short (a valid Get waits that long, up to the call's deadline). */
const timeoutMs = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0n, 1n, 50n) },
  { weight: 1, arbitrary: fc.constantFrom(-1n, 600_000n, 600_001n, 2n ** 63n - 1n, -(2n ** 63n)) },
);
/** wait: true waits as a hot standby until the call's deadline when the clientId is held. */
const wait = fc.oneof(
  { weight: 9, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);

const position = fc.record({
  journalName: fc.oneof(fc.constantFrom("mysql-bin.000001", "mysql-bin.999999", "", "../x"), anyText),
  position: int64,
  gtid: fc.oneof(fc.constant(""), anyText),
  timestamp: int64,
  serverId: int64,
  included: fc.boolean(),
});

const cursorTarget = fc.oneof(
  fc.record({ case: fc.constant("head" as const), value: fc.boolean() }),
  fc.record({ case: fc.constant("reset" as const), value: fc.boolean() }),
  fc.record({ case: fc.constant("position" as const), value: position }),
  fc.record({
    case: fc.constant("gtid" as const),
    value: fc.oneof(
      fc.constantFrom("0-1-1", "0-1-99999999", "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5", ""),
      anyText,
    ),
  }),
  fc.record({
    case: fc.constant("timestamp" as const),
    value: fc.oneof(fc.constantFrom(0n, -1n, 1_600_000_000_000n, 2n ** 63n - 1n), int64),
  }),
  fc.constant({ case: undefined }),
);

/** A well-formed request of `method` with random field values (markers in place of some). */
export function requestOf(method: Method): fc.Arbitrary<Record<string, unknown>> {
  switch (method) {
    case "Subscribe":
      return fc.record({ destination, clientId, filter, wait, session });
    case "Unsubscribe":
      return fc.record({ destination, clientId, session, keepCursor: fc.boolean() });
    case "Get":
      return fc.record({
        destination,
        clientId,
        batchSize: int32,
        timeoutMs,
        autoAck: fc.boolean(),
        flat: fc.boolean(),
        session,
      });
    case "Ack":
      return fc.record({ destination, clientId, batchId, session });
    case "Rollback":
      return fc.record({ destination, clientId, batchId, session });
    case "Stream":
      return fc.record({
        destination,
        clientId,
        filter,
        batchSize: int32,
        window: int32,
        flat: fc.boolean(),
        wait,
        session,
      });
    case "ListDestinations":
      return fc.constant({});
    case "GetDestination":
      return fc.record({ destination });
    case "ReleaseDestination":
      return fc.record({
        destination,
        toAddress: fc.oneof(fc.constantFrom("", "127.0.0.1:1", "1.2.3.4:5", "x:99999", ":"), anyText),
      });
    case "SetCursor":
      return fc.record({ destination, clientId, target: cursorTarget });
    case "SkipEvent":
      return fc.record({
        destination,
        journalName: fc.oneof(fc.constantFrom("mysql-bin.000001", ""), anyText),
        position: int64,
      });
  }
}

// Raw bodies ---------------------------------------------------------------------------------

/** A 5-byte envelope prefix: flags and a big-endian length. */
function prefix(flags: number, length: number): Uint8Array {
  const p = new Uint8Array(5);
  p[0] = flags;
  new DataView(p.buffer).setUint32(1, length >>> 0);
  return p;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1000, maxLength: 20_000 }),
  // Valid-looking protobuf: field 1 (destination) "example", then garbage.
  fc
    .uint8Array({ maxLength: 32 })
    .map((b) => concat(new Uint8Array([0x0a, 7, ...Buffer.from("example")]), b)),
  // A field whose length runs past the end.
  fc.constant(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2])),
);

/** Bodies of enveloped protocols (gRPC, gRPC-Web, Connect streams): garbage, wrong lengths, flags. */
export const envelopedBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  bytes.map((b) => concat(prefix(0, b.length), b)), // a frame of garbage
  bytes.map((b) => concat(prefix(0, b.length + 10), b)), // declared longer than sent: truncated
  fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => concat(prefix(0, 1), b)), // bytes after the frame
  bytes.map((b) => concat(prefix(1, b.length), b)), // "compressed" without an encoding
  bytes.map((b) => concat(prefix(0x80, b.length), b)), // a trailer flag from a client
  fc.constantFrom(
    prefix(0, 0xffffffff), // a frame larger than any limit
    prefix(0, 0), // an empty message, twice below
    concat(prefix(0, 0), prefix(0, 0)),
    new Uint8Array([0, 0, 0]), // less than a prefix
    new Uint8Array(0),
  ),
  bytes, // no envelope at all
);

/** Bodies of Connect unary JSON calls: not JSON, JSON of the wrong shape or types, deep, huge. */
export const jsonBody: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.string({ unit: "binary", maxLength: 50 }),
  fc.json(),
  fc.constantFrom(
    "",
    "{",
    "null",
    "[]",
    '{"destination":5}',
    '{"destination":"example","batchSize":"x"}',
    '{"destination":"example","clientId":"fz-1","batchSize":1e400}',
    '{"destination":"example","timeoutMs":"99999999999999999999999"}',
    '{"destination":"example","clientId":{"a":1}}',
    '{"target":{"head":true,"reset":true}}',
    '{"destination":"example","destination":"nope"}',
    `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
    `{"destination":"${"\\u0000".repeat(1000)}"}`,
    `{"nope":"${HUGE}"}`,
    "\uFEFF{}",
  ),
);

/** Bodies of Connect unary binary calls. */
export const protoBody: fc.Arbitrary<Uint8Array> = bytes;
