// A hand-written reader from a Batch message's bytes straight to the TypeScript client's flat
// rows, for bench/delivery/codec only: the prototype behind the figures that say what the
// client would save by decoding lazily (no Entry/RowData/Column object graph per batch; each
// row's raw columns decoded only when asked for). codec/run.ts checks that its rows equal
// flatRows(fromBinary(...)) for every batch of the dataset; it replaces nothing in src/.
import { fromBinary } from "@bufbuild/protobuf";
import type { ChangeType, FlatRow } from "../../../src/clients/typescript/rows.js";
import { type Column, EntryType, EventType, RowDataSchema } from "../../../src/gen/sluice/v1/entry_pb.js";

const EVENT_NAMES: string[] = [];
for (const [name, n] of Object.entries(EventType)) if (typeof n === "number") EVENT_NAMES[n] = name;

/** A cursor over protobuf bytes. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    const b = this.buf;
    let x = 0;
    let shift = 0;
    for (;;) {
      const byte = b[this.pos++] as number;
      // Bitwise while the result fits 31 bits, arithmetic past that (lengths, never negative).
      if (shift < 28) x |= (byte & 0x7f) << shift;
      else x += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return x;
      shift += 7;
    }
  }

  varint64(): bigint {
    const b = this.buf;
    let x = 0n;
    let shift = 0n;
    for (;;) {
      const byte = b[this.pos++] as number;
      x |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, x);
      shift += 7n;
    }
  }

  /** A length-delimited field: returns its end; pos at its start. */
  len(): number {
    const n = this.varint();
    return this.pos + n;
  }

  string(): string {
    const end = this.len();
    const s = this.buf.toString("utf8", this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.pos = this.len();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new Error(`wire type ${wire}`);
  }
}

interface HeaderFields {
  schema: string;
  table: string;
  executeTime: number;
  gtid: string;
  logfileName: string;
  logfileOffset: bigint;
}

/**
 * Column names and other repeated strings recur in every row: keep the last string decoded
 * from the same bytes at the same place, so each row reuses it instead of allocating it again.
 */
class StringCache {
  readonly #bytes: Buffer[] = [];
  readonly #strings: string[] = [];

  get(buf: Buffer, start: number, end: number, slot: number): string {
    const known = this.#bytes[slot];
    if (known && known.length === end - start && buf.compare(known, 0, known.length, start, end) === 0)
      return this.#strings[slot] as string;
    const s = buf.toString("utf8", start, end);
    this.#bytes[slot] = Buffer.from(buf.subarray(start, end));
    this.#strings[slot] = s;
    return s;
  }
}

/** Flat rows from a Batch message's bytes, as flatRows() gives them; raw columns on demand. */
export class FlatReader {
  readonly #names = new StringCache();
  readonly #headers = new StringCache();

  rows(buf: Buffer): FlatRow[] {
    const out: FlatRow[] = [];
    const r = new Reader(buf, 0, buf.length);
    while (r.pos < r.end) {
      const tag = r.varint();
      if (tag === ((2 << 3) | 2)) {
        const end = r.len();
        this.#entry(new Reader(buf, r.pos, end), out);
        r.pos = end;
      } else r.skip(tag & 7);
    }
    return out;
  }

  #entry(r: Reader, out: FlatRow[]): void {
    let header: HeaderFields | undefined;
    let entryType = 0;
    let change: [number, number] | undefined;
    while (r.pos < r.end) {
      const tag = r.varint();
      const field = tag >>> 3;
      if (field === 1) {
        const end = r.len();
        header = this.#header(new Reader(r.buf, r.pos, end));
        r.pos = end;
      } else if (field === 2) entryType = r.varint();
      else if (field === 100) {
        const end = r.len();
        change = [r.pos, end];
        r.pos = end;
      } else r.skip(tag & 7);
    }
    if (entryType !== EntryType.ROWDATA || !change) return;
    this.#rowChange(new Reader(r.buf, change[0], change[1]), header, out);
  }

  #header(r: Reader): HeaderFields {
    const h: HeaderFields = {
      schema: "",
      table: "",
      executeTime: 0,
      gtid: "",
      logfileName: "",
      logfileOffset: 0n,
    };
    while (r.pos < r.end) {
      const tag = r.varint();
      const field = tag >>> 3;
      if (field === 2 || field === 8 || field === 9 || field === 13) {
        const end = r.len();
        const s = this.#headers.get(r.buf, r.pos, end, field);
        r.pos = end;
        if (field === 2) h.logfileName = s;
        else if (field === 8) h.schema = s;
        else if (field === 9) h.table = s;
        else h.gtid = s;
      } else if (field === 3) h.logfileOffset = r.varint64();
      else if (field === 6) h.executeTime = Number(r.varint64());
      else r.skip(tag & 7);
    }
    return h;
  }

  #rowChange(r: Reader, h: HeaderFields | undefined, out: FlatRow[]): void {
    let eventType = 0;
    let isDdl = false;
    let sql = "";
    const rowDatas: [number, number][] = [];
    while (r.pos < r.end) {
      const tag = r.varint();
      const field = tag >>> 3;
      if (field === 2) eventType = r.varint();
      else if (field === 10) isDdl = r.varint() !== 0;
      else if (field === 11) sql = r.string();
      else if (field === 12) {
        const end = r.len();
        rowDatas.push([r.pos, end]);
        r.pos = end;
      } else r.skip(tag & 7);
    }
    const base = {
      schema: h?.schema ?? "",
      table: h?.table ?? "",
      type: (EVENT_NAMES[eventType] ?? "UNSPECIFIED") as ChangeType,
      sql,
      isDdl,
      executeTime: h?.executeTime ?? 0,
      gtid: h?.gtid ?? "",
      logfileName: h?.logfileName ?? "",
      logfileOffset: h?.logfileOffset ?? 0n,
    };
    if (rowDatas.length === 0) {
      out.push({ ...base, keys: [], beforeColumns: [], afterColumns: [] });
      return;
    }
    for (const [start, end] of rowDatas) out.push(this.#row(r.buf, start, end, base));
  }

  #row(
    buf: Buffer,
    start: number,
    end: number,
    base: Omit<FlatRow, "keys" | "beforeColumns" | "afterColumns">,
  ) {
    let before: Record<string, string | null> | undefined;
    let after: Record<string, string | null> | undefined;
    const beforeKeys: string[] = [];
    const afterKeys: string[] = [];
    const r = new Reader(buf, start, end);
    // Name cache slots: a column's position in its image (after images from 128 on).
    let beforeSlot = 0;
    let afterSlot = 128;
    while (r.pos < r.end) {
      const tag = r.varint();
      const field = tag >>> 3;
      if (field === 1) {
        const colEnd = r.len();
        before ??= {};
        this.#column(new Reader(buf, r.pos, colEnd), before, beforeKeys, beforeSlot++);
        r.pos = colEnd;
      } else if (field === 2) {
        const colEnd = r.len();
        after ??= {};
        this.#column(new Reader(buf, r.pos, colEnd), after, afterKeys, afterSlot++);
        r.pos = colEnd;
      } else r.skip(tag & 7);
    }
    let columns: { before: Column[]; after: Column[] } | undefined;
    // The raw columns only when asked for: decoded from this row's bytes then.
    const raw = () => {
      if (!columns) {
        const rd = fromBinary(RowDataSchema, buf.subarray(start, end));
        columns = { before: rd.beforeColumns, after: rd.afterColumns };
      }
      return columns;
    };
    const row = {
      ...base,
      keys: after ? afterKeys : beforeKeys,
      before,
      after,
    } as FlatRow;
    Object.defineProperty(row, "beforeColumns", { get: () => raw().before, enumerable: false });
    Object.defineProperty(row, "afterColumns", { get: () => raw().after, enumerable: false });
    return row;
  }

  #column(r: Reader, image: Record<string, string | null>, keys: string[], slot: number): void {
    let index = 0;
    let name = "";
    let isKey = false;
    let isNull = false;
    let omitted = false;
    let value = "";
    while (r.pos < r.end) {
      const tag = r.varint();
      const field = tag >>> 3;
      if (field === 1) index = r.varint();
      else if (field === 3) {
        const end = r.len();
        name = this.#names.get(r.buf, r.pos, end, slot);
        r.pos = end;
      } else if (field === 4) isKey = r.varint() !== 0;
      else if (field === 6) isNull = r.varint() !== 0;
      else if (field === 8) value = r.string();
      else if (field === 100) omitted = r.varint() !== 0;
      else r.skip(tag & 7);
    }
    if (isKey) keys.push(name);
    if (omitted) return;
    image[name || `#${index}`] = isNull ? null : value;
  }
}
