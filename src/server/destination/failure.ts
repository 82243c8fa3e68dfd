// Why a destination stopped, in the terms an operator acts on: which binlog event, of which
// table, and whether passing over that one event (AdminService.SkipEvent) is allowed.
import type { Logger } from "../../common/log.js";
import { BinlogDecodeError, EventType, type SkippedTableEvent } from "../binlog/index.js";
import { ReplicationError } from "../replication/replication-client.js";

export interface DestinationFailure {
  /** The whole error, as logged. */
  message: string;
  /** When the destination stopped, ms since the epoch. */
  since: number;
  /**
   * What an operator can do about it through the admin API: pass over the event
   * ("skip-event"), or move the clients' cursors to a position the source can stream from
   * ("set-cursor"). Undefined: nothing the admin API can fix (the process exits).
   */
  fix?: "skip-event" | "set-cursor";
  /** The event it stopped on; undefined when the failure is not about one event. */
  event?: FailedEvent;
}

export interface FailedEvent {
  file: string;
  position: number;
  /** e.g. "TABLE_MAP_EVENT"; "" when the header could not be read. */
  eventType: string;
  /** "schema.table", or "" when the event names none. */
  table: string;
  /** The reason without the position prefix. */
  cause: string;
  /** Why it may not be skipped; undefined when it may. */
  notSkippable?: string;
}

// Events that frame transactions or describe the file: passing over one would merge or tear
// transactions or misread everything after it, so no operator skip can make things right.
const STRUCTURAL: ReadonlySet<number> = new Set([
  EventType.FORMAT_DESCRIPTION,
  EventType.ROTATE,
  EventType.XID,
  EventType.GTID,
  EventType.ANONYMOUS_GTID,
  EventType.GTID_TAGGED,
  EventType.PREVIOUS_GTIDS,
  EventType.XA_PREPARE,
  EventType.STOP,
  EventType.HEARTBEAT,
  EventType.HEARTBEAT_V2,
  EventType.MARIADB_GTID,
  EventType.MARIADB_GTID_LIST,
  EventType.MARIADB_BINLOG_CHECKPOINT,
  EventType.MARIADB_START_ENCRYPTION,
]);

export function describeFailure(err: Error, now = Date.now()): DestinationFailure {
  if (err instanceof ReplicationError && (err.code === "BINLOG_PURGED" || err.code === "BAD_POSITION")) {
    return { message: err.message, since: now, fix: "set-cursor" };
  }
  if (!(err instanceof BinlogDecodeError) || err.file === undefined || !err.offset) {
    return { message: err.message, since: now };
  }
  const structural = err.eventType !== undefined && STRUCTURAL.has(err.eventType);
  return {
    message: err.message,
    since: now,
    fix: structural ? "set-cursor" : "skip-event",
    event: {
      file: err.file,
      position: err.offset,
      eventType: err.eventTypeName ?? "",
      table: err.table ?? "",
      cause: err.reason,
      ...(structural
        ? {
            notSkippable:
              `a ${err.eventTypeName} frames transactions or describes the file; skipping it would ` +
              "corrupt what follows. Start the destination's clients past it instead (sluice cursor set)",
          }
        : {}),
    },
  };
}

/** The command that gets a stopped destination going again. */
export function fixHint(destination: string, failure: DestinationFailure): string {
  const e = failure.event;
  if (failure.fix === "skip-event" && e)
    return `sluice skip-event -d ${destination} --at ${e.file}:${e.position}`;
  return `sluice cursor set -d ${destination} -c CLIENT_ID --head (or --position, --gtid, --timestamp) for each client`;
}

/**
 * Logs events passed over instead of stopping the destination: each operator skip, and one
 * line per undecodable table a minute (a table whose every row fails must not flood the log).
 */
export class SkipLog {
  readonly #lastLogged = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  passedOver(event: SkippedTableEvent, file: string, offset: number): void {
    const table = `${event.schema}.${event.table}`;
    const now = Date.now();
    if (event.reason === "table_error" && now - (this.#lastLogged.get(table) ?? 0) < 60_000) return;
    if (this.#lastLogged.size > 1000) this.#lastLogged.clear();
    this.#lastLogged.set(table, now);
    this.log.warn(
      event.reason === "skipped"
        ? "passed over an event an operator skipped"
        : "passed over an event whose table cannot be decoded (filterTableError); more of this table's are counted, not logged, for a minute",
      { at: `${file}:${offset}`, table, ...(event.error ? { error: event.error } : {}) },
    );
  }
}
