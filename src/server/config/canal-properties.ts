// canal's properties as canal itself reads them (docs/canal.md):
// - canal.properties holds the server's settings and defaults for every destination; each
//   destination's {destination}/instance.properties overrides those defaults (canal loads the
//   two files into one Spring property set, the instance file last);
// - an environment variable named exactly like a key (canal.instance.master.address=...)
//   overrides both files, as canal's System.getenv lookup does (its docker image is configured
//   that way);
// - a blank value counts as unset; values are trimmed;
// - values may hold placeholders, ${name} or ${name:default}, resolved from the same places
//   (and any other environment variable); canal.instance.destination is the destination's
//   name and canal.conf.dir the directory given to --canal-conf.
import { join } from "node:path";
import { type JavaProperty, readJavaProperties } from "./java-properties.js";

/** One properties file, the last value of each key. */
export interface CanalFile {
  /** As shown in messages: the --canal-conf directory as given, joined with the file's name. */
  name: string;
  path: string;
  values: Map<string, JavaProperty>;
}

/** A value with where it came from ("conf/canal.properties:12", "the environment", "default"). */
export interface CanalValue {
  value: string;
  origin: string;
  /** The file the value was read from; absent for the environment and defaults. */
  file?: CanalFile;
}

export type ReadResult = { ok: true; file: CanalFile } | { ok: false; problems: string[] };

/** Reads a properties file; problems name the file and line. */
export function readCanalFile(path: string, name: string): ReadResult {
  let parsed: ReturnType<typeof readJavaProperties>;
  try {
    parsed = readJavaProperties(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code;
    return { ok: false, problems: [`${name}: cannot read: ${why}`] };
  }
  if (parsed.problems.length > 0) {
    return { ok: false, problems: parsed.problems.map((p) => `${name}:${p.line}: ${p.message}`) };
  }
  const values = new Map<string, JavaProperty>();
  for (const e of parsed.entries) values.set(e.key, { ...e, value: e.value.trim() });
  return { ok: true, file: { name, path, values } };
}

export function instanceFileName(dirName: string, destination: string): string {
  return join(dirName, destination, "instance.properties");
}

const MAX_DEPTH = 32;

/**
 * The settings one destination sees (or the server's, without an instance file): lookups with
 * canal's precedence and placeholders resolved.
 */
export class CanalScope {
  constructor(
    readonly server: CanalFile,
    readonly instance: CanalFile | undefined,
    private readonly env: NodeJS.ProcessEnv,
    /** Placeholder values that canal sets itself (canal.instance.destination, canal.conf.dir). */
    private readonly builtins: ReadonlyMap<string, string>,
  ) {}

  /** The raw (unresolved) value of a key, or undefined when unset or blank. */
  raw(key: string): CanalValue | undefined {
    const fromEnv = this.env[key];
    if (fromEnv !== undefined && fromEnv.trim() !== "") {
      return { value: fromEnv.trim(), origin: `the environment variable ${key}` };
    }
    for (const file of [this.instance, this.server]) {
      const p = file?.values.get(key);
      if (p && p.value !== "") return { value: p.value, origin: `${file?.name}:${p.line}`, file };
    }
    return undefined;
  }

  /**
   * The value of a key with its placeholders resolved, or undefined when unset or blank.
   * Throws PlaceholderError for a circular reference.
   */
  get(key: string): CanalValue | undefined {
    const raw = this.raw(key);
    if (!raw) return undefined;
    const value = this.resolve(raw.value, [key]).trim();
    return value === "" ? undefined : { ...raw, value };
  }

  /** Placeholders in `text` replaced; an unresolvable one is left as written (canal does so too). */
  resolve(text: string, seen: string[] = []): string {
    if (seen.length > MAX_DEPTH) throw new PlaceholderError(seen);
    let out = "";
    let i = 0;
    while (i < text.length) {
      const start = text.indexOf("${", i);
      if (start < 0) break;
      const end = matchingBrace(text, start + 2);
      if (end < 0) break;
      out += text.slice(i, start);
      const inner = this.resolve(text.slice(start + 2, end), seen);
      const colon = inner.indexOf(":");
      const name = (colon < 0 ? inner : inner.slice(0, colon)).trim();
      const fallback = colon < 0 ? undefined : inner.slice(colon + 1).trim();
      if (seen.includes(name)) throw new PlaceholderError([...seen, name]);
      const found = this.#lookup(name);
      if (found !== undefined) out += this.resolve(found, [...seen, name]);
      else if (fallback !== undefined) out += this.resolve(fallback, seen);
      else out += `\${${inner}}`;
      i = end + 1;
    }
    return out + text.slice(i);
  }

  #lookup(name: string): string | undefined {
    const fromEnv = this.env[name];
    if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.trim();
    const builtin = this.builtins.get(name);
    if (builtin !== undefined) return builtin;
    return this.raw(name)?.value;
  }
}

export class PlaceholderError extends Error {
  constructor(readonly chain: string[]) {
    super(
      chain.length > MAX_DEPTH
        ? `placeholders nest more than ${MAX_DEPTH} deep`
        : `placeholders refer to each other in a circle: ${chain.join(" -> ")}`,
    );
  }
}

/** Index of the "}" closing a placeholder whose name starts at `from`, or -1. */
function matchingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text.startsWith("${", i)) {
      depth++;
      i++;
    } else if (text[i] === "}" && --depth === 0) {
      return i;
    }
  }
  return -1;
}
