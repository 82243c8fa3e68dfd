// Cursors and filters in ZooKeeper, where canal keeps them:
//   {root}/destinations/{d}/{clientId}/cursor   canal's LogPosition JSON
//   {root}/destinations/{d}/{clientId}/filter   the filter string
// A write resolves only once ZooKeeper has it (a quorum has logged it).
//
// Fencing: a cursor carries the epoch of the runner that wrote it, and every write is
// conditional on the node's version. A runner that finds a cursor written under a newer
// epoch (a newer runner exists; this one is a zombie) refuses to write: FencedError.
import { type ZkClient, ZkError } from "../../common/zk/client.js";
import type { ZkPaths } from "../../common/zk/paths.js";
import type { Cursor } from "../entry/positions.js";
import {
  epochOfCanalPosition,
  fromCanalPosition,
  toCanalPosition,
  writtenByCanal,
} from "./canal-position.js";
import {
  type CursorImportRecord,
  type CursorStore,
  MAX_SKIPPED_EVENTS,
  type SkippedEventRecord,
  type StoredClient,
} from "./cursor-store.js";

export class FencedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FencedError";
  }
}

// Children of a destination's node that are not clients.
const RESERVED = new Set(["running", "cluster"]);

export class ZkCursorStore implements CursorStore {
  /** Version of each cursor node as last read or written by us. */
  readonly #versions = new Map<string, number>();

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    private readonly source: (destination: string) => { host: string; port: number },
    /** The epoch of a destination: the czxid of the running node this server holds. */
    private readonly epochOf: (destination: string) => bigint,
  ) {}

  async load(destination: string): Promise<StoredClient[]> {
    let names: string[];
    try {
      names = await this.zk.children(this.paths.destination(destination));
    } catch (err) {
      if (err instanceof ZkError && err.code === "NONODE") return [];
      throw err;
    }
    const clients: StoredClient[] = [];
    for (const clientId of names.filter((n) => !RESERVED.has(n)).sort()) {
      const cursorText = await this.#read(this.paths.clientCursor(destination, clientId));
      let cursor: Cursor | undefined;
      if (cursorText !== undefined && cursorText.trim() !== "") {
        try {
          cursor = fromCanalPosition(cursorText);
        } catch (err) {
          throw new Error(`${this.paths.clientCursor(destination, clientId)}: ${(err as Error).message}`);
        }
      }
      clients.push({
        clientId,
        cursor,
        filter: await this.#read(this.paths.clientFilter(destination, clientId)),
        ...(cursor && writtenByCanal(cursorText as string) ? { writtenByCanal: true } : {}),
      });
    }
    return clients;
  }

  async saveCursor(destination: string, clientId: string, cursor: Cursor): Promise<void> {
    const epoch = this.epochOf(destination);
    const path = this.paths.clientCursor(destination, clientId);
    const json = JSON.stringify(toCanalPosition(cursor, this.source(destination), epoch));
    for (let attempt = 0; attempt < 5; attempt++) {
      let version = this.#versions.get(path);
      if (version === undefined) {
        try {
          const { data, stat } = await this.zk.get(path);
          this.#fence(path, epochOfCanalPosition(data.toString("utf8")), epoch);
          version = stat.version;
        } catch (err) {
          if (!(err instanceof ZkError && err.code === "NONODE")) throw err;
          await this.zk.ensurePath(path.slice(0, path.lastIndexOf("/")));
          try {
            await this.zk.create(path, json);
            this.#versions.set(path, 0);
            return;
          } catch (e) {
            if (!(e instanceof ZkError && e.code === "NODEEXISTS")) throw e;
            continue;
          }
        }
      }
      try {
        const stat = await this.zk.set(path, json, version);
        this.#versions.set(path, stat.version);
        return;
      } catch (err) {
        if (!(err instanceof ZkError && (err.code === "BADVERSION" || err.code === "NONODE"))) throw err;
        // Someone else wrote it: re-read, and stop if it was a newer runner.
        this.#versions.delete(path);
      }
    }
    throw new Error(`${path}: kept changing under concurrent writers`);
  }

  #fence(path: string, stored: bigint, mine: bigint): void {
    if (stored > mine) {
      throw new FencedError(
        `${path} was written by a newer runner (epoch ${stored}; this server's is ${mine}): this server no longer runs the destination`,
      );
    }
  }

  async saveFilter(destination: string, clientId: string, filter: string): Promise<void> {
    await this.#write(this.paths.clientFilter(destination, clientId), filter);
  }

  async remove(destination: string, clientId: string): Promise<void> {
    this.#versions.delete(this.paths.clientCursor(destination, clientId));
    for (const path of [
      this.paths.clientCursor(destination, clientId),
      this.paths.clientFilter(destination, clientId),
    ]) {
      await this.zk.delete(path).catch((err) => {
        if (!(err instanceof ZkError && err.code === "NONODE")) throw err;
      });
    }
    await this.zk.delete(this.paths.client(destination, clientId)).catch((err) => {
      // NOTEMPTY: a consumer's running node is still there; the gateway removes it.
      if (!(err instanceof ZkError && (err.code === "NONODE" || err.code === "NOTEMPTY"))) throw err;
    });
  }

  async loadSkips(destination: string): Promise<SkippedEventRecord[]> {
    const path = this.paths.skippedEvents(destination);
    const text = await this.#read(path);
    if (text === undefined) return [];
    try {
      return (JSON.parse(text) as { events: SkippedEventRecord[] }).events;
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    }
  }

  /** Fenced as cursors are: the node carries the epoch of its writer; a newer one wins. */
  async saveSkip(destination: string, skip: SkippedEventRecord): Promise<void> {
    const epoch = this.epochOf(destination);
    const path = this.paths.skippedEvents(destination);
    for (let attempt = 0; attempt < 5; attempt++) {
      let stored: { epoch: string; events: SkippedEventRecord[] } = { epoch: "0", events: [] };
      let version: number | undefined;
      try {
        const { data, stat } = await this.zk.get(path);
        stored = JSON.parse(data.toString("utf8"));
        version = stat.version;
      } catch (err) {
        if (!(err instanceof ZkError && err.code === "NONODE")) throw err;
      }
      this.#fence(path, BigInt(stored.epoch), epoch);
      const json = JSON.stringify({
        epoch: String(epoch),
        events: [...stored.events, skip].slice(-MAX_SKIPPED_EVENTS),
      });
      try {
        if (version === undefined) {
          await this.zk.ensurePath(path.slice(0, path.lastIndexOf("/")));
          await this.zk.create(path, json);
        } else {
          await this.zk.set(path, json, version);
        }
        return;
      } catch (err) {
        if (!(err instanceof ZkError && ["BADVERSION", "NONODE", "NODEEXISTS"].includes(err.code))) throw err;
      }
    }
    throw new Error(`${path}: kept changing under concurrent writers`);
  }

  async loadImportRecord(destination: string): Promise<CursorImportRecord | undefined> {
    const path = this.paths.canalImport(destination);
    const text = await this.#read(path);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as CursorImportRecord;
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    }
  }

  async saveImportRecord(destination: string, record: CursorImportRecord): Promise<void> {
    await this.#write(this.paths.canalImport(destination), JSON.stringify(record));
  }

  async nextEpoch(destination: string): Promise<bigint> {
    return this.epochOf(destination);
  }

  async #read(path: string): Promise<string | undefined> {
    try {
      return (await this.zk.get(path)).data.toString("utf8");
    } catch (err) {
      if (err instanceof ZkError && err.code === "NONODE") return undefined;
      throw err;
    }
  }

  async #write(path: string, data: string): Promise<void> {
    try {
      await this.zk.set(path, data);
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "NONODE")) throw err;
      await this.zk.ensurePath(path.slice(0, path.lastIndexOf("/")));
      try {
        await this.zk.create(path, data);
      } catch (e) {
        if (!(e instanceof ZkError && e.code === "NODEEXISTS")) throw e;
        await this.zk.set(path, data);
      }
    }
  }
}
