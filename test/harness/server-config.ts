// The config of an in-process `startServer` for tests: one destination "example" reading the
// harness MariaDB, on a free loopback port, metrics off, small store; each test overrides what
// it is about.
import { DEFAULT_LIMITS } from "../../src/security/limits.js";
import type { DestinationConfig, ServerConfig } from "../../src/server/config/types.js";
import { parseSourceUrl, redact } from "../../src/server/replication/source.js";
import type { MariaDB } from "./mariadb.js";

export function serverConfig(
  db: MariaDB,
  dataDir: string,
  opts: { server?: Partial<ServerConfig>; destination?: Partial<DestinationConfig> } = {},
): ServerConfig {
  return {
    host: "127.0.0.1",
    port: 0,
    advertise: "127.0.0.1:0",
    advertiseConfigured: false,
    dataDir,
    maxRequest: 4 << 20,
    metrics: { enabled: false, host: "127.0.0.1", port: 0 },
    store: { maxEntries: 1000, maxBytes: 16 << 20, catchUpReaders: 4 },
    stream: { window: 4, maxBatchSize: 10_000 },
    limits: DEFAULT_LIMITS,
    ...opts.server,
    destinations: [
      {
        name: "example",
        source: parseSourceUrl(db.sourceUrl),
        redactedSourceUrl: redact(db.sourceUrl),
        filter: "",
        blackFilter: "",
        fieldFilter: "",
        fieldBlackFilter: "",
        filterQueryDdl: false,
        filterTableError: false,
        heartbeatMs: 1000,
        schemaLookup: "auto",
        ...opts.destination,
      },
    ],
  };
}
