// The resolved configuration of `sluice server`: every default filled in, every value checked.
// Produced by loadServerConfig (load.ts) from a config file, the environment and flags; see
// docs/configuration.md for the file syntax and the rules.
import type { ZkCredentials } from "../../common/zk/acl.js";
import type { Limits } from "../../security/limits.js";
import type { AuthSettings } from "../../security/settings.js";
import type { StartPosition } from "../replication/replication-client.js";
import type { SourceConfig } from "../replication/source.js";
import type { SecurityConfig } from "./security.js";

/** Where a destination starts reading when none of its clientIds has a cursor yet. */
export type ConfiguredStart =
  | StartPosition
  /** The first binlog event at or after this time (epoch milliseconds), canal's master.timestamp. */
  | { kind: "timestamp"; ms: number };

export interface DestinationConfig {
  /** Canal's instance name, e.g. "example": letters, digits, "_", "-" and "."; not "." or "..". */
  name: string;
  /**
   * The primary the binlog is read from. Holds the password (from the URL, or from
   * passwordFile / SLUICE_SOURCE_PASSWORD, which replace the URL's): never log it, log
   * redactedSourceUrl.
   */
  source: SourceConfig;
  /** The source URL with its password replaced by "***", for logs and status pages. */
  redactedSourceUrl: string;
  /**
   * Where to start when no clientId of this destination has a cursor; absent: at the source's
   * current head. An existing cursor always wins over this (see docs/configuration.md).
   */
  start?: ConfiguredStart;
  /** canal.instance.filter.regex; "" keeps every table. */
  filter: string;
  /** canal.instance.filter.black.regex; "" excludes none. */
  blackFilter: string;
  /** canal.instance.filter.field, e.g. "shop.orders:id/status". */
  fieldFilter: string;
  /** canal.instance.filter.black.field. */
  fieldBlackFilter: string;
  /** canal.instance.filter.query.ddl: deliver no DDL or other statement events. */
  filterQueryDdl: boolean;
  /** canal.instance.filter.table.error: skip rows of tables whose definition cannot be read. */
  filterTableError: boolean;
  /** The replica server_id presented to the source; absent: one is chosen at each connect. */
  serverId?: number;
  /** The source sends a heartbeat after this much silence (ms); 0 turns heartbeats off. */
  heartbeatMs: number;
  /** Zone TIMESTAMP values are rendered in, overriding the source's own: "UTC", "+08:00" or an IANA name. */
  timeZone?: string;
  /** "auto": read column names from information_schema when the binlog lacks them; "never": don't. */
  schemaLookup: "auto" | "never";
  /**
   * canal's file-mode cursor file ({canal.file.data.dir}/{name}/meta.dat, absolute) to import
   * the first time this destination runs (--canal-conf; see docs/canal.md).
   */
  canalMetaFile?: string;
}

export interface ZooKeeperConfig {
  /** Connect string: "host:port,host:port" with an optional "/chroot" suffix. */
  connect: string;
  /** Root of sluice's (canal's) nodes. Default "/otter/canal". */
  root: string;
  /** ZooKeeper session timeout asked for (ms). Default 10 000. */
  sessionTimeoutMs: number;
  /** How long a standby waits before grabbing a destination whose runner vanished (ms). Default 1000. */
  regrabDelayMs: number;
  /** Hand destinations over to servers running fewer than their share (cluster/balancer.ts). */
  balance: boolean;
  /**
   * Digest credentials (zk.user and its password): the session authenticates with them and
   * every node it creates gets Sluice's ACL (common/zk/acl.ts). Absent: open nodes. Holds the
   * password: never log it.
   */
  credentials?: ZkCredentials;
}

export interface ServerConfig {
  /**
   * Listen address of the Connect service. Default "127.0.0.1": beyond loopback needs TLS and
   * authentication, or security.insecure (docs/security.md).
   */
  host: string;
  /** Connect port. Default 11113; 0 picks a free port. */
  port: number;
  /**
   * "ip:port" under which other servers and gateways reach this one, registered in ZooKeeper.
   * Default: host if it is a specific address, else this machine's first non-loopback IPv4
   * address; and port. When port is 0 and advertise was not given, it ends in ":0" and the
   * server puts in the port it was given.
   */
  advertise: string;
  /** True when advertise was configured rather than derived. */
  advertiseConfigured: boolean;
  /** Directory of the standalone cursor store (absolute). Default "./.sluice" under the working directory. */
  dataDir: string;
  /**
   * Largest request message a client may send, in bytes (resource_exhausted above). Default
   * 4 MiB, as a gateway's --max-request.
   */
  maxRequest: number;
  /** Present: elected mode (canal's cluster mode). Absent: standalone, cursors in dataDir, no election. */
  zk?: ZooKeeperConfig;
  metrics: {
    /** Serve Prometheus metrics. Default true. */
    enabled: boolean;
    /** Listen address. Default: host. */
    host: string;
    /** Default 9464 (OpenTelemetry's Prometheus exporter port); 0 picks a free port. */
    port: number;
  };
  /** Bounds of each destination's in-memory event store. */
  store: {
    /** Entries held per destination. Default 16384 (canal's memory.buffer.size). */
    maxEntries: number;
    /** Bytes held per destination. Default 64 MiB. */
    maxBytes: number;
    /**
     * Catch-up readers (binlog connections of clients that fell behind the store's window)
     * reading at once per destination. Default 4.
     */
    catchUpReaders: number;
  };
  stream: {
    /** Batches a stream may have in flight, unacked, before it waits. Default 4. */
    window: number;
    /** Largest batch (entries) one get or stream message may ask for. Default 10000. */
    maxBatchSize: number;
  };
  /** Per-client limits on calls (security.limits; src/security/limits.ts). */
  limits: Limits;
  /** At least one; names are unique. */
  destinations: DestinationConfig[];
  /** TLS and the insecure switch (security.ts); absent: no TLS, not insecure. */
  security?: SecurityConfig;
  /** Authentication and authorization (the security: keys of auth.ts); absent: none, every call is served. */
  auth?: AuthSettings;
  /** The config file read, absolute; absent when none was. */
  configFile?: string;
  /** Settings that work but should change (a password in argv), to log once at startup. */
  warnings?: string[];
  /** canal's conf directory read (--canal-conf), absolute. */
  canalConf?: string;
  /** What the canal conf directory gave, to log once at startup (info). */
  notes?: string[];
}
