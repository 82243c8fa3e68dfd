// A hand-written protobuf encoder of sluice.v1.Entry and Batch, for bench/delivery/codec only:
// the prototype behind the figures that say what the server would save by encoding entries
// itself, and by encoding each entry once (a batch is then the concatenation of its entries'
// bytes). codec/run.ts checks its bytes equal protobuf-es's toBinary for every batch of the
// dataset; it does not replace anything in src/.
//
// Two passes per message, as protobuf encoders do: sizes first (nested messages are length-
// prefixed), then the bytes. UTF-8 lengths of strings are computed in the size pass and kept,
// in traversal order, for the write pass. Fields go in declaration order, defaults (0, "",
// false, empty lists) are left out: what protobuf-es writes for proto3 fields.
import type { Column, Entry, Header, Pair, RowData } from "../../../src/gen/sluice/v1/entry_pb.js";

const LEN = 2;
const VARINT = 0;
/** Strings up to this many characters may take the ASCII fast path (length fits one byte). */
const SHORT = 48;

function varintSize(n: number): number {
  if (n < 0) return 10; // int32 negatives take 10 bytes, as int64
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

function varint64Size(n: bigint): number {
  if (n < 0n) return 10;
  let size = 1;
  while (n >= 0x80n) {
    n >>= 7n;
    size++;
  }
  return size;
}

export class EntryWriter {
  #buf: Buffer = Buffer.allocUnsafe(1 << 16);
  #pos = 0;
  /** UTF-8 lengths of non-empty strings, in traversal order (size pass writes, write pass reads). */
  #lens: number[] = [];
  #lenAt = 0;
  /** Sizes of nested messages, in the same order. */
  #sizes: number[] = [];
  #sizeAt = 0;

  /** The bytes of a Batch message: batch_id, then entries (field 2). */
  batch(batchId: string, entries: readonly Entry[]): Buffer {
    this.#reset();
    let size = 0;
    if (batchId !== "") size += 1 + this.#strSize(batchId);
    for (const e of entries) {
      const s = this.#entrySize(e);
      size += 1 + varintSize(s) + s;
    }
    this.#ensure(size);
    if (batchId !== "") this.#string(1, batchId);
    for (const e of entries) this.#entry(2, e);
    return this.#take();
  }

  /** The bytes of one Entry (what a store could keep per entry). */
  entry(e: Entry): Buffer {
    this.#reset();
    const size = this.#entrySize(e);
    this.#ensure(size);
    this.#sizeAt = 1; // slot 0 is the entry's own size: no tag and length for it here
    this.#entryBody(e);
    return this.#take();
  }

  #reset(): void {
    this.#pos = 0;
    this.#lens.length = 0;
    this.#lenAt = 0;
    this.#sizes.length = 0;
    this.#sizeAt = 0;
  }

  #ensure(size: number): void {
    if (this.#buf.length < size) this.#buf = Buffer.allocUnsafe(Math.max(size, this.#buf.length * 2));
  }

  #take(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }

  // --- sizes ---

  #strSize(s: string): number {
    // Short ASCII strings (names, types, numbers) are copied by a JS loop: cheaper than a call
    // into the runtime each. Marked by a negative length: -(n + 1).
    if (s.length <= SHORT) {
      let ascii = true;
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.#lens.push(-s.length - 1);
        return 1 + s.length;
      }
    }
    const n = Buffer.byteLength(s, "utf8");
    this.#lens.push(n);
    return varintSize(n) + n;
  }

  /** Reserves the slot of a nested message's size (pre-order); #fill() sets it once known. */
  #reserve(): number {
    this.#sizes.push(0);
    return this.#sizes.length - 1;
  }

  #fill(slot: number, size: number): number {
    this.#sizes[slot] = size;
    return size;
  }

  #entrySize(e: Entry): number {
    const slot = this.#reserve();
    let s = 0;
    if (e.header) {
      const h = this.#headerSize(e.header);
      s += 1 + varintSize(h) + h;
    }
    if (e.entryType !== 0) s += 1 + varintSize(e.entryType);
    const p = e.payload;
    if (p.case === "rowChange") {
      const v = p.value;
      const rcSlot = this.#reserve();
      let r = 0;
      if (v.tableId !== 0n) r += 1 + varint64Size(v.tableId);
      if (v.eventType !== 0) r += 1 + varintSize(v.eventType);
      if (v.isDdl) r += 2;
      if (v.sql !== "") r += 1 + this.#strSize(v.sql);
      for (const rd of v.rowDatas) {
        const n = this.#rowDataSize(rd);
        r += 1 + varintSize(n) + n;
      }
      r += this.#pairsSize(1, v.props);
      if (v.ddlSchemaName !== "") r += 1 + this.#strSize(v.ddlSchemaName);
      const rc = this.#fill(rcSlot, r);
      s += 2 + varintSize(rc) + rc;
    } else if (p.case === "transactionBegin") {
      const v = p.value;
      const bSlot = this.#reserve();
      let r = this.#pairsSize(1, v.props);
      if (v.threadId !== 0n) r += 1 + varint64Size(v.threadId);
      const b = this.#fill(bSlot, r);
      s += 2 + varintSize(b) + b;
    } else if (p.case === "transactionEnd") {
      const v = p.value;
      const bSlot = this.#reserve();
      let r = 0;
      if (v.transactionId !== "") r += 1 + this.#strSize(v.transactionId);
      const b = this.#fill(bSlot, r + this.#pairsSize(1, v.props));
      s += 2 + varintSize(b) + b;
    }
    return this.#fill(slot, s);
  }

  #headerSize(h: Header): number {
    const slot = this.#reserve();
    let s = 0;
    if (h.version !== 0) s += 1 + varintSize(h.version);
    if (h.logfileName !== "") s += 1 + this.#strSize(h.logfileName);
    if (h.logfileOffset !== 0n) s += 1 + varint64Size(h.logfileOffset);
    if (h.serverId !== 0n) s += 1 + varint64Size(h.serverId);
    if (h.serverEncoding !== "") s += 1 + this.#strSize(h.serverEncoding);
    if (h.executeTime !== 0n) s += 1 + varint64Size(h.executeTime);
    if (h.sourceType !== 0) s += 1 + varintSize(h.sourceType);
    if (h.schemaName !== "") s += 1 + this.#strSize(h.schemaName);
    if (h.tableName !== "") s += 1 + this.#strSize(h.tableName);
    if (h.eventLength !== 0n) s += 1 + varint64Size(h.eventLength);
    if (h.eventType !== 0) s += 1 + varintSize(h.eventType);
    s += this.#pairsSize(1, h.props);
    if (h.gtid !== "") s += 1 + this.#strSize(h.gtid);
    return this.#fill(slot, s);
  }

  #rowDataSize(rd: RowData): number {
    const slot = this.#reserve();
    let s = 0;
    for (const c of rd.beforeColumns) {
      const n = this.#columnSize(c);
      s += 1 + varintSize(n) + n;
    }
    for (const c of rd.afterColumns) {
      const n = this.#columnSize(c);
      s += 1 + varintSize(n) + n;
    }
    return this.#fill(slot, s + this.#pairsSize(1, rd.props));
  }

  #columnSize(c: Column): number {
    const slot = this.#reserve();
    let s = 0;
    if (c.index !== 0) s += 1 + varintSize(c.index);
    if (c.sqlType !== 0) s += 1 + varintSize(c.sqlType);
    if (c.name !== "") s += 1 + this.#strSize(c.name);
    if (c.isKey) s += 2;
    if (c.updated) s += 2;
    if (c.isNull) s += 2;
    s += this.#pairsSize(1, c.props);
    if (c.value !== "") s += 1 + this.#strSize(c.value);
    if (c.length !== 0) s += 1 + varintSize(c.length);
    if (c.mysqlType !== "") s += 1 + this.#strSize(c.mysqlType);
    if (c.omitted) s += 3;
    if (c.base64) s += 3;
    return this.#fill(slot, s);
  }

  #pairsSize(tagSize: number, pairs: readonly Pair[]): number {
    let s = 0;
    for (const p of pairs) {
      const slot = this.#reserve();
      let r = 0;
      if (p.key !== "") r += 1 + this.#strSize(p.key);
      if (p.value !== "") r += 1 + this.#strSize(p.value);
      const n = this.#fill(slot, r);
      s += tagSize + varintSize(n) + n;
    }
    return s;
  }

  // --- bytes ---

  #tag(field: number, wire: number): void {
    this.#varint((field << 3) | wire);
  }

  #varint(n: number): void {
    const b = this.#buf;
    if (n < 0) {
      this.#varint64(BigInt(n));
      return;
    }
    while (n >= 0x80) {
      b[this.#pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[this.#pos++] = n;
  }

  #varint64(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    const b = this.#buf;
    while (v >= 0x80n) {
      b[this.#pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    b[this.#pos++] = Number(v);
  }

  #string(field: number, s: string): void {
    this.#tag(field, LEN);
    const n = this.#lens[this.#lenAt++] as number;
    if (n < 0) {
      const b = this.#buf;
      let p = this.#pos;
      b[p++] = s.length;
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
      this.#pos = p;
      return;
    }
    this.#varint(n);
    this.#pos += this.#buf.write(s, this.#pos, n, "utf8");
  }

  #uint(field: number, n: number): void {
    this.#tag(field, VARINT);
    this.#varint(n);
  }

  #uint64(field: number, n: bigint): void {
    this.#tag(field, VARINT);
    this.#varint64(n);
  }

  #bool(field: number): void {
    this.#tag(field, VARINT);
    this.#buf[this.#pos++] = 1;
  }

  /** Tag and length of the next nested message. */
  #open(field: number): void {
    this.#tag(field, LEN);
    this.#varint(this.#sizes[this.#sizeAt++] as number);
  }

  #entry(field: number, e: Entry): void {
    this.#open(field);
    this.#entryBody(e);
  }

  #entryBody(e: Entry): void {
    if (e.header) this.#header(e.header);
    if (e.entryType !== 0) this.#uint(2, e.entryType);
    const p = e.payload;
    if (p.case === "rowChange") {
      const v = p.value;
      this.#open(100);
      if (v.tableId !== 0n) this.#uint64(1, v.tableId);
      if (v.eventType !== 0) this.#uint(2, v.eventType);
      if (v.isDdl) this.#bool(10);
      if (v.sql !== "") this.#string(11, v.sql);
      for (const rd of v.rowDatas) this.#rowData(rd);
      this.#pairs(13, v.props);
      if (v.ddlSchemaName !== "") this.#string(14, v.ddlSchemaName);
    } else if (p.case === "transactionBegin") {
      const v = p.value;
      this.#open(101);
      this.#pairs(3, v.props);
      if (v.threadId !== 0n) this.#uint64(4, v.threadId);
    } else if (p.case === "transactionEnd") {
      const v = p.value;
      this.#open(102);
      if (v.transactionId !== "") this.#string(2, v.transactionId);
      this.#pairs(3, v.props);
    }
  }

  #header(h: Header): void {
    this.#open(1);
    if (h.version !== 0) this.#uint(1, h.version);
    if (h.logfileName !== "") this.#string(2, h.logfileName);
    if (h.logfileOffset !== 0n) this.#uint64(3, h.logfileOffset);
    if (h.serverId !== 0n) this.#uint64(4, h.serverId);
    if (h.serverEncoding !== "") this.#string(5, h.serverEncoding);
    if (h.executeTime !== 0n) this.#uint64(6, h.executeTime);
    if (h.sourceType !== 0) this.#uint(7, h.sourceType);
    if (h.schemaName !== "") this.#string(8, h.schemaName);
    if (h.tableName !== "") this.#string(9, h.tableName);
    if (h.eventLength !== 0n) this.#uint64(10, h.eventLength);
    if (h.eventType !== 0) this.#uint(11, h.eventType);
    this.#pairs(12, h.props);
    if (h.gtid !== "") this.#string(13, h.gtid);
  }

  #rowData(rd: RowData): void {
    this.#open(12);
    for (const c of rd.beforeColumns) this.#column(1, c);
    for (const c of rd.afterColumns) this.#column(2, c);
    this.#pairs(3, rd.props);
  }

  #column(field: number, c: Column): void {
    this.#open(field);
    if (c.index !== 0) this.#uint(1, c.index);
    if (c.sqlType !== 0) this.#uint(2, c.sqlType);
    if (c.name !== "") this.#string(3, c.name);
    if (c.isKey) this.#bool(4);
    if (c.updated) this.#bool(5);
    if (c.isNull) this.#bool(6);
    this.#pairs(7, c.props);
    if (c.value !== "") this.#string(8, c.value);
    if (c.length !== 0) this.#uint(9, c.length);
    if (c.mysqlType !== "") this.#string(10, c.mysqlType);
    if (c.omitted) this.#bool(100);
    if (c.base64) this.#bool(101);
  }

  #pairs(field: number, pairs: readonly Pair[]): void {
    for (const p of pairs) {
      this.#open(field);
      if (p.key !== "") this.#string(1, p.key);
      if (p.value !== "") this.#string(2, p.value);
    }
  }
}
