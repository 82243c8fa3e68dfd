// bench/delivery/codec: what the delivery path's encoding and decoding cost per row, and what
// the changes issue 20 proposes would cost instead, on the entries of a saved dataset, in one
// process (no server, no network): evidence for the recommendations in docs/benchmarks.md.
//
//   node --expose-gc dist/bench/delivery/codec/run.js --datadir DIR [--rows 100k]
//     [--batch-size 1000] [--repeat 5]
//
// The entries are built exactly as the server builds them (BinlogDecoder, TransactionTracker,
// EntryBuilder over the binlog files of a dataset saved by bench/delivery or bench/decode
// --datadir), cut into batches of --batch-size entries. Per pass, CPU µs per row of:
//   server, before     toBinary(Batch) per delivery (protobuf-es): what the server did
//   encode once        each entry as it enters the store (src/server/encode, the server's) ...
//   ... per delivery   ... and a StreamResponse made of its entries' bytes
//   gateway, Connect    fromBinary + toBinary of every batch (what it does for Connect streams)
//   gateway, JSON       fromBinary + toJsonString of every batch (what it did for JSON clients)
//   JSON, per entry     each entry's JSON written from its stored bytes by the hand-written writer
//                       (src/server/encode/entry-json.ts): once per entry, on its first JSON delivery
//   JSON, per delivery  a GetResponse's JSON from its entries' JSON forms (json-responses.ts), in
//                       parts the server writes one after the other
//   client, decoded     fromBinary(Batch) + flatRows + every value read (the entries decoded into
//                       objects, as the TypeScript client's batches are over JSON)
//   client, from bytes  the TypeScript client over binary: the batch read with its entries as
//                       bytes, flat rows straight from them (src/clients/typescript/wire/row-reader.ts)
//                       + every value
// Every byte string is checked equal to protobuf-es's, and every hand-read row equal to
// flatRows's; a mismatch stops the run. With --expose-gc it also weighs the entries held as
// objects (what the store kept) against the same entries as the store holds them now.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import { fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { EncodedEntries } from "../../../src/clients/typescript/batch-entries.js";
import { type FlatRow, flatRows } from "../../../src/clients/typescript/rows.js";
import { rawBatchSchema } from "../../../src/clients/typescript/wire/raw-canal-service.js";
import {
  type Batch,
  BatchSchema,
  GetResponseSchema,
  StreamResponseSchema,
} from "../../../src/gen/sluice/v1/canal_service_pb.js";
import { type Entry, EntrySchema, EventType } from "../../../src/gen/sluice/v1/entry_pb.js";
import { BinlogDecoder } from "../../../src/server/binlog/index.js";
import { entryMessage } from "../../../src/server/encode/entry-encoder.js";
import { writeEntryJson } from "../../../src/server/encode/entry-json.js";
import { encodeGetResponseJson } from "../../../src/server/encode/json-responses.js";
import { encodeStreamBatch } from "../../../src/server/encode/responses.js";
import { type FilterSubject, filterSubject } from "../../../src/server/entry/filter-subject.js";
import { classifyStatement } from "../../../src/server/parse/ddl.js";
import { EntryBuilder } from "../../../src/server/parse/entry-builder.js";
import { TransactionTracker } from "../../../src/server/parse/transaction-tracker.js";
import { EntryStorer } from "../../../src/server/store/stored-entry.js";
import { POSITION } from "../../../test/unit/store/stored-entries.js";
import { type Dataset, parseArgs, parseCount } from "../../decode/common.js";

const log = (s: string) => process.stderr.write(`[bench/delivery/codec] ${s}\n`);

/** The server's entries for the first `rows` row changes of a saved dataset. */
function buildEntries(dir: string, ds: Dataset, rows: number): Entry[] {
  const decoder = new BinlogDecoder({ timeZone: "UTC" });
  const tracker = new TransactionTracker();
  const builder = new EntryBuilder({ flavor: "mariadb" });
  const entries: Entry[] = [];
  let counted = 0;
  for (const [k, f] of ds.files.entries()) {
    const whole = readFileSync(join(dir, "data", f.file));
    const end = k === ds.files.length - 1 ? ds.end.position : whole.length;
    tracker.file = f.file;
    for (let pos = 4; pos + 19 <= end && counted < rows; ) {
      const size = whole.readUInt32LE(pos + 9);
      const bytes = whole.subarray(pos, pos + size);
      const event = decoder.decode(bytes, { file: f.file, offset: pos });
      const gtid = tracker.observe(event, pos, pos + size);
      const entry = builder.build({
        event,
        file: f.file,
        offset: pos,
        nextOffset: pos + size,
        gtid,
        serverId: 1,
      });
      if (entry) {
        entries.push(entry);
        if (entry.payload.case === "rowChange") counted += entry.payload.value.rowDatas.length;
      }
      pos += size;
    }
  }
  return entries;
}

/** Every value of every image read, as the bench's consumers do. */
function touch(rows: FlatRow[]): number {
  let d = 0;
  for (const row of rows) {
    for (const k in row.after) d += row.after[k]?.length ?? 0;
    for (const k in row.before) d += row.before[k]?.length ?? 0;
  }
  return d;
}

function measure(fn: () => void): { cpuUs: number; wallUs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { cpuUs: c.user + c.system, wallUs: (performance.now() - t0) * 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function main(): void {
  const a = parseArgs(process.argv.slice(2), ["datadir", "rows", "batch-size", "repeat"]);
  const dir = a.get("datadir");
  if (!dir)
    throw new Error("--datadir DIR is required (a dataset saved with bench/delivery/run.js --datadir DIR)");
  const ds = JSON.parse(readFileSync(join(dir, "dataset.json"), "utf8")) as Dataset;
  const wanted = a.has("rows") ? parseCount(a.get("rows") as string) : 100_000;
  const batchSize = a.has("batch-size") ? parseCount(a.get("batch-size") as string) : 1000;
  const repeat = Math.max(2, a.has("repeat") ? parseCount(a.get("repeat") as string) : 5);
  const gc = (globalThis as { gc?: () => void }).gc;

  // JS heap plus the buffers' memory outside it.
  const memory = () => {
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const mem0 = memory();
  const entries = buildEntries(dir, ds, wanted);
  const mem1 = memory();
  // The same entries as the server's store holds them (src/server/store/stored-entry.ts).
  const storer = new EntryStorer();
  const held = entries.map((e) => storer.store(e, subjectOf(e), POSITION));
  const memHeld = memory() - mem1;
  const rows = entries.reduce(
    (s, e) => s + (e.payload.case === "rowChange" ? e.payload.value.rowDatas.length : 0),
    0,
  );
  const storeEstimate = entries.reduce((s, e) => s + Number(e.header?.eventLength ?? 0n) * 4 + 600, 0);
  const batches: Batch[] = [];
  for (let i = 0; i < entries.length; i += batchSize) {
    batches.push({
      $typeName: "sluice.v1.Batch",
      batchId: `7-${batches.length + 1}`,
      entries: entries.slice(i, i + batchSize),
      flatMessages: [],
    });
  }
  log(
    `${entries.length} entries, ${rows} row changes, ${batches.length} batches of up to ${batchSize} entries`,
  );

  // Proofs first: the server's encoder and the hand-written reader against protobuf-es, on
  // every batch.
  const rawBatch = rawBatchSchema();
  const reader = {
    /** The client's path: the batch with its entries as bytes, flat rows read from them. */
    rows: (b: Buffer) =>
      new EncodedEntries((fromBinary(rawBatch, b) as unknown as { entries: Uint8Array[] }).entries).rows(),
  };
  const encoded = batches.map((b) => Buffer.from(toBinary(BatchSchema, b)));
  const entryBytes = held.map((h) => h.bytes);
  let at = 0;
  for (const [i, b] of batches.entries()) {
    const fields = entryBytes.slice(at, at + b.entries.length);
    at += b.entries.length;
    const expected = toBinary(StreamResponseSchema, {
      $typeName: "sluice.v1.StreamResponse",
      message: { case: "batch", value: b },
    });
    if (!encodeStreamBatch(b.batchId, fields, []).equals(expected))
      throw new Error(`batch ${i}: the server's encoding differs from toBinary`);
    const rows = flatRows(fromBinary(BatchSchema, encoded[i] as Buffer).entries);
    const got = reader.rows(encoded[i] as Buffer);
    // The raw columns are compared on one row below (reading them all would decode them all).
    const plain = (rs: FlatRow[]) =>
      rs.map((r) => [
        r.schema,
        r.table,
        r.type,
        r.before,
        r.after,
        r.keys,
        r.sql,
        r.isDdl,
        r.executeTime,
        r.gtid,
        r.logfileName,
        r.logfileOffset,
      ]);
    if (!isDeepStrictEqual(plain(got), plain(rows)))
      throw new Error(`batch ${i}: the hand-written reader's rows differ from flatRows`);
    const k = Math.floor(rows.length / 2);
    if (!isDeepStrictEqual(got[k]?.afterColumns, rows[k]?.afterColumns))
      throw new Error(`batch ${i}: the lazily decoded columns differ`);
  }
  for (const [i, e] of entries.entries()) {
    if (writeEntryJson(entryBytes[i] as Buffer)?.toString("utf8") !== toJsonString(EntrySchema, e))
      throw new Error(`entry ${i}: the JSON writer's text differs from toJsonString`);
  }
  at = 0;
  for (const [i, b] of batches.entries()) {
    const fields = entryBytes.slice(at, at + b.entries.length);
    at += b.entries.length;
    const expected = toJsonString(GetResponseSchema, {
      $typeName: "sluice.v1.GetResponse",
      batchId: b.batchId,
      entries: b.entries,
      flatMessages: [],
      epoch: 7n,
    });
    if (Buffer.concat(encodeGetResponseJson(b.batchId, fields, [], 7n)).toString("utf8") !== expected)
      throw new Error(`batch ${i}: the server's GetResponse JSON differs from toJsonString`);
  }
  log("checked: the server's bytes = toBinary, its JSON = toJsonString, hand-read rows = flatRows");

  const entryBytesTotal = entryBytes.reduce((s, b) => s + b.length, 0);
  const jsonBytesTotal = entryBytes.reduce((s, f) => s + (writeEntryJson(f)?.length ?? 0), 0);

  const ops: Record<string, () => void> = {
    "server, before: toBinary(Batch) per delivery (protobuf-es)": () => {
      for (const b of encoded) toBinary(BatchSchema, fromBatch(b));
    },
    "encode once: each entry as it enters the store (src/server/encode)": () => {
      for (const b of encoded) for (const e of fromBatch(b).entries) storer.store(e, subjectOf(e), POSITION);
    },
    "then per delivery: a StreamResponse from the entries' bytes": () => {
      let k = 0;
      for (const b of encoded) {
        const m = fromBatch(b);
        encodeStreamBatch(m.batchId, entryBytes.slice(k, k + m.entries.length), []);
        k += m.entries.length;
      }
    },
    "gateway, Connect: fromBinary + toBinary per batch": () => {
      for (const b of encoded) toBinary(BatchSchema, fromBinary(BatchSchema, b));
    },
    "gateway, JSON: fromBinary + toJsonString per batch": () => {
      for (const b of encoded) toJsonString(BatchSchema, fromBinary(BatchSchema, b));
    },
    "JSON once per entry: from its stored bytes (entry-json.ts)": () => {
      for (const f of entryBytes) writeEntryJson(f);
    },
    "  (the same by protobuf-es: fromBinary + toJsonString per entry)": () => {
      for (const f of entryBytes)
        Buffer.from(toJsonString(EntrySchema, fromBinary(EntrySchema, entryMessage(f))));
    },
    "then per JSON delivery: a GetResponse from the entries' JSON (json-responses.ts)": () => {
      let k = 0;
      for (const b of encoded) {
        const m = fromBatch(b);
        encodeGetResponseJson(m.batchId, entryBytes.slice(k, k + m.entries.length), [], 7n);
        k += m.entries.length;
      }
    },
    "client, decoded: fromBinary + flatRows + every value": () => {
      for (const b of encoded) touch(flatRows(fromBinary(BatchSchema, b).entries));
    },
    "client, from bytes: flat rows from the entries' bytes + every value": () => {
      for (const b of encoded) touch(reader.rows(b));
    },
  };
  // The server-side operations work on message objects: decode them once, outside the timing.
  const decoded = new Map<Buffer, Batch>(encoded.map((b) => [b, fromBinary(BatchSchema, b)]));
  function fromBatch(b: Buffer): Batch {
    return decoded.get(b) as Batch;
  }

  const results: Record<string, number[]> = {};
  for (let p = 0; p < repeat; p++) {
    // Interleaved: drift on the machine hits every operation alike. Pass 1 warms the JIT.
    for (const [name, fn] of Object.entries(ops)) {
      gc?.();
      const m = measure(fn);
      if (p === 0) continue;
      results[name] ??= [];
      results[name].push(m.cpuUs / rows);
    }
  }
  const lines = [
    `bench/delivery/codec: ${rows} row changes of ${dir} (${ds.rows} in the dataset), ${batches.length} batches of ${batchSize} entries, node ${process.version}`,
    `CPU µs per row, median of passes 2..${repeat} (GC included), and min..max:`,
    ...Object.entries(results).map(
      ([name, xs]) =>
        `  ${median(xs).toFixed(2).padStart(7)}  (${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)})  ${name}`,
    ),
    `bytes per row: encoded entries ${(entryBytesTotal / rows).toFixed(0)}, as JSON ${(jsonBytesTotal / rows).toFixed(0)}, the store's estimate (eventLength × 4 + 600 per entry) ${(storeEstimate / rows).toFixed(0)}` +
      (gc
        ? `; memory held (heap + buffers, after a full GC): the entries as objects ${((mem1 - mem0) / rows).toFixed(0)}, as bytes ${(memHeld / rows).toFixed(0)}`
        : " (run with --expose-gc to weigh them in memory)"),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

main();

/** The filter subject the server's pipeline hands the store beside an entry (src/server/entry). */
function subjectOf(e: Entry): FilterSubject | undefined {
  const change = e.payload.case === "rowChange" ? e.payload.value : undefined;
  const isStatement = change !== undefined && (change.isDdl || change.eventType === EventType.QUERY);
  return filterSubject(e, isStatement ? classifyStatement(change.sql, change.ddlSchemaName) : undefined);
}
