// Where clients' cursors and filters live: ZooKeeper in a cluster, a local directory in
// standalone mode. Every write is durable before its promise resolves; a write that fails
// rejects, and the Ack that caused it fails with it.
import type { Cursor } from "../store/positions.js";

export interface StoredClient {
  clientId: string;
  cursor: Cursor | undefined;
  filter: string | undefined;
}

export interface CursorStore {
  /** Every client of the destination with what is stored for it. */
  load(destination: string): Promise<StoredClient[]>;
  saveCursor(destination: string, clientId: string, cursor: Cursor): Promise<void>;
  saveFilter(destination: string, clientId: string, filter: string): Promise<void>;
  /** Forgets the client (Unsubscribe). */
  remove(destination: string, clientId: string): Promise<void>;
  /**
   * A number larger than any this destination had before, also across restarts: batch ids
   * carry it so that none is ever reused. (In a cluster, the running node's czxid.)
   */
  nextEpoch(destination: string): Promise<bigint>;
}
