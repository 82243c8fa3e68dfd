// Reading binlog FILES (offline decode, `sluice binlog FILE...`): a 4-byte magic 0xFE 'b' 'i'
// 'n', then events back to back. Streams with a bounded buffer: one event in memory at a time
// (plus a read-ahead chunk). Every event must continue the end_log_pos chain (event-chain.ts).
import { kMaxLength } from "node:buffer";
import { open } from "node:fs/promises";
import { BinlogDecoder, type DecoderOptions } from "./decoder.js";
import { BinlogDecodeError } from "./errors.js";
import { describeBreak, EventChain } from "./event-chain.js";
import { EVENT_HEADER_LENGTH } from "./event-header.js";
import { eventTypeName } from "./event-types.js";
import type { BinlogEvent } from "./events.js";

export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);

export interface RawBinlogEvent {
  /** Offset of the event in the file. */
  offset: number;
  /** The event's bytes (header .. checksum). Valid until the next iteration. */
  bytes: Buffer;
}

export interface ReadOptions {
  /** Start at this offset instead of 4 (must be an event boundary; the FDE is still read first). */
  startOffset?: number;
  /** Read chunk size (default 1 MiB). */
  chunkSize?: number;
  /** Stop at an event that does not continue the end_log_pos chain (default true). */
  checkChain?: boolean;
}

// fs read() takes an int32 length: one read never asks for more than this.
const MAX_READ = 1 << 30;

/** Iterates over the raw events of a binlog file. */
export async function* readBinlogEvents(
  path: string,
  opts: ReadOptions = {},
): AsyncGenerator<RawBinlogEvent> {
  const fh = await open(path, "r");
  try {
    const chunk = opts.chunkSize ?? 1 << 20;
    let buf = Buffer.alloc(Math.max(chunk, 64));
    let bufStart = 0; // file offset of buf[0]
    let filled = 0;
    let fileOffset = 0;
    const chain = opts.checkChain === false ? undefined : new EventChain();
    const fill = async (need: number): Promise<boolean> => {
      // ensure buf holds [fileOffset, fileOffset + need)
      const from = fileOffset - bufStart;
      if (from >= 0 && from + need <= filled) return true;
      if (from < 0 || from >= filled) {
        filled = 0; // jumped outside the buffered window
      } else if (from > 0) {
        buf.copy(buf, 0, from, filled);
        filled -= from;
      }
      bufStart = fileOffset;
      if (need > buf.length) {
        // A length past the end of the file (a corrupt header, or a file still being written)
        // must not cost a buffer of that size first.
        if (bufStart + need > (await fh.stat()).size) return false;
        const bigger = Buffer.alloc(Math.max(need, Math.min(buf.length * 2, kMaxLength)));
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      while (filled < need) {
        const length = Math.min(buf.length - filled, MAX_READ);
        const { bytesRead } = await fh.read(buf, filled, length, bufStart + filled);
        if (bytesRead === 0) return false;
        filled += bytesRead;
      }
      return true;
    };
    if (!(await fill(4)) || !buf.subarray(0, 4).equals(BINLOG_MAGIC)) {
      throw new BinlogDecodeError("not a binlog file (bad magic)", { file: path, offset: 0 });
    }
    fileOffset = 4;
    let first = true;
    for (;;) {
      if (!(await fill(EVENT_HEADER_LENGTH))) {
        if (fileOffset - bufStart < filled) {
          throw new BinlogDecodeError("truncated event header at end of file", {
            file: path,
            offset: fileOffset,
          });
        }
        return;
      }
      const at = fileOffset - bufStart;
      const size = buf.readUInt32LE(at + 9);
      if (size < EVENT_HEADER_LENGTH) {
        throw new BinlogDecodeError(`invalid event_size ${size}`, { file: path, offset: fileOffset });
      }
      if (!(await fill(size))) {
        throw new BinlogDecodeError(`event of ${size} bytes truncated by end of file`, {
          file: path,
          offset: fileOffset,
        });
      }
      const start = fileOffset - bufStart;
      const offset = fileOffset;
      fileOffset += size;
      const type = buf[start + 4] as number;
      const bytes = buf.subarray(start, start + size);
      const broken = chain?.check(bytes);
      if (broken) {
        throw new BinlogDecodeError(describeBreak(broken), {
          file: path,
          offset,
          eventType: type,
          eventTypeName: eventTypeName(type),
        });
      }
      chain?.accept(bytes);
      // Skip to startOffset after the FORMAT_DESCRIPTION (needed to decode anything).
      if (first && opts.startOffset !== undefined && opts.startOffset > offset && type === 15) {
        yield { offset, bytes };
        fileOffset = opts.startOffset;
        chain?.reset();
        first = false;
        continue;
      }
      first = false;
      yield { offset, bytes };
    }
  } finally {
    await fh.close();
  }
}

export interface DecodedFileEvent {
  offset: number;
  event: BinlogEvent;
}

/** Decodes a binlog file event by event (streaming, constant memory). */
export async function* readBinlogFile(
  path: string,
  opts: DecoderOptions & ReadOptions & { decoder?: BinlogDecoder } = {},
): AsyncGenerator<DecodedFileEvent> {
  const decoder = opts.decoder ?? new BinlogDecoder(opts);
  const file = path.split("/").pop() ?? path;
  for await (const raw of readBinlogEvents(path, opts)) {
    yield { offset: raw.offset, event: decoder.decode(raw.bytes, { file, offset: raw.offset }) };
  }
}
