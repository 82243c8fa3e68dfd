/** Where an event sits in the binlog, when the caller knows it. */
export interface BinlogPosition {
  /** Binlog file name, e.g. "mysql-bin.000042". */
  file: string;
  /** Byte offset of the event's first header byte inside that file. */
  offset: number;
}

export interface BinlogDecodeErrorContext {
  file?: string;
  offset?: number;
  /** Numeric event type code (header byte 4), when the header could be read. */
  eventType?: number;
  /** Human name of the event type, e.g. "WRITE_ROWS_EVENT_V2". */
  eventTypeName?: string;
  /** "schema.table" of a TABLE_MAP or rows event, when its name could be read. */
  table?: string;
}

/**
 * A corrupt, truncated or undecodable event. The decoder never returns a guessed value:
 * whenever the bytes do not add up it throws this, carrying the binlog position (when the
 * caller supplied one) and the event type.
 */
export class BinlogDecodeError extends Error {
  override readonly name = "BinlogDecodeError";
  file?: string;
  offset?: number;
  eventType?: number;
  eventTypeName?: string;
  table?: string;
  /** The message without the position/event prefix. */
  reason: string;
  /**
   * The table's definition (its CREATE TABLE, information_schema) would have let the event be
   * decoded: the binlog alone does not say how some of its columns are stored.
   */
  definitionNeeded = false;

  constructor(reason: string, ctx: BinlogDecodeErrorContext = {}, options?: { cause?: unknown }) {
    super(reason, options);
    this.reason = reason;
    this.setContext(ctx);
  }

  /** Adds to the reason what the reader can do about it. */
  explain(more: string): this {
    this.reason = `${this.reason}; ${more}`;
    return this.setContext({});
  }

  /** Fills in context fields that are not yet set and rebuilds the message. */
  setContext(ctx: BinlogDecodeErrorContext): this {
    if (this.file === undefined && ctx.file !== undefined) this.file = ctx.file;
    if (this.offset === undefined && ctx.offset !== undefined) this.offset = ctx.offset;
    if (this.eventType === undefined && ctx.eventType !== undefined) this.eventType = ctx.eventType;
    if (this.eventTypeName === undefined && ctx.eventTypeName !== undefined)
      this.eventTypeName = ctx.eventTypeName;
    if (this.table === undefined && ctx.table !== undefined) this.table = ctx.table;
    const where: string[] = [];
    if (this.file !== undefined || this.offset !== undefined) {
      where.push(`${this.file ?? "?"}:${this.offset ?? "?"}`);
    }
    if (this.eventTypeName !== undefined || this.eventType !== undefined) {
      where.push(`${this.eventTypeName ?? "event"}(${this.eventType ?? "?"})`);
    }
    if (this.table !== undefined) where.push(`of ${this.table}`);
    this.message = where.length > 0 ? `${where.join(" ")}: ${this.reason}` : this.reason;
    return this;
  }
}

/** Shorthand used by the decoders: throws a context-free error the decoder completes. */
export function fail(reason: string): never {
  throw new BinlogDecodeError(reason);
}
