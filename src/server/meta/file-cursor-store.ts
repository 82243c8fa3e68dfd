// Standalone mode's cursor store (canal's file mode): one directory per destination and
// client, laid out like the ZooKeeper tree, each file replaced atomically (write a temp file,
// fsync it, rename it over the old one, fsync the directory), so a crash leaves either the
// old or the new cursor, never a torn one.
import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Cursor } from "../entry/positions.js";
import { fromCanalPosition, toCanalPosition } from "./canal-position.js";
import {
  type CursorImportRecord,
  type CursorStore,
  MAX_SKIPPED_EVENTS,
  type SkippedEventRecord,
  type StoredClient,
} from "./cursor-store.js";

const SKIPS_FILE = "skipped-events.json";
const IMPORT_FILE = "canal-import.json";

export class FileCursorStore implements CursorStore {
  constructor(
    readonly dataDir: string,
    private readonly source: (destination: string) => { host: string; port: number },
  ) {}

  #dir(destination: string, clientId?: string): string {
    const base = join(this.dataDir, "destinations", destination);
    return clientId === undefined ? base : join(base, clientId);
  }

  async load(destination: string): Promise<StoredClient[]> {
    const dir = this.#dir(destination);
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const clients: StoredClient[] = [];
    for (const clientId of names.sort()) {
      const cursorText = await readOptional(join(dir, clientId, "cursor"));
      let cursor: Cursor | undefined;
      if (cursorText !== undefined) {
        try {
          cursor = fromCanalPosition(cursorText);
        } catch (err) {
          throw new Error(`${join(dir, clientId, "cursor")}: ${(err as Error).message}`);
        }
      }
      clients.push({ clientId, cursor, filter: await readOptional(join(dir, clientId, "filter")) });
    }
    return clients;
  }

  async saveCursor(destination: string, clientId: string, cursor: Cursor): Promise<void> {
    const json = JSON.stringify(toCanalPosition(cursor, this.source(destination)));
    await writeAtomically(this.#dir(destination, clientId), "cursor", json);
  }

  async saveFilter(destination: string, clientId: string, filter: string): Promise<void> {
    await writeAtomically(this.#dir(destination, clientId), "filter", filter);
  }

  async remove(destination: string, clientId: string): Promise<void> {
    await rm(this.#dir(destination, clientId), { recursive: true, force: true });
    await fsyncDir(this.#dir(destination)).catch(() => {});
  }

  async loadSkips(destination: string): Promise<SkippedEventRecord[]> {
    const path = join(this.#dir(destination), SKIPS_FILE);
    const text = await readOptional(path);
    if (text === undefined) return [];
    try {
      return JSON.parse(text) as SkippedEventRecord[];
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    }
  }

  async saveSkip(destination: string, skip: SkippedEventRecord): Promise<void> {
    const all = [...(await this.loadSkips(destination)), skip].slice(-MAX_SKIPPED_EVENTS);
    await writeAtomically(this.#dir(destination), SKIPS_FILE, `${JSON.stringify(all, null, 1)}\n`);
  }

  async loadImportRecord(destination: string): Promise<CursorImportRecord | undefined> {
    const path = join(this.#dir(destination), IMPORT_FILE);
    const text = await readOptional(path);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as CursorImportRecord;
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    }
  }

  async saveImportRecord(destination: string, record: CursorImportRecord): Promise<void> {
    await writeAtomically(this.#dir(destination), IMPORT_FILE, `${JSON.stringify(record, null, 1)}\n`);
  }

  async nextEpoch(destination: string): Promise<bigint> {
    const dir = this.#dir(destination);
    const current = await readOptional(join(dir, "epoch"));
    const next = (current === undefined ? 0n : BigInt(current.trim())) + 1n;
    await writeAtomically(dir, "epoch", `${next}\n`);
    return next;
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function writeAtomically(dir: string, name: string, content: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    await fh.writeFile(content, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
