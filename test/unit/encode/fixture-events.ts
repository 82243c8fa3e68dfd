// The decoder's MySQL 8.4 fixtures as the parse stage's source events (decoded, with their
// transaction's GTID), for the encoder tests that check every entry the fixtures make.
import { BinlogDecoder } from "../../../src/server/binlog/index.js";
import type { SourceEvent } from "../../../src/server/parse/binlog-reader.js";
import { TransactionTracker } from "../../../src/server/parse/transaction-tracker.js";
import { fixtureProvider, type PacketFixture } from "../binlog/helpers.js";

const FILE = "mysql-bin.000001";

/** Each packet of `fx` as a source event; `withProvider`: table definitions from the fixture's schema. */
export function* fixtureSourceEvents(fx: PacketFixture, withProvider: boolean): Generator<SourceEvent> {
  const decoder = new BinlogDecoder({ schemaProvider: withProvider ? fixtureProvider(fx) : undefined });
  const tracker = new TransactionTracker();
  tracker.file = FILE;
  let offset = 4;
  for (const hex of fx.packets) {
    const bytes = Buffer.from(hex, "hex").subarray(1);
    const event = decoder.decode(bytes, { file: FILE, offset });
    const nextOffset = offset + bytes.length;
    const gtid = tracker.observe(event, offset, nextOffset);
    yield { event, file: FILE, offset, nextOffset, gtid, serverId: 1 };
    offset = nextOffset;
  }
}
