// A small promise API over the native `zookeeper` package (the ZooKeeper C client).
//
// Facts of that package this wrapper exists to contain:
// - errors arrive as (rc, text) pairs; we turn them into ZkError with a stable code name;
// - `create` makes no parents; `ensurePath` does;
// - session expiry arrives as a `close` event and the handle is dead afterwards (using it
//   segfaults), so every method refuses to run once the session is gone;
// - the package closes a session itself, as if expired, after `response_counter_limit`
//   (default 10) consecutive empty polls, which a brief network stall can trigger; we raise it
//   so that only the server's real session expiry ends a session;
// - `a_create` takes no ACL (every node it makes is open to anyone), so with credentials
//   create() sets the node's ACL right after (see #protect).
import { createRequire } from "node:module";
import { ZK_PERM, type ZkAclEntry, type ZkAclPolicy, type ZkCredentials } from "./acl.js";

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the native package ships no usable types
const NativeZooKeeper: any = require("zookeeper");

export const ZOO_PERSISTENT = 0;
export const ZOO_EPHEMERAL = 1;
export const ZOO_SEQUENCE = 2;

/** ZooKeeper return codes we act on, by name. */
const RC_NAMES: Record<number, string> = {
  [-4]: "CONNECTIONLOSS",
  [-7]: "OPERATIONTIMEOUT",
  [-101]: "NONODE",
  [-102]: "NOAUTH",
  [-103]: "BADVERSION",
  [-108]: "NOCHILDRENFOREPHEMERALS",
  [-110]: "NODEEXISTS",
  [-111]: "NOTEMPTY",
  [-112]: "SESSIONEXPIRED",
  [-114]: "INVALIDACL",
  [-115]: "AUTHFAILED",
  [-116]: "CLOSING",
  [-118]: "SESSIONMOVED",
};

export class ZkError extends Error {
  readonly rc: number;
  /** e.g. "NONODE", "NODEEXISTS", "BADVERSION", "SESSIONEXPIRED"; "UNKNOWN" otherwise. */
  readonly code: string;
  readonly path: string | undefined;
  constructor(rc: number, text: string, op: string, path?: string) {
    const code = RC_NAMES[rc] ?? "UNKNOWN";
    super(`zookeeper ${op}${path ? ` ${path}` : ""}: ${code} (${rc} ${text})`);
    this.name = "ZkError";
    this.rc = rc;
    this.code = code;
    this.path = path;
  }
}

export interface ZkStat {
  /** zxid of the transaction that created the node: our fencing epoch. */
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
}

export type WatchEvent = "created" | "deleted" | "changed" | "child" | "session";

export interface ZkClientOptions {
  /** Requested session timeout (the server clamps it to its min/max). Default 10 s. */
  sessionTimeoutMs?: number;
  /** How long connect() waits for the first connection. Default 15 s. */
  connectTimeoutMs?: number;
  /**
   * Digest credentials the session authenticates with before connect() resolves (and again,
   * by the C client, on every reconnect). Never part of a message or log line.
   */
  credentials?: ZkCredentials;
  /**
   * The ACL of every node create() (and ensurePath) makes. Default with credentials: every
   * permission for them and nothing for anyone else; without: ZooKeeper's open default.
   */
  acl?: ZkAclPolicy;
}

export type ZkState = "connecting" | "connected" | "closed";

type Listener = (state: ZkState, reason?: string) => void;

const EVENT_TYPES: Record<number, WatchEvent> = { 1: "created", 2: "deleted", 3: "changed", 4: "child" };

export class ZkClient {
  // biome-ignore lint/suspicious/noExplicitAny: native handle
  readonly #zk: any;
  #state: ZkState = "connecting";
  #closeReason: string | undefined;
  readonly #listeners = new Set<Listener>();
  readonly connectString: string;

  readonly #requestedTimeoutMs: number;
  readonly #acl: ZkAclPolicy | undefined;

  private constructor(connectString: string, sessionTimeoutMs: number, acl: ZkAclPolicy | undefined) {
    this.connectString = connectString;
    this.#requestedTimeoutMs = sessionTimeoutMs;
    this.#acl = acl;
    this.#zk = new NativeZooKeeper({
      connect: connectString,
      timeout: sessionTimeoutMs,
      debug_level: 0,
      host_order_deterministic: false,
      data_as_buffer: true,
      response_counter_limit: 1_000_000,
    });
    this.#zk.on("connect", () => this.#setState("connected"));
    this.#zk.on("connecting", () => this.#setState("connecting"));
    this.#zk.on("close", (_zk: unknown, code: number) => {
      this.#closeReason = code === -112 ? "session expired" : `closed (${code})`;
      this.#setState("closed", this.#closeReason);
    });
  }

  /** Connects and resolves once the session is established. */
  static async connect(connectString: string, opts: ZkClientOptions = {}): Promise<ZkClient> {
    const c = opts.credentials;
    const acl = opts.acl ?? (c ? () => [{ perms: ZK_PERM.ALL, scheme: "auth", auth: "" }] : undefined);
    const client = new ZkClient(connectString, opts.sessionTimeoutMs ?? 10_000, acl);
    const timeoutMs = opts.connectTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(new Error(`could not reach ZooKeeper at ${connectString} within ${timeoutMs} ms`));
      }, timeoutMs);
      client.#zk.connect({}, (err: Error | null) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
    if (c) {
      try {
        await client.#addAuth(c);
      } catch (err) {
        client.close();
        throw err;
      }
    }
    return client;
  }

  // Digest authentication never fails for a wrong password (the password only makes the
  // id), so this fails only when the ensemble refuses the scheme.
  #addAuth(c: ZkCredentials): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#zk.add_auth("digest", `${c.user}:${c.password}`, (rc: number, text: string) =>
        rc === 0 ? resolve() : reject(new ZkError(rc, text, "authenticate (digest)")),
      );
    });
  }

  get state(): ZkState {
    return this.#state;
  }

  /** The session id as ZooKeeper prints it (hex). */
  get sessionId(): string {
    return String(this.#zk.client_id);
  }

  /**
   * The session timeout the ensemble granted (it clamps the requested one to its own
   * bounds, 2 to 20 ticks by default); the requested one until the session is established.
   */
  get sessionTimeoutMs(): number {
    const granted = Number(this.#zk.native?.timeout ?? -1);
    return granted > 0 ? granted : this.#requestedTimeoutMs;
  }

  /** Called on every state change; returns an unsubscribe function. */
  onState(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #setState(state: ZkState, reason?: string): void {
    if (this.#state === "closed") return;
    this.#state = state;
    for (const l of this.#listeners) l(state, reason);
  }

  #alive(op: string, path?: string): void {
    if (this.#state === "closed") {
      throw new ZkError(-112, this.#closeReason ?? "closed", op, path);
    }
  }

  /** Creates the node with the client's ACL; resolves with its path (sequence nodes: numbered). */
  async create(path: string, data: Buffer | string = "", mode = ZOO_PERSISTENT): Promise<string> {
    this.#alive("create", path);
    const bytes = toBuffer(data);
    const created = await new Promise<string>((resolve, reject) => {
      this.#zk.a_create(path, bytes, mode, (rc: number, text: string, created: string) =>
        rc === 0 ? resolve(created) : reject(new ZkError(rc, text, "create", path)),
      );
    });
    if (this.#acl) await this.#protect(created, bytes, this.#acl(created));
    return created;
  }

  // The node was created open to anyone (the package's a_create cannot do otherwise); the ACL
  // follows one round trip later, conditional on the ACL being the one it was created with
  // (aversion 0). Another session may have used that round trip: a changed ACL means the node
  // cannot be trusted (it is removed, and create fails); changed data is put back. Children a
  // session without credentials made in that window keep the open ACL: the audit at startup
  // lists them (acl-audit.ts).
  async #protect(path: string, data: Buffer, acl: readonly ZkAclEntry[]): Promise<void> {
    try {
      await this.setAcl(path, acl, 0);
    } catch (err) {
      if (!(err instanceof ZkError)) throw err;
      // Deleted already, by a session allowed to: as if that had happened a moment later.
      if (err.code === "NONODE") return;
      if (err.code !== "BADVERSION") throw err;
      await this.delete(path).catch(() => {});
      throw new ZkError(
        -102,
        "its ACL was changed by another session before this one could set it",
        "create",
        path,
      );
    }
    const stat = await this.exists(path);
    if (stat && stat.version !== 0) await this.set(path, data, stat.version);
  }

  /** The node's ACL and stat. */
  async getAcl(path: string): Promise<{ acl: ZkAclEntry[]; stat: ZkStat }> {
    this.#alive("getAcl", path);
    return new Promise((resolve, reject) => {
      this.#zk.a_get_acl(path, (rc: number, text: string, acl: ZkAclEntry[] | null, stat: ZkStat) =>
        rc === 0
          ? resolve({
              acl: (acl ?? []).map((e) => ({ perms: e.perms, scheme: e.scheme, auth: e.auth })),
              stat,
            })
          : reject(new ZkError(rc, text, "getAcl", path)),
      );
    });
  }

  /** Replaces the node's ACL; conditional on its ACL version (stat.aversion) when given. */
  async setAcl(path: string, acl: readonly ZkAclEntry[], aclVersion = -1): Promise<void> {
    this.#alive("setAcl", path);
    return new Promise((resolve, reject) => {
      this.#zk.a_set_acl(path, aclVersion, [...acl], (rc: number, text: string) =>
        rc === 0 ? resolve() : reject(new ZkError(rc, text, "setAcl", path)),
      );
    });
  }

  /** Creates `path` and any missing parents as persistent nodes; existing nodes are fine. */
  async ensurePath(path: string): Promise<void> {
    const parts = path.split("/").filter(Boolean);
    let current = "";
    for (const part of parts) {
      current += `/${part}`;
      try {
        await this.create(current);
      } catch (err) {
        if (!(err instanceof ZkError && err.code === "NODEEXISTS")) throw err;
      }
    }
  }

  /** Stat of the node, or undefined when it does not exist. A watch fires once on the next change. */
  async exists(path: string, watch?: (event: WatchEvent) => void): Promise<ZkStat | undefined> {
    this.#alive("exists", path);
    return new Promise((resolve, reject) => {
      const cb = (rc: number, text: string, stat: ZkStat) => {
        if (rc === 0) resolve(stat);
        else if (rc === -101) resolve(undefined);
        else reject(new ZkError(rc, text, "exists", path));
      };
      if (watch) this.#zk.aw_exists(path, this.#watcher(watch), cb);
      else this.#zk.a_exists(path, false, cb);
    });
  }

  /** Data and stat of the node; rejects with NONODE when it does not exist. */
  async get(path: string, watch?: (event: WatchEvent) => void): Promise<{ data: Buffer; stat: ZkStat }> {
    this.#alive("get", path);
    return new Promise((resolve, reject) => {
      const cb = (rc: number, text: string, stat: ZkStat, data: Buffer | null) =>
        rc === 0
          ? resolve({ data: data ?? Buffer.alloc(0), stat })
          : reject(new ZkError(rc, text, "get", path));
      if (watch) this.#zk.aw_get(path, this.#watcher(watch), cb);
      else this.#zk.a_get(path, false, cb);
    });
  }

  async children(path: string, watch?: (event: WatchEvent) => void): Promise<string[]> {
    this.#alive("children", path);
    return new Promise((resolve, reject) => {
      const cb = (rc: number, text: string, children: string[]) =>
        rc === 0 ? resolve(children ?? []) : reject(new ZkError(rc, text, "children", path));
      if (watch) this.#zk.aw_get_children(path, this.#watcher(watch), cb);
      else this.#zk.a_get_children(path, false, cb);
    });
  }

  /** Conditional write when `version` is given (BADVERSION when it changed); -1 or omitted: any. */
  async set(path: string, data: Buffer | string, version = -1): Promise<ZkStat> {
    this.#alive("set", path);
    return new Promise((resolve, reject) => {
      this.#zk.a_set(path, toBuffer(data), version, (rc: number, text: string, stat: ZkStat) =>
        rc === 0 ? resolve(stat) : reject(new ZkError(rc, text, "set", path)),
      );
    });
  }

  async delete(path: string, version = -1): Promise<void> {
    this.#alive("delete", path);
    return new Promise((resolve, reject) => {
      this.#zk.a_delete_(path, version, (rc: number, text: string) =>
        rc === 0 ? resolve() : reject(new ZkError(rc, text, "delete", path)),
      );
    });
  }

  /** Ends the session: its ephemeral nodes go at once. Safe to call twice. */
  close(): void {
    if (this.#state === "closed") return;
    this.#closeReason = "closed by this process";
    this.#setState("closed", this.#closeReason);
    this.#zk.close();
  }

  // The C client fires every pending watch once with type -1 (session event) when the session
  // ends; callers see that as "session" and must not mistake it for a node change.
  #watcher(fn: (event: WatchEvent) => void) {
    return (type: number) => fn(EVENT_TYPES[type] ?? "session");
  }
}

function toBuffer(data: Buffer | string): Buffer {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}
