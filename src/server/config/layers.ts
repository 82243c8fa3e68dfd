// A config file written over the settings of canal's conf directory (--canal-conf with
// --config): the file wins key by key; its destinations overlay canal's of the same name and
// add the others. Paths keep pointing at their origin: a value the file sets loses canal's
// label, and the file's key positions follow its destinations to their merged index.
import type { Origins } from "./validate.js";

type Tree = Record<string, unknown>;

function isMap(v: unknown): v is Tree {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Forgets the labels of `path` and everything under it. */
function dropLabels(origins: Origins, path: string): void {
  for (const key of [...origins.labels.keys()]) {
    if (key === path || key.startsWith(`${path}.`) || key.startsWith(`${path}[`)) origins.labels.delete(key);
  }
}

/**
 * `file` (a parsed config file, its key positions in `positions`) over `base` (canal's tree,
 * labelled in origins.labels). Sets origins.positions to the file's positions, re-indexed.
 */
export function overlayConfigFile(
  base: Tree,
  file: unknown,
  positions: Map<string, string>,
  origins: Origins,
): unknown {
  if (!isMap(file)) {
    // Not a map (or empty): validate reports a non-map; an empty file changes nothing.
    origins.positions = positions;
    return file === null || file === undefined ? base : file;
  }
  const merged: Tree = { ...base };
  const moved = new Map<string, string>();
  for (const [key, value] of Object.entries(file)) {
    if (key === "destinations" && Array.isArray(value) && Array.isArray(base.destinations)) {
      merged.destinations = overlayDestinations(base.destinations as unknown[], value, origins, moved);
    } else if (isMap(value) && isMap(base[key])) {
      merged[key] = { ...(base[key] as Tree), ...value };
      for (const k of Object.keys(value)) dropLabels(origins, `${key}.${k}`);
    } else {
      merged[key] = value;
      dropLabels(origins, key);
    }
  }
  const remapped = new Map<string, string>();
  for (const [path, at] of positions) {
    const m = /^destinations\[(\d+)\](.*)$/.exec(path);
    const target = m ? moved.get(m[1] as string) : undefined;
    remapped.set(target !== undefined ? `destinations[${target}]${m?.[2]}` : path, at);
  }
  origins.positions = remapped;
  return merged;
}

function overlayDestinations(
  base: unknown[],
  fromFile: unknown[],
  origins: Origins,
  moved: Map<string, string>,
): unknown[] {
  const out = [...base];
  fromFile.forEach((d, j) => {
    const name = isMap(d) ? d.name : undefined;
    const i = typeof name === "string" ? out.findIndex((b) => isMap(b) && b.name === name) : -1;
    if (i < 0 || !isMap(d)) {
      out.push(d);
      moved.set(String(j), String(out.length - 1));
      return;
    }
    const path = `destinations[${i}]`;
    const target: Tree = { ...(out[i] as Tree) };
    for (const [key, value] of Object.entries(d)) {
      target[key] = value;
      dropLabels(origins, `${path}.${key}`);
    }
    // A password the file gives (a file of its own, or in its source URL) wins over canal's.
    const urlHasPassword = typeof d.source === "string" && /\/\/[^/@]*:[^/@]*@/.test(d.source);
    if (d.passwordFile !== undefined || urlHasPassword) {
      delete target.password;
      dropLabels(origins, `${path}.password`);
    }
    out[i] = target;
    moved.set(String(j), String(i));
  });
  return out;
}
