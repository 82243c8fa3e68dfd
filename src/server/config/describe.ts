// A human summary of a ServerConfig for the startup log: no password, ever.
import type { ConfiguredStart, DestinationConfig, ServerConfig } from "./types.js";
import { formatDuration, formatSize } from "./units.js";

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export function describeStart(start: ConfiguredStart | undefined): string {
  if (!start) return "the source's current head";
  switch (start.kind) {
    case "file":
      return `${start.file}:${start.position}`;
    case "mysql-gtid":
      return `GTID set ${start.gtidSet}`;
    case "mariadb-gtid":
      return `GTID state ${start.state}`;
    case "timestamp":
      return new Date(start.ms).toISOString();
  }
}

export function describeDestination(d: DestinationConfig): string {
  const parts = [`source ${d.redactedSourceUrl}`, `start (without cursors) at ${describeStart(d.start)}`];
  for (const field of ["filter", "blackFilter", "fieldFilter", "fieldBlackFilter"] as const) {
    if (d[field] !== "") parts.push(`${field} ${JSON.stringify(d[field])}`);
  }
  if (d.filterQueryDdl) parts.push("no DDL");
  if (d.filterTableError) parts.push("skips unreadable tables");
  if (d.serverId !== undefined) parts.push(`server id ${d.serverId}`);
  parts.push(`heartbeat ${d.heartbeatMs === 0 ? "off" : formatDuration(d.heartbeatMs)}`);
  if (d.timeZone !== undefined) parts.push(`time zone ${d.timeZone}`);
  if (d.schemaLookup === "never") parts.push("no schema lookup");
  return `destination ${d.name}: ${parts.join(", ")}`;
}

/** Several lines, one fact each, for the log at startup. */
export function describeConfig(config: ServerConfig): string {
  const lines = [
    `listening on ${hostPort(config.host, config.port)}, advertised as ${config.advertise}`,
    config.zk
      ? `elected mode: ZooKeeper ${config.zk.connect}, root ${config.zk.root}, session timeout ` +
        `${formatDuration(config.zk.sessionTimeoutMs)}, standby re-grab delay ${formatDuration(config.zk.regrabDelayMs)}, ` +
        (config.zk.credentials
          ? `digest user ${config.zk.credentials.user} (nodes get ACLs)`
          : "no credentials (nodes open to anyone)")
      : `standalone mode (no ZooKeeper): cursors in ${config.dataDir}`,
    config.metrics.enabled
      ? `metrics on ${hostPort(config.metrics.host, config.metrics.port)}`
      : "metrics off",
    `store: up to ${config.store.maxEntries} entries and ${formatSize(config.store.maxBytes)} per destination; ` +
      `streams: ${config.stream.window} batches in flight, batches of at most ${config.stream.maxBatchSize} entries`,
    ...(config.configFile !== undefined ? [`config file ${config.configFile}`] : []),
    ...config.destinations.map(describeDestination),
  ];
  return lines.join("\n");
}
