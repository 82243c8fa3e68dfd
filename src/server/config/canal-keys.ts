// Which of canal's keys --canal-conf applies, which change nothing (their value makes canal
// behave as Sluice always does), and so which are unsupported: those are listed at startup.
// docs/canal.md has the same tables for people.

/** canal.properties keys the import reads (canal's server settings). */
export const SERVER_KEYS: ReadonlySet<string> = new Set([
  "canal.zkServers",
  "canal.destinations",
  "canal.destinations.expr",
  "canal.auto.scan",
  "canal.auto.scan.interval",
  "canal.conf.dir",
  "canal.port",
  "canal.ip",
  "canal.register.ip",
  "canal.metrics.pull.port",
  "canal.serverMode",
  "canal.withoutNetty",
  "canal.user",
  "canal.passwd",
  "canal.admin.manager",
  "canal.instance.global.mode",
  "canal.instance.global.lazy",
  "canal.instance.global.spring.xml",
  "canal.instance.global.manager.address",
  "canal.file.data.dir",
]);

/** Keys of each destination the import reads (from instance.properties, or canal.properties as defaults). */
export const INSTANCE_KEYS: ReadonlySet<string> = new Set([
  "canal.instance.master.address",
  "canal.instance.master.journal.name",
  "canal.instance.master.position",
  "canal.instance.master.timestamp",
  "canal.instance.master.gtid",
  "canal.instance.master.sslMode",
  "canal.instance.gtidon",
  "canal.instance.dbUsername",
  "canal.instance.dbPassword",
  "canal.instance.enableDruid",
  "canal.instance.pwdPublicKey",
  "canal.instance.mysql.slaveId",
  "canal.instance.connectionCharset",
  "canal.instance.filter.regex",
  "canal.instance.filter.black.regex",
  "canal.instance.filter.field",
  "canal.instance.filter.black.field",
  "canal.instance.filter.query.ddl",
  "canal.instance.filter.table.error",
]);

/** canal.instance.{destination}.mode and the like: the per-destination form of the global keys. */
export function templateDestination(key: string): string | undefined {
  const m = /^canal\.instance\.([^.]+)\.(mode|lazy|spring\.xml|manager\.address)$/.exec(key);
  return m && m[1] !== "global" ? m[1] : undefined;
}

/** Settings of canal's MQ modes (canal.serverMode kafka, rocketMQ, rabbitMQ, pulsarMQ). */
export function isMqKey(key: string): boolean {
  return /^(kafka|rocketmq|rabbitmq|pulsarmq)\./.test(key) || key.startsWith("canal.mq.");
}

/** Spring's boolean words, which canal's instance settings take. undefined: not a boolean. */
export function parseCanalBoolean(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (["true", "on", "yes", "1"].includes(t)) return true;
  if (["false", "off", "no", "0"].includes(t)) return false;
  return undefined;
}

const isFalse = (v: string) => parseCanalBoolean(v) === false;
const any = () => true;

/**
 * Keys whose value leaves canal doing what Sluice does anyway. `get` reads another key of the
 * same scope (the detecting.* keys change nothing while detecting.enable is false).
 */
const INERT: Record<string, (value: string, get: (key: string) => string | undefined) => boolean> = {
  // Sluice makes every cursor durable before an ack returns: no flush period to set.
  "canal.zookeeper.flush.period": any,
  "canal.file.flush.period": any,
  // Sluice's store bound (store.maxEntries) has the same default.
  "canal.instance.memory.buffer.size": (v) => v === "16384",
  "canal.instance.memory.rawEntry": any,
  "canal.instance.memory.batch.mode": (v) => v.toUpperCase() === "ITEMSIZE",
  "canal.instance.detecting.enable": isFalse,
  "canal.instance.detecting.sql": (_v, get) => isFalse(get("canal.instance.detecting.enable") ?? "false"),
  "canal.instance.detecting.interval.time": (_v, get) =>
    isFalse(get("canal.instance.detecting.enable") ?? "false"),
  "canal.instance.detecting.retry.threshold": (_v, get) =>
    isFalse(get("canal.instance.detecting.enable") ?? "false"),
  "canal.instance.detecting.heartbeatHaEnable": isFalse,
  "canal.instance.filter.druid.ddl": any,
  "canal.instance.filter.query.dcl": isFalse,
  "canal.instance.filter.query.dml": isFalse,
  "canal.instance.filter.rows": isFalse,
  "canal.instance.filter.transaction.entry": isFalse,
  "canal.instance.filter.dml.insert": isFalse,
  "canal.instance.filter.dml.update": isFalse,
  "canal.instance.filter.dml.delete": isFalse,
  "canal.instance.get.ddl.isolation": isFalse,
  "canal.instance.multi.stream.on": isFalse,
  "canal.instance.defaultDatabaseName": any,
  // A purged binlog stops the destination (never a silent jump to the head), as with false.
  "canal.auto.reset.latest.pos.mode": isFalse,
};

export function isInert(key: string, value: string, get: (key: string) => string | undefined): boolean {
  return INERT[key]?.(value, get) ?? false;
}

/** Keys whose values are secrets: never shown, and kept out of every message. */
export function isSecretKey(key: string): boolean {
  return /passw(or)?d|secret|accesskey|token/i.test(key);
}
