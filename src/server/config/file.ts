// Reading the config file: YAML or JSON (by extension, else by content), with the position
// of every key so that validation errors can point into the file.
import { existsSync, readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";

export interface ConfigFileContent {
  /** Absolute path. */
  path: string;
  /** The parsed document: null for an empty file. */
  value: unknown;
  /** Config path ("store.maxBytes", "destinations[1].source") → "file:line:col" of its key. */
  positions: Map<string, string>;
}

const CANAL_HINT =
  "; to run canal's configuration, give canal's conf directory (the one holding canal.properties and " +
  "{destination}/instance.properties) with --canal-conf DIR (docs/canal.md)";

export type ConfigFileResult = { ok: true; content: ConfigFileContent } | { ok: false; problems: string[] };

/**
 * Reads and parses a config file. `label` names where the file name came from ("--config",
 * "SLUICE_CONFIG"), for the error when it cannot be read.
 */
export function readConfigFile(name: string, label: string, cwd: string): ConfigFileResult {
  const path = resolve(cwd, name);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "ENOENT"
        ? "no such file"
        : e.code === "EACCES"
          ? "permission denied"
          : e.code === "EISDIR"
            ? "is a directory"
            : e.message;
    const canal = e.code === "EISDIR" && existsSync(join(path, "canal.properties")) ? CANAL_HINT : "";
    return { ok: false, problems: [`${label}: cannot read ${JSON.stringify(name)}: ${why}${canal}`] };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const ext = extname(name).toLowerCase();
  if (ext === ".properties" || /^\s*canal\.[\w.]+\s*=/m.test(text)) {
    return {
      ok: false,
      problems: [
        `${label}: ${JSON.stringify(name)} is a Java .properties file, not YAML or JSON${CANAL_HINT}`,
      ],
    };
  }
  const looksJson = ext === ".json" || (ext !== ".yaml" && ext !== ".yml" && /^\s*[{[]/.test(text));
  if (looksJson) {
    try {
      const value: unknown = JSON.parse(text);
      // Parsed again as YAML (JSON is YAML) only for key positions and duplicate keys, which
      // JSON.parse silently merges.
      const yaml = parseYaml(text, name);
      const duplicates = yaml.problems.filter((p) => p.includes("must be unique"));
      if (duplicates.length > 0) return { ok: false, problems: duplicates };
      return { ok: true, content: { path, value, positions: yaml.positions } };
    } catch {
      if (ext !== ".json") {
        // Maybe YAML in flow style; only when that fails too is the JSON error the one to show.
        const yaml = parseYaml(text, name);
        if (yaml.problems.length === 0)
          return { ok: true, content: { path, value: yaml.value, positions: yaml.positions } };
      }
      return { ok: false, problems: [jsonProblem(text, name)] };
    }
  }
  const yaml = parseYaml(text, name);
  if (yaml.problems.length > 0) return { ok: false, problems: yaml.problems };
  return { ok: true, content: { path, value: yaml.value, positions: yaml.positions } };
}

function parseYaml(
  text: string,
  name: string,
): { value: unknown; positions: Map<string, string>; problems: string[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${name}:${line}:${col}`;
  };
  const problems = [...doc.errors, ...doc.warnings].map((e) => {
    const message =
      e.code === "MULTIPLE_DOCS"
        ? "the file holds more than one YAML document (a second '---'); a config file is one document"
        : e.code === "DUPLICATE_KEY"
          ? "this key is given twice in the same map; keys must be unique"
          : e.message;
    return `${at(e.pos[0])}: YAML syntax error: ${message}`;
  });
  const positions = new Map<string, string>();
  if (problems.length === 0) collectPositions(doc.contents, "", positions, at);
  return {
    value: problems.length === 0 ? doc.toJS({ maxAliasCount: 1000 }) : undefined,
    positions,
    problems,
  };
}

function collectPositions(
  node: unknown,
  path: string,
  out: Map<string, string>,
  at: (offset: number) => string,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const child = path === "" ? key : `${path}.${key}`;
      const range = (pair.key as Node | null)?.range;
      if (range) out.set(child, at(range[0]));
      collectPositions(pair.value, child, out, at);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const child = `${path}[${i}]`;
      const range = (item as Node | null)?.range;
      if (range) out.set(child, at(range[0]));
      collectPositions(item, child, out, at);
    });
  }
}

/**
 * "file:line:col: JSON syntax error: ...". Found by our own scan: JSON.parse's messages give no
 * position for some errors and quote the text (which may hold a password).
 */
function jsonProblem(text: string, name: string): string {
  const { offset, message } = findJsonError(text) ?? { offset: text.length, message: "invalid JSON" };
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return `${name}:${line}:${col}: JSON syntax error: ${message}`;
}

/** The first syntax error of a JSON text, or undefined when it is valid. */
export function findJsonError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  class Stop {
    constructor(
      readonly offset: number,
      readonly message: string,
    ) {}
  }
  const found = () => (i >= text.length ? "the end of the file" : JSON.stringify(text[i]));
  const fail = (what: string): never => {
    throw new Stop(i, `expected ${what}, found ${found()}`);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const string = () => {
    if (text[i] !== '"') fail("a string in double quotes");
    i++;
    for (;;) {
      if (i >= text.length) throw new Stop(i, "unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) throw new Stop(i, "control character (such as a line break) inside a string");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)))
            throw new Stop(i, "bad \\u escape in string");
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw new Stop(i, "bad escape in string");
        i += 2;
        continue;
      }
      i++;
    }
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a key in double quotes");
        string();
        ws();
        if (text[i] !== ":") fail('":"');
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail('"," or "}"');
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail('"," or "]"');
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail("a value");
    i += (m as RegExpExecArray)[0].length;
    if (/[\w.]/.test(text[i] ?? "")) fail("a value");
  };
  try {
    value();
    ws();
    if (i < text.length) throw new Stop(i, `unexpected ${found()} after the end of the JSON value`);
    return undefined;
  } catch (err) {
    if (err instanceof Stop) return { offset: err.offset, message: err.message };
    throw err;
  }
}
