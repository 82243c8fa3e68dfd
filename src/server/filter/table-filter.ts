// canal.instance.filter.regex / canal.instance.filter.black.regex / a client's subscribe
// filter: comma-separated regexes over "schema.table" (canal's AviaterRegexFilter).
//
// Canal splits the text on top-level commas, sorts the patterns longest first, wraps each
// in ^...$, joins them with "|" and matches the lower-cased name with ORO's matches()
// (CASE_INSENSITIVE | SINGLELINE). Here each pattern is translated (perl5.ts), anchored as a
// whole, ^(?:p)$, and all are joined into one RegExp: a name matches when at least one
// pattern matches all of it.
import { TableCache } from "./cache.js";
import { FilterError, type FilterField } from "./errors.js";
import { RegexSyntaxError, TRANSLATED_FLAGS, translatePerl5 } from "./perl5.js";

/** Default number of per-table decisions a filter remembers. */
export const DEFAULT_CACHE_SIZE = 10_000;

export interface TableFilter {
  /** The patterns, trimmed, in canal's order (longest first, stable). Empty: match everything. */
  readonly patterns: readonly string[];
  /** No pattern given: {@link matches} accepts every table (canal's default `.*\..*`). */
  readonly isEmpty: boolean;
  /** Whether "schema.table" matches a pattern as a whole, ignoring case. Cached per table. */
  matches(schema: string, table: string): boolean;
  /** The same for a name already joined as "schema.table" (not cached). */
  matchesName(name: string): boolean;
}

export interface TableFilterOptions {
  /** Names the option in error messages (default "filter"). */
  field?: FilterField;
  /** Per-name decisions to remember (default {@link DEFAULT_CACHE_SIZE}; 0 = none). */
  cacheSize?: number;
}

/**
 * Splits a filter on commas that are not inside (), [] or {} (so `t_\d{1,2}` and `(a,b)`
 * stay whole, as in canal since #5442), skipping escaped characters; trims each pattern and
 * drops empty ones.
 */
export function splitTablePatterns(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let parens = 0;
  let braces = 0;
  let classStart = -1; // index of the first member of the open [...], or -1
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (classStart >= 0) {
      if (c === "[" && text[i + 1] === ":") {
        const end = text.indexOf(":]", i + 2);
        if (end > 0) i = end + 1;
      } else if (c === "]" && i > classStart) {
        classStart = -1;
      }
      continue;
    }
    switch (c) {
      case "[":
        classStart = text[i + 1] === "^" ? i + 2 : i + 1;
        break;
      case "(":
        parens++;
        break;
      case ")":
        if (parens > 0) parens--;
        break;
      case "{":
        braces++;
        break;
      case "}":
        if (braces > 0) braces--;
        break;
      case ",":
        if (parens === 0 && braces === 0) {
          parts.push(text.slice(start, i));
          start = i + 1;
        }
        break;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/**
 * Parses a table filter. Throws {@link FilterError} naming the first invalid pattern.
 * An empty (or blank) text matches every table.
 */
export function parseTableFilter(text: string, options: TableFilterOptions = {}): TableFilter {
  const field = options.field ?? "filter";
  const patterns = splitTablePatterns(text ?? "");
  for (const pattern of patterns) checkPattern(field, pattern);
  // Canal's order; Array.prototype.sort is stable, like Java's Collections.sort.
  patterns.sort((a, b) => b.length - a.length);
  try {
    return new RegexTableFilter(patterns, options.cacheSize ?? DEFAULT_CACHE_SIZE);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // The patterns together too large a regex. V8's message quotes it whole: name the filter
    // by its start instead.
    throw new FilterError(field, quotedStart(text), `is not a valid regex: ${regexFailure(e)}`, { cause: e });
  }
}

/** What V8 says is wrong with a regex, without the regex it quotes ("Regular expression too large"). */
function regexFailure(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.slice(message.lastIndexOf(": ") + 2);
}

/** A filter's text as a message quotes it: whole when short, else its start and its length. */
function quotedStart(text: string): string {
  return text.length <= 128 ? text : `${text.slice(0, 128)}... (${text.length} characters)`;
}

function checkPattern(field: FilterField, pattern: string): void {
  let source: string;
  try {
    source = translatePerl5(pattern).source;
  } catch (e) {
    if (e instanceof RegexSyntaxError) {
      throw new FilterError(field, pattern, `is not a valid regex: ${e.message}`, { cause: e });
    }
    throw e;
  }
  try {
    // V8 compiles a regex when it first runs: run it once, so that one too large fails here.
    new RegExp(`^(?:${source})$`, TRANSLATED_FLAGS).test("");
  } catch (e) {
    // The translator only writes valid sources; what fails is a regex too large to compile.
    throw new FilterError(field, quotedStart(pattern), `is not a valid regex: ${regexFailure(e)}`, {
      cause: e,
    });
  }
}

class RegexTableFilter implements TableFilter {
  readonly isEmpty: boolean;
  private readonly regex: RegExp | undefined;
  private readonly cache: TableCache<boolean>;

  constructor(
    readonly patterns: readonly string[],
    cacheSize: number,
  ) {
    this.isEmpty = patterns.length === 0;
    this.cache = new TableCache<boolean>(cacheSize);
    if (!this.isEmpty) {
      let groups = 0;
      const alternatives = patterns.map((pattern) => {
        const t = translatePerl5(pattern, groups);
        groups += t.groups;
        return `(?:${t.source})`;
      });
      this.regex = new RegExp(`^(?:${alternatives.join("|")})$`, TRANSLATED_FLAGS);
      // Compiled now (V8 compiles on first use), so that a regex too large fails the parse,
      // not every later match.
      this.regex.test("");
    }
  }

  matches(schema: string, table: string): boolean {
    if (this.regex === undefined) return true;
    let hit = this.cache.get(schema, table);
    if (hit === undefined) {
      hit = this.matchesName(`${schema}.${table}`);
      this.cache.set(schema, table, hit);
    }
    return hit;
  }

  matchesName(name: string): boolean {
    return this.regex === undefined ? true : this.regex.test(name.toLowerCase());
  }
}
