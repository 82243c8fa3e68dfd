/** The option a filter text came from, as named in the API (and in canal's properties). */
export type FilterField = "filter" | "blackFilter" | "fieldFilter" | "fieldBlackFilter";

/**
 * An invalid filter. The message starts with the field and quotes the offending part, e.g.
 * `filter: "db.(t" is not a valid regex: missing ")"`, so the RPC layer can answer
 * `invalid_argument` with it as is.
 */
export class FilterError extends Error {
  override readonly name = "FilterError";
  /** Which option was invalid. */
  readonly field: FilterField;
  /** The piece of the option's text that is wrong (one pattern, or one `table:columns` entry). */
  readonly part: string;
  /** The message without the field and part, e.g. `is not a valid regex: missing ")"`. */
  readonly reason: string;

  constructor(field: FilterField, part: string, reason: string, options?: { cause?: unknown }) {
    super(`${field}: "${part}" ${reason}`, options);
    this.field = field;
    this.part = part;
    this.reason = reason;
  }
}
