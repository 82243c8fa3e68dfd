// Java's .properties syntax (java.util.Properties.load), which canal's config files use.
// Written here rather than taken from npm: it is short, it must match Java exactly (canal
// reads these files with Properties.load, so a file means to Sluice what it means to canal),
// and it must give the line of every key for error messages.
//
// What load() does, and so this:
// - a file is read as ISO-8859-1, as Properties.load(InputStream) reads it: other characters
//   are written \uXXXX (readJavaProperties decodes the bytes that way);
// - lines end with \n, \r or \r\n; leading spaces, tabs and form feeds are skipped; a line
//   whose first other character is # or ! is a comment; blank lines are skipped;
// - a line ending in an odd number of backslashes continues on the next line, whose leading
//   whitespace is dropped (a continued line is never a comment);
// - the key ends at the first unescaped =, : or whitespace; whitespace around one = or : is
//   the separator; the rest of the line is the value (trailing whitespace kept);
// - escapes: \t \n \r \f, \uXXXX (anything else malformed is an error), and \x is x;
// - a key given twice: the last one wins.

import { readFileSync } from "node:fs";

export interface JavaProperty {
  key: string;
  value: string;
  /** Line (1-based) where the property starts. */
  line: number;
}

export interface ParsedJavaProperties {
  /** Every property in file order, duplicates included. */
  entries: JavaProperty[];
  /** Syntax errors, each with its line; the properties on other lines are still read. */
  problems: { line: number; message: string }[];
}

const WHITESPACE = new Set([" ", "\t", "\f"]);

/** Parses the text of a .properties file. */
export function parseJavaProperties(text: string): ParsedJavaProperties {
  const entries: JavaProperty[] = [];
  const problems: { line: number; message: string }[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let logical = skipWhitespace(lines[i] as string);
    if (logical === "" || logical[0] === "#" || logical[0] === "!") continue;
    // Joins continued lines; the backslash before each line break goes.
    while (endsWithOddBackslashes(logical)) {
      logical = logical.slice(0, -1);
      if (i + 1 >= lines.length) break;
      logical += skipWhitespace(lines[++i] as string);
    }
    const { key, value } = splitKeyValue(logical);
    try {
      entries.push({ key: unescapeJava(key), value: unescapeJava(value), line: first });
    } catch (err) {
      problems.push({ line: first, message: (err as Error).message });
    }
  }
  return { entries, problems };
}

/** Reads a .properties file as Java does: its bytes as ISO-8859-1. Throws the fs error. */
export function readJavaProperties(path: string): ParsedJavaProperties {
  return parseJavaProperties(readFileSync(path).toString("latin1"));
}

function skipWhitespace(line: string): string {
  let i = 0;
  while (i < line.length && WHITESPACE.has(line[i] as string)) i++;
  return line.slice(i);
}

function endsWithOddBackslashes(line: string): boolean {
  let n = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === "\\"; i--) n++;
  return n % 2 === 1;
}

function splitKeyValue(line: string): { key: string; value: string } {
  let end = 0;
  let escaped = false;
  for (; end < line.length; end++) {
    const c = line[end] as string;
    if (escaped) {
      escaped = false;
    } else if (c === "\\") {
      escaped = true;
    } else if (c === "=" || c === ":" || WHITESPACE.has(c)) {
      break;
    }
  }
  const key = line.slice(0, end);
  let v = end;
  while (v < line.length && WHITESPACE.has(line[v] as string)) v++;
  // Whitespace ended the key: one = or : may still follow, then more whitespace.
  if (v < line.length && (line[v] === "=" || line[v] === ":")) {
    v++;
    while (v < line.length && WHITESPACE.has(line[v] as string)) v++;
  }
  return { key, value: line.slice(v) };
}

const SIMPLE_ESCAPES: Record<string, string> = { t: "\t", n: "\n", r: "\r", f: "\f" };

function unescapeJava(text: string): string {
  if (!text.includes("\\")) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c !== "\\" || i + 1 >= text.length) {
      out += c;
      continue;
    }
    const e = text[++i] as string;
    if (e === "u") {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new Error(`malformed \\uxxxx escape "\\u${hex}": \\u takes four hex digits`);
      }
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 4;
    } else {
      out += SIMPLE_ESCAPES[e] ?? e;
    }
  }
  return out;
}
