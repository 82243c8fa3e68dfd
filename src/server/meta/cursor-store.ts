// Where clients' cursors and filters live: ZooKeeper in a cluster, a local directory in
// standalone mode. Every write is durable before its promise resolves; a write that fails
// rejects, and the Ack that caused it fails with it.
import type { Cursor } from "../entry/positions.js";

export interface StoredClient {
  clientId: string;
  cursor: Cursor | undefined;
  filter: string | undefined;
  /**
   * The cursor was written by canal's own server, not by Sluice: its position is the last
   * event the client acked, not yet a point to resume from (destination/canal-import.ts).
   */
  writtenByCanal?: boolean;
}

/** An event an operator chose to pass over (AdminService.SkipEvent): kept so that every later reader passes over it too. */
export interface SkippedEventRecord {
  file: string;
  position: number;
  /** Event type name, e.g. "TABLE_MAP_EVENT". */
  eventType: string;
  /** "schema.table", or "" when the event names none. */
  table: string;
  /** Why it could not be decoded. */
  cause: string;
  /** When it was skipped, ms since the epoch. */
  at: number;
}

/** The one-time import of another tool's cursors (canal's meta.dat) into a destination. */
export interface CursorImportRecord {
  /** What was imported, e.g. the meta.dat's path. */
  from: string;
  /** When, ms since the epoch. */
  at: number;
  /** The clientIds imported. */
  clients: string[];
}

/** How many skipped events a destination keeps (the oldest go first). */
export const MAX_SKIPPED_EVENTS = 500;

export interface CursorStore {
  /** Every client of the destination with what is stored for it. */
  load(destination: string): Promise<StoredClient[]>;
  saveCursor(destination: string, clientId: string, cursor: Cursor): Promise<void>;
  saveFilter(destination: string, clientId: string, filter: string): Promise<void>;
  /** Forgets the client (Unsubscribe). */
  remove(destination: string, clientId: string): Promise<void>;
  /** The events operators chose to pass over, oldest first. */
  loadSkips(destination: string): Promise<SkippedEventRecord[]>;
  /** Adds one (durable before it resolves; fenced like cursor writes). */
  saveSkip(destination: string, skip: SkippedEventRecord): Promise<void>;
  /** The record of the destination's cursor import, once done (importing happens once). */
  loadImportRecord(destination: string): Promise<CursorImportRecord | undefined>;
  saveImportRecord(destination: string, record: CursorImportRecord): Promise<void>;
  /**
   * A number larger than any this destination had before, also across restarts: batch ids
   * carry it so that none is ever reused. (In a cluster, the running node's czxid.)
   */
  nextEpoch(destination: string): Promise<bigint>;
}
