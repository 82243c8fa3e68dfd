// Canal's regex dialect translated to JavaScript.
//
// Canal compiles every table-filter pattern with Jakarta ORO 2.0.8's Perl5Compiler using
// CASE_INSENSITIVE_MASK | SINGLELINE_MASK, and matches it against the lower-cased
// "schema.table" name. ORO speaks Perl 5.003-era syntax and differs from JavaScript's RegExp
// in ways that change what a pattern matches, so a pattern is never handed to `new RegExp`
// as written: this module reads it with ORO's grammar and writes an equivalent JavaScript
// source (flags "su"):
//
//   - case-insensitivity is ORO's: upper-case letters in the pattern are lower-cased at
//     compile time and the subject is lower-cased (by the caller), no `i` flag;
//   - `.` matches any character (SINGLELINE), `$` and `\Z` match at the end or before a
//     final newline, `^` and `\A` only at the start;
//   - `\w \d \s \b` and POSIX classes use Java's Unicode-aware Character tests (ORO's), not
//     JavaScript's ASCII ones;
//   - escapes JavaScript reads differently (`\e \a \cX`, octal, one-digit `\x`) become code
//     points; `{` that is not a quantifier and a `]` first in a class are literals;
//   - backreferences are renumbered so several patterns can share one RegExp.
//
// What ORO rejects is rejected too (lookbehind, named and atomic groups, `(?i:...)`, ...),
// plus a few things Sluice refuses on purpose: escapes of letters that ORO would silently
// read as the plain letter (`\z`, `\Q`, `\p`...), `\G`, the `(?m)`/`(?x)` modifiers, and a
// repeated group that already holds an unbounded repetition (catastrophic backtracking).

/** A pattern canal's engine would reject, or one Sluice refuses; the message says why. */
export class RegexSyntaxError extends Error {
  override readonly name = "RegexSyntaxError";
}

/** Flags for RegExps built from translated sources. */
export const TRANSLATED_FLAGS = "su";

export interface Translation {
  /** JavaScript RegExp source (flags {@link TRANSLATED_FLAGS}); match it against a lower-cased subject. */
  source: string;
  /** Capturing groups in the pattern, for numbering the groups of patterns that follow it. */
  groups: number;
}

// Java's Character.isLetterOrDigit(c) || c == '_' (ORO's \w).
const WORD = "\\p{L}\\p{Nd}_";
// Java's Character.isLetterOrDigit.
const ALNUM = "\\p{L}\\p{Nd}";
// Java's Character.isWhitespace: Zs/Zl/Zp except the no-break spaces, plus \t \n \v \f \r and U+001C..U+001F.
const JAVA_SPACE =
  "\\t\\n\\x0B\\f\\r\\x1C-\\x20\\u1680\\u2000-\\u2006\\u2008-\\u200A\\u2028\\u2029\\u205F\\u3000";
// ORO's [:punct:]: Character.getType in DASH, START, END, CONNECTOR, OTHER punctuation and MATH, CURRENCY, MODIFIER symbols.
const PUNCT = "\\p{Pd}\\p{Ps}\\p{Pe}\\p{Pc}\\p{Po}\\p{Sm}\\p{Sc}\\p{Sk}";
// [:lower:] and [:upper:] under CASE_INSENSITIVE match either case.
const CASED = "\\p{Lowercase}\\p{Uppercase}";

/** ORO 2.0.8's POSIX classes (inside brackets), as JavaScript class bodies. */
const POSIX: Readonly<Record<string, string>> = {
  alnum: ALNUM,
  word: WORD,
  alpha: "\\p{L}",
  blank: "\\p{Z}",
  cntrl: "\\x00-\\x1F\\x7F-\\x9F",
  digit: "\\p{Nd}",
  graph: ALNUM + PUNCT,
  lower: CASED,
  upper: CASED,
  print: `\\p{Z}${ALNUM}${PUNCT}`,
  punct: PUNCT,
  space: JAVA_SPACE,
  xdigit: "0-9A-Fa-f",
  ascii: "\\x00-\\x7F",
};

const W = `[${WORD}]`;
const BOUND = `(?:(?<=${W})(?!${W})|(?<!${W})(?=${W}))`;
const NOT_BOUND = `(?:(?<=${W})(?=${W})|(?<!${W})(?!${W}))`;
const START = "(?:^)";
// ORO's SEOL: at the end, or before a newline that ends the subject.
const END = "(?:(?=\\n?$))";

/** Escapes that stand for a set or an assertion, outside brackets. */
const ESCAPE_SOURCES: Readonly<Record<string, string>> = {
  A: START,
  Z: END,
  b: BOUND,
  B: NOT_BOUND,
  w: `[${WORD}]`,
  W: `[^${WORD}]`,
  s: `[${JAVA_SPACE}]`,
  S: `[^${JAVA_SPACE}]`,
  d: "\\p{Nd}",
  D: "\\P{Nd}",
};
/** Escapes that stand for one character (inside and outside brackets; \b is a backspace only inside). */
const ESCAPE_CODES: Readonly<Record<string, number>> = { n: 10, r: 13, t: 9, f: 12, e: 27, a: 7 };

const MAX_REPEAT = 0xffff;
const SYNTAX_OUTSIDE = new Set("^$\\.*+?()[]{}|/");
const SYNTAX_INSIDE = new Set("\\]^-[");
// Escapes of ASCII letters ORO gives a meaning to inside brackets; any other escaped letter
// would be the plain letter.
const ESCAPES_INSIDE = new Set("DSWdswabcefnrtx");

/** Translates one canal (ORO Perl5) pattern; `groupBase` capturing groups precede it in the final RegExp. */
export function translatePerl5(pattern: string, groupBase = 0): Translation {
  return new Translator(pattern, groupBase).run();
}

function isAsciiLetter(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}
function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/** Java's Character.isUpperCase(char). */
function isUpperCase(code: number): boolean {
  return /\p{Uppercase}/u.test(String.fromCharCode(code));
}
/** Java's Character.toLowerCase(char): the simple (one-to-one) mapping. */
function toLowerCase(code: number): number {
  if (code === 0x130) return 0x69; // İ: full mapping is two characters, simple mapping is "i"
  const lower = String.fromCharCode(code).toLowerCase();
  return lower.length === 1 ? lower.charCodeAt(0) : code;
}
/** What ORO does to a literal under CASE_INSENSITIVE_MASK. */
function foldCase(code: number): number {
  return isUpperCase(code) ? toLowerCase(code) : code;
}

function codeEscape(code: number): string {
  return `\\u{${code.toString(16).toUpperCase()}}`;
}
function literalOutside(code: number): string {
  const c = String.fromCharCode(code);
  if (SYNTAX_OUTSIDE.has(c)) return `\\${c}`;
  return code >= 0x20 && code < 0x7f ? c : codeEscape(code);
}
function literalInside(code: number): string {
  const c = String.fromCharCode(code);
  if (SYNTAX_INSIDE.has(c)) return `\\${c}`;
  return code >= 0x20 && code < 0x7f ? c : codeEscape(code);
}

/** ORO's __parseRepetition: `{digits[,digits]}` at `i`. */
function repetitionAt(p: string, i: number): RegExpExecArray | null {
  if (p[i] !== "{") return null;
  return /^\{(\d+)(,?)(\d*)\}/.exec(p.slice(i, i + 24));
}

/** Up to `max` octal digits at `start`: their value and how many were read. */
function octalAt(p: string, start: number, max: number): { value: number; length: number } {
  let value = 0;
  let length = 0;
  while (length < max && start + length < p.length) {
    const c = p[start + length] as string;
    if (c < "0" || c > "7") break;
    value = value * 8 + (c.charCodeAt(0) - 48);
    length++;
  }
  return { value, length };
}

/** Up to two hex digits at `start` (ORO's `\x`). */
function hexAt(p: string, start: number): { value: number; length: number } {
  let value = 0;
  let length = 0;
  while (length < 2 && isHexDigit(p[start + length])) {
    value = value * 16 + Number.parseInt(p[start + length] as string, 16);
    length++;
  }
  if (length === 0) throw new RegexSyntaxError('"\\x" must be followed by one or two hex digits');
  return { value, length };
}

/** ORO's `\cX`: X upper-cased, then XOR 64. */
function controlAt(p: string, at: number): number {
  const c = p[at];
  if (c === undefined) throw new RegexSyntaxError('"\\c" must be followed by a character');
  const upper = /\p{Lowercase}/u.test(c) ? c.toUpperCase() : c;
  return ((upper.length === 1 ? upper : c).charCodeAt(0) ^ 64) & 0xffff;
}

function unknownEscape(letter: string): RegexSyntaxError {
  return new RegexSyntaxError(
    `"\\${letter}" is not an escape canal's regex engine knows (it would match a plain "${letter}"); ` +
      `write "${letter}" if that is what you mean`,
  );
}

function unsupportedGroup(p: string, i: number): RegexSyntaxError {
  const rest = p.slice(i);
  let what: string;
  if (rest.startsWith("(?<=") || rest.startsWith("(?<!")) what = "lookbehind is";
  else if (rest.startsWith("(?<") || rest.startsWith("(?P") || rest.startsWith("(?'"))
    what = "named groups are";
  else if (rest.startsWith("(?>")) what = "atomic groups are";
  else if (/^\(\?[a-z]*-/.test(rest)) what = "turning modifiers off is";
  else if (/^\(\?[a-z]+:/.test(rest)) what = "scoped modifiers are";
  else what = "this group syntax is";
  return new RegexSyntaxError(
    `"${rest.slice(0, 4)}": ${what} not supported by canal's regex engine (Jakarta ORO)`,
  );
}

interface Frame {
  /** Index in `out` of the group's opening text. */
  start: number;
  /** Lookaheads need a (?:...) wrapper to take a quantifier under the u flag. */
  assertion: boolean;
  /** Something inside is repeated without bound. */
  unbounded: boolean;
}

interface Atom {
  start: number;
  assertion: boolean;
  unbounded: boolean;
}

type ClassItem =
  | { kind: "char"; code: number }
  | { kind: "set"; body: string }
  | { kind: "complement"; body: string }
  | { kind: "posix"; body: string; negated: boolean };

class Translator {
  private i = 0;
  private readonly out: string[] = [];
  private readonly frames: Frame[] = [];
  private readonly top: Frame = { start: 0, assertion: false, unbounded: false };
  private atom: Atom | null = null;
  private groups = 0;

  constructor(
    private readonly p: string,
    private readonly base: number,
  ) {}

  run(): Translation {
    const p = this.p;
    while (this.i < p.length) {
      const c = p[this.i] as string;
      switch (c) {
        case "\\":
          this.escape();
          break;
        case "[":
          this.charClass();
          break;
        case "(":
          this.openGroup();
          break;
        case ")":
          this.closeGroup();
          break;
        case "|":
          this.out.push("|");
          this.atom = null;
          this.i++;
          break;
        case "*":
        case "+":
        case "?":
          this.quantifier();
          break;
        case "{":
          // ORO: a valid {n,m} with nothing before it is literal text.
          if (this.atom && repetitionAt(p, this.i)) this.quantifier();
          else this.literal(0x7b, 1);
          break;
        case "^":
          this.emit(START, 1);
          break;
        case "$":
          this.emit(END, 1);
          break;
        case ".":
          this.emit(".", 1);
          break;
        default:
          this.literal(c.charCodeAt(0), 1);
      }
    }
    if (this.frames.length > 0) throw new RegexSyntaxError('missing ")"');
    return { source: this.out.join(""), groups: this.groups };
  }

  private emit(source: string, advance: number): void {
    // Assertions (^, $, \b...) are emitted inside (?:...), so they take quantifiers like any atom.
    this.atom = { start: this.out.length, assertion: false, unbounded: false };
    this.out.push(source);
    this.i += advance;
  }

  private literal(code: number, advance: number): void {
    this.emit(literalOutside(foldCase(code)), advance);
  }

  private frame(): Frame {
    return this.frames[this.frames.length - 1] ?? this.top;
  }

  private escape(): void {
    const p = this.p;
    const i = this.i;
    const c = p[i + 1];
    if (c === undefined) throw new RegexSyntaxError("ends with a lone backslash");
    const source = ESCAPE_SOURCES[c];
    const code = ESCAPE_CODES[c];
    if (source !== undefined) {
      this.emit(source, 2);
    } else if (code !== undefined) {
      this.literal(code, 2);
    } else if (c === "x") {
      const hex = hexAt(p, i + 2);
      this.literal(hex.value, 2 + hex.length);
    } else if (c === "c") {
      this.literal(controlAt(p, i + 2), 3);
    } else if (c === "0") {
      const oct = octalAt(p, i + 1, 3);
      this.literal(oct.value, 1 + oct.length);
    } else if (isDigit(c)) {
      this.numericEscape();
    } else if (c === "G") {
      throw new RegexSyntaxError('"\\G" is not supported');
    } else if (isAsciiLetter(c)) {
      throw unknownEscape(c);
    } else {
      this.literal(c.charCodeAt(0), 2);
    }
  }

  /** `\1`..`\99...`: ORO reads a backreference, or an octal escape when no such group is open yet. */
  private numericEscape(): void {
    const p = this.p;
    const i = this.i;
    let end = i + 1;
    while (isDigit(p[end])) end++;
    const digits = p.slice(i + 1, end);
    const num = Number.parseInt(digits, 10);
    const opened = this.groups; // ORO's __numParentheses - 1
    if (num > 9 && num > opened) {
      const oct = octalAt(p, i + 1, 3);
      if (oct.length === 0)
        throw new RegexSyntaxError(`"\\${digits}" is neither a backreference nor an octal escape`);
      this.literal(oct.value, 1 + oct.length);
      return;
    }
    if (num > opened) {
      throw new RegexSyntaxError(
        `backreference "\\${digits}" refers to group ${num}, but only ${opened} group(s) are opened before it`,
      );
    }
    this.emit(`(?:\\${num + this.base})`, end - i);
  }

  private openGroup(): void {
    const p = this.p;
    const i = this.i;
    if (p[i + 1] !== "?") {
      this.groups++;
      this.frames.push({ start: this.out.length, assertion: false, unbounded: false });
      this.out.push("(");
      this.atom = null;
      this.i++;
      return;
    }
    const kind = p[i + 2];
    if (kind === "#") {
      // A comment is invisible: what precedes it can still take a quantifier after it.
      const end = p.indexOf(")", i + 3);
      if (end < 0) throw new RegexSyntaxError('comment "(?#" is not closed');
      this.i = end + 1;
      return;
    }
    if (kind === ":" || kind === "=" || kind === "!") {
      this.frames.push({ start: this.out.length, assertion: kind !== ":", unbounded: false });
      this.out.push(`(?${kind}`);
      this.atom = null;
      this.i += 3;
      return;
    }
    let j = i + 2;
    while (j < p.length && "iogmsx".includes(p[j] as string)) j++;
    if (p[j] !== ")") throw unsupportedGroup(p, i);
    const modifiers = p.slice(i + 2, j);
    for (const m of modifiers) {
      if (m === "m" || m === "x") {
        throw new RegexSyntaxError(
          `modifier "(?${m})" is not supported (canal applies it to every pattern of the filter)`,
        );
      }
    }
    // i, s: already on; g, o: no effect on matching.
    this.atom = null;
    this.i = j + 1;
  }

  private closeGroup(): void {
    const frame = this.frames.pop();
    if (!frame) throw new RegexSyntaxError('unmatched ")"');
    this.out.push(")");
    this.i++;
    if (frame.unbounded) this.frame().unbounded = true;
    this.atom = { start: frame.start, assertion: frame.assertion, unbounded: frame.unbounded };
  }

  private quantifier(): void {
    const p = this.p;
    const start = this.i;
    let max: number;
    let text: string;
    const c = p[start];
    if (c === "{") {
      const m = repetitionAt(p, start) as RegExpExecArray;
      const min = Number.parseInt(m[1] as string, 10);
      max = m[2] ? (m[3] ? Number.parseInt(m[3], 10) : Number.POSITIVE_INFINITY) : min;
      if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT)) {
        throw new RegexSyntaxError(`repetition "${m[0]}" is larger than ${MAX_REPEAT}`);
      }
      if (max < min) throw new RegexSyntaxError(`repetition "${m[0]}" has its bounds out of order`);
      text = m[0];
    } else {
      max = c === "?" ? 1 : Number.POSITIVE_INFINITY;
      text = c as string;
    }
    const atom = this.atom;
    if (!atom) throw new RegexSyntaxError(`quantifier "${text}" follows nothing`);
    if (atom.unbounded && max > 1) {
      throw new RegexSyntaxError(
        `"${text}" repeats a group that already contains an unbounded repetition ` +
          "(catastrophic backtracking); rewrite it without the nesting",
      );
    }
    if (atom.assertion) {
      this.out.splice(atom.start, 0, "(?:");
      this.out.push(")");
    }
    this.out.push(text);
    this.i += text.length;
    if (p[this.i] === "?") {
      this.out.push("?");
      this.i++;
    }
    const next = p[this.i];
    if (next === "*" || next === "+" || next === "?" || repetitionAt(p, this.i)) {
      throw new RegexSyntaxError(`nested quantifier "${p.slice(start, this.i + 1)}"`);
    }
    if (max === Number.POSITIVE_INFINITY) this.frame().unbounded = true;
    this.atom = null;
  }

  private charClass(): void {
    const p = this.p;
    const open = this.i;
    let j = open + 1;
    const negated = p[j] === "^";
    if (negated) j++;
    const pos: string[] = [];
    const neg: string[] = [];
    let items = 0;
    let negatedPosix: string | undefined;
    let first = true;
    for (;;) {
      if (j >= p.length) throw new RegexSyntaxError('missing "]"');
      // ORO: "]" (and "-") right after "[" or "[^" is a literal.
      if (p[j] === "]" && !first) {
        j++;
        break;
      }
      first = false;
      const itemStart = j;
      const [item, after] = this.classItem(j);
      j = after;
      items++;
      if (item.kind === "char" && p[j] === "-" && j + 1 < p.length && p[j + 1] !== "]") {
        const [hi, afterHi] = this.classItem(j + 1);
        const range = p.slice(itemStart, afterHi);
        if (hi.kind !== "char") throw new RegexSyntaxError(`range "${range}" ends in a character class`);
        if (item.code > hi.code) throw new RegexSyntaxError(`range "${range}" is out of order`);
        let lo = item.code;
        let top = hi.code;
        // ORO lower-cases a range only when both ends are upper case.
        if (isUpperCase(lo) && isUpperCase(top)) {
          lo = toLowerCase(lo);
          top = toLowerCase(top);
        }
        if (lo <= top) pos.push(`${literalInside(lo)}-${literalInside(top)}`);
        j = afterHi;
        continue;
      }
      switch (item.kind) {
        case "char":
          pos.push(literalInside(foldCase(item.code)));
          break;
        case "set":
          pos.push(item.body);
          break;
        case "complement":
          neg.push(item.body);
          break;
        case "posix":
          if (item.negated) {
            negatedPosix = p.slice(itemStart, after);
            neg.push(item.body);
          } else {
            pos.push(item.body);
          }
          break;
      }
    }
    if (negatedPosix !== undefined && items > 1) {
      // ORO evaluates such a class inconsistently (the negation leaks into later members).
      throw new RegexSyntaxError(`"${negatedPosix}" must be the only member of its bracket expression`);
    }
    this.i = open;
    this.emit(classSource(negated, pos.join(""), neg), j - open);
  }

  private classItem(j: number): [ClassItem, number] {
    const p = this.p;
    const c = p[j] as string;
    if (c === "[") {
      const m = /^\[:(\^?)([A-Za-z]+):\]/.exec(p.slice(j, j + 16));
      if (!m) return [{ kind: "char", code: 0x5b }, j + 1];
      const body = POSIX[m[2] as string];
      if (body === undefined) throw new RegexSyntaxError(`unknown POSIX class "[:${m[2]}:]"`);
      return [{ kind: "posix", body, negated: m[1] === "^" }, j + m[0].length];
    }
    if (c !== "\\") return [{ kind: "char", code: c.charCodeAt(0) }, j + 1];
    const e = p[j + 1];
    if (e === undefined) throw new RegexSyntaxError('missing "]"');
    switch (e) {
      case "d":
        return [{ kind: "set", body: "\\p{Nd}" }, j + 2];
      case "D":
        return [{ kind: "set", body: "\\P{Nd}" }, j + 2];
      case "w":
        return [{ kind: "set", body: WORD }, j + 2];
      case "W":
        return [{ kind: "complement", body: WORD }, j + 2];
      case "s":
        return [{ kind: "set", body: JAVA_SPACE }, j + 2];
      case "S":
        return [{ kind: "complement", body: JAVA_SPACE }, j + 2];
      case "a":
        return [{ kind: "char", code: 7 }, j + 2];
      case "b":
        return [{ kind: "char", code: 8 }, j + 2];
      case "e":
        return [{ kind: "char", code: 27 }, j + 2];
      case "f":
        return [{ kind: "char", code: 12 }, j + 2];
      case "n":
        return [{ kind: "char", code: 10 }, j + 2];
      case "r":
        return [{ kind: "char", code: 13 }, j + 2];
      case "t":
        return [{ kind: "char", code: 9 }, j + 2];
      case "c":
        return [{ kind: "char", code: controlAt(p, j + 2) }, j + 3];
      case "x": {
        const hex = hexAt(p, j + 2);
        return [{ kind: "char", code: hex.value }, j + 2 + hex.length];
      }
    }
    if (e >= "0" && e <= "7") {
      const oct = octalAt(p, j + 1, 3);
      return [{ kind: "char", code: oct.value }, j + 1 + oct.length];
    }
    if (e === "8" || e === "9")
      throw new RegexSyntaxError(`"\\${e}" is not a valid escape in a bracket expression`);
    if (isAsciiLetter(e) && !ESCAPES_INSIDE.has(e)) throw unknownEscape(e);
    return [{ kind: "char", code: e.charCodeAt(0) }, j + 2];
  }
}

/** A bracket expression as JavaScript: members `pos`, plus the complements of each of `neg`. */
function classSource(negated: boolean, pos: string, neg: readonly string[]): string {
  if (!negated) {
    const alternatives: string[] = [];
    if (pos || neg.length === 0) alternatives.push(`[${pos}]`);
    for (const body of neg) alternatives.push(`[^${body}]`);
    return alternatives.length === 1 ? (alternatives[0] as string) : `(?:${alternatives.join("|")})`;
  }
  if (neg.length === 0) return `[^${pos}]`;
  if (!pos && neg.length === 1) return `[${neg[0]}]`;
  // not (pos or not n1 or not n2 ...) = not pos and n1 and n2 ...
  let source = pos ? `(?![${pos}])` : "";
  for (let k = 0; k < neg.length - 1; k++) source += `(?=[${neg[k]}])`;
  source += `[${neg[neg.length - 1]}]`;
  return `(?:${source})`;
}
