// Transaction boundaries in a stream of decoded events, and the positions that follow from
// them: where the open transaction started, where the last complete one ended, the GTID of
// each event. Shared by the live reader (to resume without loss or repeats) and the offline
// file decoder.
//
// Boundaries: a MariaDB GTID event, a MySQL GTID event or a BEGIN query opens a transaction;
// an XID event or a COMMIT/ROLLBACK query closes it; a DDL, or a statement of a MariaDB
// "standalone" GTID group, commits itself.
import type { BinlogEvent, MariadbGtidEvent, QueryEvent } from "../binlog/index.js";

/** A point between transactions: reading from here loses and repeats nothing. */
export interface TransactionBoundary {
  file: string;
  position: number;
  /** MariaDB: the GTID state (one GTID per domain) after the last complete transaction. */
  gtidState: string;
  /** The GTID of the last complete transaction ("" when none or GTIDs are off). */
  lastGtid: string;
  /** Event time of the last complete transaction, ms since the epoch (0 when none yet). */
  timestamp: number;
}

export class TransactionTracker {
  /** Binlog file being read (from ROTATE events). */
  file = "";
  inTransaction = false;
  /** Where the open transaction started (its GTID or BEGIN event). */
  txStart = { file: "", position: 0 };
  #txGtid = "";
  #pendingMariadb: MariadbGtidEvent | undefined;
  readonly #domains = new Map<number, string>();
  #boundary: TransactionBoundary = { file: "", position: 0, gtidState: "", lastGtid: "", timestamp: 0 };

  constructor(start?: { file?: string; position?: number; mariadbGtidState?: string }) {
    for (const g of (start?.mariadbGtidState ?? "").split(",").filter(Boolean)) {
      this.#domains.set(Number(g.split("-")[0]), g);
    }
    this.file = start?.file ?? "";
    this.#boundary = {
      file: start?.file ?? "",
      position: start?.position ?? 0,
      gtidState: this.#gtidState(),
      lastGtid: "",
      timestamp: 0,
    };
  }

  get boundary(): TransactionBoundary {
    return { ...this.#boundary };
  }

  /** Start of the open transaction, else the last boundary: where to resume reading. */
  resumePoint(): { file: string; position: number } {
    if (this.inTransaction && this.txStart.file) return { ...this.txStart };
    return { file: this.#boundary.file, position: this.#boundary.position };
  }

  /**
   * Takes one event in binlog order; `offset` is its position (0 for artificial events) and
   * `nextOffset` its log_pos. Returns the GTID of the transaction the event belongs to.
   */
  observe(event: BinlogEvent, offset: number, nextOffset: number): string {
    let gtid = this.#txGtid;
    switch (event.type) {
      case "rotate":
        this.file = event.nextFile;
        if (!event.artificial && !this.inTransaction) {
          this.#boundary = { ...this.#boundary, file: event.nextFile, position: event.nextPosition };
        }
        break;
      case "mariadb_gtid":
        this.#begin(offset, event.gtid);
        this.#pendingMariadb = event;
        gtid = event.gtid;
        break;
      case "gtid":
        this.#begin(offset, event.anonymous ? "" : event.gtid);
        gtid = this.#txGtid;
        break;
      case "query":
        this.#query(event, offset, nextOffset);
        break;
      case "xid":
        this.#end(nextOffset, event.header.timestamp);
        break;
      default:
        break;
    }
    return gtid;
  }

  /** Forget the open transaction (after a reconnect, the reader reads it again from its start). */
  abandonTransaction(): void {
    this.inTransaction = false;
    this.#pendingMariadb = undefined;
    this.#txGtid = "";
  }

  #begin(offset: number, gtid: string): void {
    this.inTransaction = true;
    this.txStart = { file: this.file, position: offset };
    this.#txGtid = gtid;
  }

  #query(event: QueryEvent, offset: number, nextOffset: number): void {
    if (event.statement === "begin") {
      // MySQL: GTID event, then BEGIN; the transaction started at the GTID event.
      if (!this.inTransaction) this.#begin(offset, "");
      return;
    }
    if (event.statement === "commit" || event.statement === "rollback") {
      this.#end(nextOffset, event.header.timestamp);
      return;
    }
    if (event.statement === "savepoint" || event.statement === "xa") return;
    const standalone = this.#pendingMariadb?.standalone ?? false;
    if (!this.inTransaction || standalone || event.statement === "ddl")
      this.#end(nextOffset, event.header.timestamp);
  }

  #end(nextOffset: number, timestampSeconds: number): void {
    const m = this.#pendingMariadb;
    if (m) this.#domains.set(m.domainId, m.gtid);
    this.#pendingMariadb = undefined;
    this.inTransaction = false;
    if (nextOffset > 0) {
      this.#boundary = {
        file: this.file,
        position: nextOffset,
        gtidState: this.#gtidState(),
        lastGtid: this.#txGtid || this.#boundary.lastGtid,
        timestamp: timestampSeconds * 1000,
      };
    }
    this.#txGtid = "";
  }

  #gtidState(): string {
    return [...this.#domains.values()].join(",");
  }
}
