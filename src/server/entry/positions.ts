// Positions of entries in the binlog, and the cursor a client acks to.
//
// Every entry comes from exactly one binlog event, so (file, offset) names it. A cursor is
// the point to resume from: the boundary after the last fully acked transaction, plus, when
// a batch ended inside a transaction, the last acked entry of it, so that the rest of that
// transaction (and nothing of it twice) is delivered after a restart.

export interface BinlogPoint {
  file: string;
  /** Byte offset in `file`. */
  position: number;
}

/** Where an entry sits and what acking through it means. */
export interface EntryPosition {
  /** The event the entry came from. */
  file: string;
  offset: number;
  /**
   * The boundary reached once this entry is acked, if the entry ends a transaction (its
   * TRANSACTION_END, or a DDL / statement that commits itself).
   */
  after: Boundary | undefined;
  /** The boundary before the transaction this entry belongs to (where to re-read it from). */
  before: Boundary;
  /** Event time, ms since the epoch. */
  timestamp: number;
  gtid: string;
  serverId: number;
}

/** A point between transactions. */
export interface Boundary extends BinlogPoint {
  /** GTID state at this point: MariaDB domain GTIDs, or the last MySQL GTID; "" if none. */
  gtid: string;
  /** Event time of the transaction before this point, ms since the epoch (0 if unknown). */
  timestamp: number;
}

export interface Cursor {
  /** Resume reading here. */
  resume: Boundary;
  /**
   * Set when the client acked part of the transaction that starts at `resume`: entries of
   * that transaction up to and including this event are not delivered again.
   */
  ackedThrough?: BinlogPoint;
  /** Source server id of the last acked entry. */
  serverId: number;
}

/** The cursor a client has after acking through `p`. */
export function cursorAfter(p: EntryPosition): Cursor {
  if (p.after) return { resume: p.after, serverId: p.serverId };
  return { resume: p.before, ackedThrough: { file: p.file, position: p.offset }, serverId: p.serverId };
}

/** True when the entry at (file, offset) is already covered by `cursor`. */
export function coveredBy(cursor: Cursor, file: string, offset: number): boolean {
  const c = comparePoints({ file, position: offset }, cursor.resume);
  if (c < 0) return true;
  const through = cursor.ackedThrough;
  return through !== undefined && comparePoints({ file, position: offset }, through) <= 0;
}

/**
 * Orders binlog points. Files of one server are `basename.NNNNNN`; the number can outgrow its
 * zero padding (mysql-bin.999999 → mysql-bin.1000000), so compare it as a number.
 */
export function comparePoints(a: BinlogPoint, b: BinlogPoint): number {
  if (a.file !== b.file) {
    const na = fileNumber(a.file);
    const nb = fileNumber(b.file);
    if (na !== nb) return na < nb ? -1 : 1;
    return a.file < b.file ? -1 : 1;
  }
  return a.position - b.position;
}

function fileNumber(file: string): number {
  const dot = file.lastIndexOf(".");
  const n = dot >= 0 ? Number(file.slice(dot + 1)) : Number.NaN;
  return Number.isFinite(n) ? n : -1;
}

/** The earlier of two cursors' resume points (a destination starts at its earliest client). */
export function earliest(cursors: Cursor[]): Cursor | undefined {
  let best: Cursor | undefined;
  for (const c of cursors) if (!best || comparePoints(c.resume, best.resume) < 0) best = c;
  return best;
}
