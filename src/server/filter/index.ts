// Canal's table and field filters: canal.instance.filter.regex, .black.regex, .field,
// .black.field and the DDL rules. See docs/filters.md.
export { TableCache } from "./cache.js";
export { FilterError, type FilterField } from "./errors.js";
export {
  type ColumnPredicate,
  EventFilter,
  type EventFilterOptions,
  type TableRef,
} from "./event-filter.js";
export { type FieldFilter, type FieldFilterEntry, parseFieldFilter } from "./field-filter.js";
export { RegexSyntaxError, TRANSLATED_FLAGS, type Translation, translatePerl5 } from "./perl5.js";
export {
  DEFAULT_CACHE_SIZE,
  parseTableFilter,
  splitTablePatterns,
  type TableFilter,
  type TableFilterOptions,
} from "./table-filter.js";
