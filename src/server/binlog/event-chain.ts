// end_log_pos continuity: in a binlog file every event starts where the one before it ended.
// Each event's header carries its end_log_pos (where the next event starts) and its length, so
// end_log_pos - length is where the server wrote it. An event whose start is not the previous
// event's end_log_pos means events were removed or repeated between the two (a file edited or
// copied wrongly, a relay that drops or replays events): the rows would be silently lost or
// delivered twice, so readers stop there instead.
//
// Not checked: events without a place in the file (end_log_pos 0, the ARTIFICIAL or RELAY_LOG
// flag: the dump's fake ROTATE and FORMAT_DESCRIPTION, heartbeats, a relay log's own events).
// After a ROTATE, and at the first event, there is nothing to compare with: the chain starts
// again there (a file saved by `mysqlbinlog --raw --start-position` starts mid-file).
//
// A file holds every event, so there any break counts. A dump does not: the source leaves out
// events a replica did not ask for, and the events after them keep their positions. Such gaps
// fall between statements or between transactions: before a statement's first TABLE_MAP
// (MariaDB's ANNOTATE_ROWS, sent only on request), before a GTID event (transactions a GTID
// dump skips because the replica has them), after a FORMAT_DESCRIPTION (MariaDB's
// START_ENCRYPTION). With `serverSkips` a forward gap there is taken; a repeat (an event that
// starts before the previous one ended) never is, nor a gap inside a statement (after a
// TABLE_MAP, after a rows event that does not end its statement) or before anything else (an
// XID, a rows event). What a dump cannot show: a whole statement or transaction removed, which
// looks like what the source itself leaves out.
import { EventFlag, EventType } from "./event-types.js";

/** What a broken chain looks like: where the event says it starts, and where it should. */
export interface ChainBreak {
  /** end_log_pos - length of the event. */
  start: number;
  /** end_log_pos of the event before it. */
  expected: number;
  endLogPos: number;
  length: number;
}

const NO_PLACE = EventFlag.ARTIFICIAL | EventFlag.RELAY_LOG;

const GTIDS: ReadonlySet<number> = new Set([
  EventType.GTID,
  EventType.ANONYMOUS_GTID,
  EventType.GTID_TAGGED,
  EventType.MARIADB_GTID,
]);

// The rows event flag that ends a statement (after the 6-byte table id of the post-header).
const STMT_END_F = 1;
const ROWS_FLAGS_AT = 19 + 6;

export class EventChain {
  #expected: number | undefined;
  #lastType = -1;
  /** The last event was a TABLE_MAP, or a rows event without STMT_END_F: inside a statement. */
  #inStatement = false;

  /** serverSkips: the events come from a dump, which leaves some out (see above). */
  constructor(private readonly serverSkips = false) {}

  /** The break this event makes, or undefined when it continues the chain (or has no place). */
  check(event: Buffer): ChainBreak | undefined {
    const endLogPos = event.readUInt32LE(13);
    const expected = this.#expected;
    if (expected === undefined || !hasPlace(event, endLogPos)) return undefined;
    const length = event.readUInt32LE(9);
    const start = endLogPos - length;
    if (start === expected) return undefined;
    if (this.serverSkips && start > expected && this.#mayFollowSkipped(event[4] as number)) return undefined;
    return { start, expected, endLogPos, length };
  }

  #mayFollowSkipped(type: number): boolean {
    if (this.#lastType === EventType.FORMAT_DESCRIPTION) return true;
    if (this.#inStatement) return false;
    return type === EventType.TABLE_MAP || (GTIDS.has(type) && !isRows(this.#lastType));
  }

  /** Takes the event as the chain's last link (call once it has been checked and handled). */
  accept(event: Buffer): void {
    const endLogPos = event.readUInt32LE(13);
    if (event[4] === EventType.ROTATE) this.#expected = undefined;
    else if (hasPlace(event, endLogPos)) {
      const type = event[4] as number;
      this.#expected = endLogPos;
      this.#lastType = type;
      this.#inStatement =
        type === EventType.TABLE_MAP ||
        (isRows(type) &&
          event.length > ROWS_FLAGS_AT + 1 &&
          (event.readUInt16LE(ROWS_FLAGS_AT) & STMT_END_F) === 0);
    }
  }

  /** Forgets the last link: the next event starts a new chain (a jump, a new connection). */
  reset(): void {
    this.#expected = undefined;
    this.#lastType = -1;
    this.#inStatement = false;
  }
}

function isRows(type: number): boolean {
  return (
    (type >= EventType.PRE_GA_WRITE_ROWS && type <= EventType.DELETE_ROWS_V1) ||
    (type >= EventType.WRITE_ROWS_V2 && type <= EventType.DELETE_ROWS_V2) ||
    type === EventType.PARTIAL_UPDATE_ROWS ||
    (type >= EventType.MARIADB_WRITE_ROWS_COMPRESSED_V1 && type <= EventType.MARIADB_DELETE_ROWS_COMPRESSED)
  );
}

function hasPlace(event: Buffer, endLogPos: number): boolean {
  const type = event[4];
  return (
    endLogPos !== 0 &&
    (event.readUInt16LE(17) & NO_PLACE) === 0 &&
    type !== EventType.HEARTBEAT &&
    type !== EventType.HEARTBEAT_V2
  );
}

/** The break as a sentence naming both positions. */
export function describeBreak(b: ChainBreak): string {
  const what = b.start < b.expected ? "repeats earlier bytes" : `skips ${b.start - b.expected} bytes`;
  return (
    `end_log_pos ${b.endLogPos} and length ${b.length} put this event at ${b.start}, but the event ` +
    `before it ended at ${b.expected} (the chain ${what}): events are missing or duplicated here`
  );
}
