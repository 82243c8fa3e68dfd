// Cursors and filters in ZooKeeper, where canal keeps them:
//   {root}/destinations/{d}/{clientId}/cursor   canal's LogPosition JSON
//   {root}/destinations/{d}/{clientId}/filter   the filter string
// A write resolves only once ZooKeeper has it (a quorum has logged it).
import { type ZkClient, ZkError } from "../../common/zk/client.js";
import type { ZkPaths } from "../../common/zk/paths.js";
import type { Cursor } from "../store/positions.js";
import { fromCanalPosition, toCanalPosition } from "./canal-position.js";
import type { CursorStore, StoredClient } from "./cursor-store.js";

// Children of a destination's node that are not clients.
const RESERVED = new Set(["running", "cluster"]);

export class ZkCursorStore implements CursorStore {
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
      });
    }
    return clients;
  }

  async saveCursor(destination: string, clientId: string, cursor: Cursor): Promise<void> {
    const json = JSON.stringify(toCanalPosition(cursor, this.source(destination)));
    await this.#write(this.paths.clientCursor(destination, clientId), json);
  }

  async saveFilter(destination: string, clientId: string, filter: string): Promise<void> {
    await this.#write(this.paths.clientFilter(destination, clientId), filter);
  }

  async remove(destination: string, clientId: string): Promise<void> {
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
