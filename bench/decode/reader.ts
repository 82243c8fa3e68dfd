// One in-process reader, run by run.ts in a child process of its own so that its CPU time and
// peak RSS are its own:
//   node dist/bench/decode/reader.js '<json ReaderConfig>'
// Readers:
//   sluice     ReplicationClient + sluice's BinlogDecoder, every value decoded to text
//              (SLUICE_DECODER_WORKERS=N > 0: ParallelDecoder with N worker threads instead)
//   sluice-parallel  the same with ParallelDecoder (SLUICE_DECODER_WORKERS workers, default 1)
//   transport  ReplicationClient alone: the bytes arrive and are framed, nothing is decoded
//   zongji     @vlasky/zongji (tablemap, rows and xid events)
// Each reads from `start` to `end` (the head recorded after generation) and prints one JSON
// line (a ReaderResult) as its last line of stdout.
import { performance } from "node:perf_hooks";
import { makeReplicaServerId, ReplicationClient } from "../../src/server/replication/replication-client.js";
import { parseSourceUrl } from "../../src/server/replication/source.js";
import { type BinlogPos, fileSeq, PositionTracker, type ReaderResult } from "./common.js";
import {
  decoderWorkers,
  importSluiceDecoder,
  makeRowsDecoder,
  type RowsDecoder,
  rowDigest,
} from "./sluice-decoder.js";

export interface ReaderConfig {
  /** "sluice-parallel": sluice with ParallelDecoder (SLUICE_DECODER_WORKERS workers, default 1). */
  reader: "sluice" | "sluice-parallel" | "transport" | "zongji";
  sourceUrl: string;
  start: BinlogPos;
  end: BinlogPos;
  timeoutMs: number;
}

interface Progress {
  rows: number;
  events: number;
  eventBytes: number;
  digest: number;
  notes: string[];
}

const rssSamples: number[] = [];
const sampler = setInterval(() => rssSamples.push(Math.round(process.memoryUsage.rss() / 1e5) / 10), 1000);
sampler.unref();

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? "{}") as ReaderConfig;
  const progress: Progress = { rows: 0, events: 0, eventBytes: 0, digest: 0, notes: [] };
  const timer = setTimeout(() => {
    finish(cfg, progress, 0, `timed out after ${cfg.timeoutMs} ms`);
  }, cfg.timeoutMs);
  timer.unref();
  try {
    let seconds: number;
    if (cfg.reader === "zongji") seconds = await readZongji(cfg, progress);
    else seconds = await readSluice(cfg, progress);
    finish(cfg, progress, seconds);
  } catch (err) {
    finish(cfg, progress, 0, (err as Error).stack ?? String(err));
  }
}

let finished = false;

/** Prints the result line and exits (once, whoever calls first: the reader or its timeout). */
function finish(cfg: ReaderConfig, p: Progress, seconds: number, error?: string): void {
  if (finished) return;
  finished = true;
  const usage = process.resourceUsage();
  const result: ReaderResult = {
    reader: cfg.reader,
    ok: error === undefined,
    ...(error !== undefined ? { error } : {}),
    rows: cfg.reader === "transport" ? -1 : p.rows,
    eventBytes: p.eventBytes,
    events: p.events,
    seconds,
    cpuUser: usage.userCPUTime / 1e6,
    cpuSystem: usage.systemCPUTime / 1e6,
    maxRss: usage.maxRSS * 1024,
    rssSamplesMB: rssSamples,
    digest: p.digest,
    notes: p.notes,
  };
  process.stdout.write(`\n${JSON.stringify(result)}\n`, () => process.exit(error ? 1 : 0));
}

/** Sluice's replica connection, with or without the decoder. Returns the read time in seconds. */
async function readSluice(cfg: ReaderConfig, p: Progress): Promise<number> {
  let mod: Record<string, unknown> | undefined;
  const workers = cfg.reader === "sluice-parallel" ? Math.max(1, decoderWorkers()) : decoderWorkers();
  if (cfg.reader === "sluice" || cfg.reader === "sluice-parallel") {
    const m = await importSluiceDecoder();
    if (typeof m === "string") throw new Error(`sluice decoder: not available (${m})`);
    mod = m;
  }
  const t0 = performance.now();
  const client = await ReplicationClient.connect(parseSourceUrl(cfg.sourceUrl));
  let decoder: RowsDecoder | undefined;
  if (mod) {
    try {
      decoder = makeRowsDecoder(mod, client.info, workers);
    } catch (err) {
      client.close();
      throw new Error(`sluice decoder: not available (its API differs: ${(err as Error).message})`);
    }
  }
  const tracker = new PositionTracker(cfg.end, client.info.checksum);
  let done = false;
  let resolveDone!: () => void;
  let rejectDone!: (err: Error) => void;
  const reachedEnd = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // Back-pressure from a parallel decoder: pause the dump until it has room again (events
  // can arrive before client.dump() resolves, hence `paused`).
  let dumpControl: { pause(): void; resume(): void } | undefined;
  let paused = false;
  if (decoder) {
    p.notes.push(`sluice decoder: ${decoder.mode}`);
    decoder.onDrain = () => {
      paused = false;
      dumpControl?.resume();
    };
    decoder.onError = (err) => {
      if (done) return;
      done = true;
      rejectDone(err);
    };
  }
  const dump = await client.dump(
    { kind: "file", file: cfg.start.file, position: cfg.start.position },
    {
      event(bytes: Buffer) {
        if (done) return; // packets already buffered when we stopped
        p.events++;
        p.eventBytes += bytes.length;
        if (decoder) {
          // The event's own offset: its end position minus its length (0 for artificial events).
          const logPos = bytes.length >= 19 ? bytes.readUInt32LE(13) : 0;
          const offset = logPos > 0 ? logPos - bytes.length : 0;
          const more = decoder.push(bytes, tracker.file, offset);
          p.rows = decoder.rows;
          if (!more) {
            if (decoder.error) return; // reported through onError
            paused = true;
            dumpControl?.pause();
          }
        }
        if (tracker.see(bytes)) {
          done = true;
          // Every event up to the end is pushed; the reading ends when the decoder is through.
          if (decoder) decoder.finish().then(resolveDone, rejectDone);
          else resolveDone();
        }
      },
      end() {
        if (!done) rejectDone(new Error(`the server ended the dump at ${tracker.file}:${tracker.position}`));
      },
    },
    { replicaServerId: makeReplicaServerId(client.info.serverId), heartbeatMs: 1000 },
  );
  dumpControl = dump;
  if (paused) dump.pause();
  dump.done.catch((err: Error) => {
    if (!done) rejectDone(err);
  });
  try {
    await reachedEnd;
  } finally {
    done = true;
    dump.stop();
    client.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (decoder) {
    p.rows = decoder.rows;
    p.digest = decoder.digest;
  }
  return seconds;
}

// Structural types for the parts of zongji we use (its own .d.ts is available too, but this
// keeps the bench compiling whether or not the devDependency is installed).
interface ZongjiEvent {
  getEventName(): string;
  nextPosition: number;
  rows?: unknown[];
  /** ROTATE: the file the stream continues in. */
  binlogName?: string;
}
interface ZongjiInstance {
  options: { filename?: string };
  on(event: "binlog", fn: (ev: ZongjiEvent) => void): void;
  on(event: "error", fn: (err: Error) => void): void;
  on(event: "ready" | "stopped", fn: () => void): void;
  start(options: Record<string, unknown>): void;
  stop(): void;
}

/** @vlasky/zongji from start to end. Returns the read time in seconds. */
async function readZongji(cfg: ReaderConfig, p: Progress): Promise<number> {
  const spec = "@vlasky/zongji";
  let ZongJi: new (dsn: Record<string, unknown>) => ZongjiInstance;
  try {
    ZongJi = ((await import(spec)) as { default: typeof ZongJi }).default;
  } catch (err) {
    throw new Error(
      `@vlasky/zongji is not installed (npm install --save-dev --save-exact @vlasky/zongji@0.9.0): ${(err as Error).message}`,
    );
  }
  const src = parseSourceUrl(cfg.sourceUrl);
  const endSeq = fileSeq(cfg.end.file);
  const t0 = performance.now();
  const zj = new ZongJi({
    host: src.host,
    port: src.port,
    user: src.user,
    password: src.password,
    // Text where zongji offers it: dates and JSON as strings (DECIMAL is a string already).
    dateStrings: true,
    jsonStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  await new Promise<void>((resolve, reject) => {
    let done = false;
    let file = "";
    zj.on("error", (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
    zj.on("binlog", (ev) => {
      if (done) return;
      p.events++;
      const rows = ev.rows;
      if (rows) {
        p.rows += rows.length;
        for (const row of rows) p.digest += rowDigest(row);
      }
      // The file we are in, from ROTATE events in stream order. (zj.options.filename moves on
      // as soon as a ROTATE is parsed, which can be before earlier events are emitted.)
      if (ev.getEventName() === "rotate" && ev.binlogName) {
        file = ev.binlogName;
        return;
      }
      if (ev.nextPosition > 0 && file) {
        const seq = fileSeq(file);
        if (seq > endSeq || (seq === endSeq && ev.nextPosition >= cfg.end.position)) {
          done = true;
          resolve();
        }
      }
    });
    zj.start({
      serverId: 0x30000000 + (process.pid % 0xfffffff),
      filename: cfg.start.file,
      position: cfg.start.position,
      includeEvents: ["tablemap", "writerows", "updaterows", "deleterows", "xid", "query", "rotate"],
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  zj.stop();
  return seconds;
}

await main();
