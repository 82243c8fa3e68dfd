// biome-ignore-all lint/suspicious/noTemplateCurlyInString: canal's ${key} placeholders are the subject here
// --canal-conf: canal's conf directory mapped to a ServerConfig. Configs are shaped like the
// canal-ha articles' (two servers, three ZooKeeper nodes, destination example): every
// supported key, the unsupported ones listed with file:line, bad values named by key and
// file:line, placeholders and environment overrides, druid-encrypted passwords, meta.dat,
// and how --canal-conf composes with --config, the environment and flags.
import assert from "node:assert/strict";
import { constants, generateKeyPairSync, privateEncrypt } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  ConfigError,
  describeConfig,
  loadServerConfig,
  SERVER_HELP,
  type ServerConfig,
} from "../../../src/server/config/index.js";

const root = mkdtempSync(join(tmpdir(), "sluice-canal-conf-"));
after(() => rmSync(root, { recursive: true, force: true }));

// canal-server-1's canal.properties from the canal-ha article, with the stock file's other keys.
const CANAL_PROPERTIES = `#################################################
#########       common argument     #############
#################################################
# tcp bind ip
canal.ip = 127.0.0.1
# register ip to zookeeper
canal.register.ip =
canal.port = 11111
canal.metrics.pull.port = 11112
canal.admin.port = 11110
canal.admin.user = admin
canal.zkServers = 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
canal.zookeeper.flush.period = 1000
canal.withoutNetty = false
canal.serverMode = tcp
canal.file.data.dir = \${canal.conf.dir}
canal.file.flush.period = 1000
canal.instance.memory.buffer.size = 16384
canal.instance.filter.query.dcl = false
canal.instance.filter.query.ddl = false
canal.instance.filter.table.error = false
canal.instance.filter.rows = false
canal.instance.transaction.size =  1024
canal.destinations = example
canal.conf.dir = ../conf
canal.auto.scan = false
canal.instance.global.mode = spring
canal.instance.global.lazy = false
canal.instance.global.manager.address = \${canal.admin.manager}
canal.instance.global.spring.xml = classpath:spring/default-instance.xml
kafka.bootstrap.servers = 127.0.0.1:9092
canal.mq.flatMessage = true
`;

const INSTANCE_PROPERTIES = `#################################################
canal.instance.mysql.slaveId=12345
canal.instance.gtidon=false
canal.instance.master.address=127.0.0.1:3306
canal.instance.master.journal.name=
canal.instance.master.position=
canal.instance.master.timestamp=
canal.instance.master.gtid=
canal.instance.tsdb.enable=true
canal.instance.dbUsername=canal
canal.instance.dbPassword=canal
canal.instance.connectionCharset = UTF-8
canal.instance.enableDruid=false
canal.instance.filter.regex=.*\\\\..*
canal.instance.filter.black.regex=mysql\\\\.slave_.*
canal.mq.topic=example
#################################################
`;

let dirCount = 0;
/** A conf directory: canal.properties plus one instance.properties per destination. */
function confDir(
  canal: string,
  instances: Record<string, string> = { example: INSTANCE_PROPERTIES },
  extra: Record<string, string> = {},
): string {
  const rel = `case${++dirCount}/conf`;
  const dir = join(root, rel);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "canal.properties"), canal);
  for (const [name, text] of Object.entries(instances)) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, "instance.properties"), text, { mode: 0o600 });
    chmodSync(join(dir, name, "instance.properties"), 0o600);
  }
  for (const [name, text] of Object.entries(extra)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return rel;
}

function load(argv: string[], env: Record<string, string> = {}): ServerConfig {
  return loadServerConfig({ argv, env, cwd: root, localAddress: "10.9.8.7" });
}

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    load(argv, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return [...err.problems];
  }
  assert.fail("expected a ConfigError");
}

/** The instance file with `changes` (key → value, undefined removes) applied. */
function instance(changes: Record<string, string | undefined>, base = INSTANCE_PROPERTIES): string {
  let text = base;
  for (const [key, value] of Object.entries(changes)) {
    const re = new RegExp(`^${key.replace(/\./g, "\\.")}\\s*=.*$`, "m");
    const line = value === undefined ? "" : `${key}=${value}`;
    text = re.test(text) ? text.replace(re, line) : `${text}${line}\n`;
  }
  return text;
}

test("canal-ha's server config: ZooKeeper, listen address, metrics port, destination example", () => {
  const dir = confDir(CANAL_PROPERTIES);
  const config = load(["--canal-conf", dir]);
  assert.equal(config.zk?.connect, "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183");
  assert.equal(config.zk?.root, "/otter/canal");
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.advertise, "127.0.0.1:11113", "canal.register.ip is blank: the listen address");
  assert.equal(config.port, 11113, "canal.port is not Sluice's port");
  assert.equal(config.metrics.port, 11112);
  assert.equal(config.canalConf, join(root, dir));
  assert.match(describeConfig(config), new RegExp(`canal conf directory ${join(root, dir)}`));
  assert.doesNotMatch(describeConfig(config), /password|canal:canal/);
  assert.deepEqual(config.destinations, [
    {
      name: "example",
      source: {
        host: "127.0.0.1",
        port: 3306,
        user: "canal",
        password: "canal",
        ssl: "off",
        caFile: undefined,
      },
      redactedSourceUrl: "mysql://canal:***@127.0.0.1:3306",
      filter: ".*\\..*",
      blackFilter: "mysql\\.slave_.*",
      fieldFilter: "",
      fieldBlackFilter: "",
      filterQueryDdl: false,
      filterTableError: false,
      serverId: 12345,
      heartbeatMs: 5000,
      schemaLookup: "auto",
    },
  ]);
  const warnings = config.warnings ?? [];
  assert.ok(
    warnings.some((w) =>
      w.startsWith(
        `canal.port (${dir}/canal.properties:8): not used: that port speaks canal's own TCP protocol`,
      ),
    ),
    warnings.join("\n"),
  );
  const unsupported = warnings.find((w) => w.includes("settings are not supported")) as string;
  assert.equal(
    unsupported,
    `canal config: 4 settings are not supported and have no effect (docs/canal.md#not-supported): ` +
      `canal.admin.port (${dir}/canal.properties:10), canal.admin.user (${dir}/canal.properties:11), ` +
      `canal.instance.transaction.size (${dir}/canal.properties:23), ` +
      `canal.instance.tsdb.enable (${dir}/example/instance.properties:9)`,
  );
  assert.match(
    (config.notes ?? [])[0] as string,
    /^canal config .*: destinations example; \d+ settings applied, 5 leave canal doing what Sluice does anyway, 3 MQ settings unused \(canal.serverMode is tcp/,
  );
});

test("every instance key: filters, DDL and table-error switches, replica id, start by file and position", () => {
  const dir = confDir(CANAL_PROPERTIES, {
    example: instance({
      "canal.instance.master.address": "db.example.com:3307",
      "canal.instance.master.journal.name": "mysql-bin.000018",
      "canal.instance.master.position": "1689",
      "canal.instance.master.timestamp": "1605775168000",
      "canal.instance.dbUsername": "repl user",
      "canal.instance.dbPassword": "p@ss:w/rd",
      "canal.instance.mysql.slaveId": "54321",
      "canal.instance.connectionCharset": "utf8mb4",
      "canal.instance.filter.regex": "shop\\\\..*,crm\\\\.users",
      "canal.instance.filter.black.regex": "shop\\\\.tmp_.*",
      "canal.instance.filter.field": "shop.orders:id/status,crm.users:id/name",
      "canal.instance.filter.black.field": "shop.orders:note",
      "canal.instance.filter.query.ddl": "true",
      "canal.instance.filter.table.error": "yes",
      "canal.instance.master.sslMode": "REQUIRED",
    }),
  });
  const config = load(["--canal-conf", dir]);
  const d = config.destinations[0];
  assert.deepEqual(d?.source, {
    host: "db.example.com",
    port: 3307,
    user: "repl user",
    password: "p@ss:w/rd",
    ssl: "required",
    caFile: undefined,
  });
  assert.equal(d?.redactedSourceUrl, "mysql://repl%20user:***@db.example.com:3307?ssl=required");
  assert.deepEqual(d?.start, { kind: "file", file: "mysql-bin.000018", position: 1689 });
  assert.equal(d?.filter, "shop\\..*,crm\\.users");
  assert.equal(d?.blackFilter, "shop\\.tmp_.*");
  assert.equal(d?.fieldFilter, "shop.orders:id/status,crm.users:id/name");
  assert.equal(d?.fieldBlackFilter, "shop.orders:note");
  assert.equal(d?.filterQueryDdl, true);
  assert.equal(d?.filterTableError, true);
  assert.equal(d?.serverId, 54321);
  assert.ok(!(config.warnings ?? []).some((w) => w.includes("connectionCharset")), "utf8mb4 is UTF-8");
});

test("canal.properties gives every destination defaults; instance.properties overrides them", () => {
  const canal = `${CANAL_PROPERTIES.replace("canal.destinations = example", "canal.destinations = a, b")}
canal.instance.filter.query.ddl = true
canal.instance.filter.black.regex = common\\\\.audit
`;
  const dir = confDir(canal, {
    a: instance({ "canal.instance.filter.black.regex": undefined }),
    b: instance({
      "canal.instance.filter.query.ddl": "false",
      "canal.instance.filter.black.regex": "b\\\\.tmp",
      "canal.instance.master.address": "127.0.0.1:3307",
    }),
  });
  const [a, b] = load(["--canal-conf", dir]).destinations;
  assert.equal(a?.name, "a");
  assert.equal(a?.filterQueryDdl, true);
  assert.equal(a?.blackFilter, "common\\.audit");
  assert.equal(b?.name, "b");
  assert.equal(b?.filterQueryDdl, false);
  assert.equal(b?.blackFilter, "b\\.tmp");
});

test("where canal starts without a cursor: journal alone, timestamp, GTID, and what canal ignores", () => {
  const start = (changes: Record<string, string>) => {
    const config = load(["--canal-conf", confDir(CANAL_PROPERTIES, { example: instance(changes) })]);
    return { start: config.destinations[0]?.start, warnings: (config.warnings ?? []).join("\n") };
  };
  // A journal without a position: from the file's beginning.
  assert.deepEqual(start({ "canal.instance.master.journal.name": "mysql-bin.000003" }).start, {
    kind: "file",
    file: "mysql-bin.000003",
    position: 4,
  });
  // A timestamp alone: the first transaction at or after it.
  assert.deepEqual(start({ "canal.instance.master.timestamp": "1605775168000" }).start, {
    kind: "timestamp",
    ms: 1605775168000,
  });
  // A position without a journal: canal starts at the head, and so does Sluice, saying so.
  const noJournal = start({ "canal.instance.master.position": "1689" });
  assert.equal(noJournal.start, undefined);
  assert.match(
    noJournal.warnings,
    /canal.instance.master.position \(.*instance.properties:6\): not used without/,
  );
  // A journal and a timestamp but no position: by time, with a note on canal's narrower search.
  const journalAndTime = start({
    "canal.instance.master.journal.name": "mysql-bin.000003",
    "canal.instance.master.timestamp": "1605775168000",
  });
  assert.deepEqual(journalAndTime.start, { kind: "timestamp", ms: 1605775168000 });
  assert.match(
    journalAndTime.warnings,
    /canal looks for canal.instance.master.timestamp only in mysql-bin.000003/,
  );
  // GTID mode with a GTID: from the GTID (MySQL set, or MariaDB state); the position is unused.
  const gtid = start({
    "canal.instance.gtidon": "true",
    "canal.instance.master.gtid": "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5",
    "canal.instance.master.journal.name": "mysql-bin.000003",
  });
  assert.deepEqual(gtid.start, { kind: "mysql-gtid", gtidSet: "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5" });
  assert.match(gtid.warnings, /gtidon is true, so canal and Sluice start from canal.instance.master.gtid/);
  assert.deepEqual(
    start({ "canal.instance.gtidon": "true", "canal.instance.master.gtid": "0-1-100" }).start,
    { kind: "mariadb-gtid", state: "0-1-100" },
  );
  // A GTID while gtidon is false: canal ignores it.
  const ignored = start({ "canal.instance.master.gtid": "0-1-100" });
  assert.equal(ignored.start, undefined);
  assert.match(
    ignored.warnings,
    /canal.instance.master.gtid \(.*\): not used while canal.instance.gtidon is false/,
  );
});

test("bad values name the key and file:line", () => {
  const dir = confDir(
    CANAL_PROPERTIES.replace("canal.metrics.pull.port = 11112", "canal.metrics.pull.port = http"),
    {
      example: instance({
        "canal.instance.master.address": "127.0.0.1",
        "canal.instance.master.journal.name": "mysql-bin.000003",
        "canal.instance.master.position": "12ab",
        "canal.instance.filter.query.ddl": "maybe",
        "canal.instance.mysql.slaveId": "x1",
      }),
    },
  );
  const f = `${dir}/example/instance.properties`;
  assert.deepEqual(problems(["--canal-conf", dir]), [
    `canal.instance.master.address (${f}:4): must be host:port, e.g. 127.0.0.1:3306, got "127.0.0.1"`,
    `canal.instance.master.position (${f}:6): must be a whole number, got "12ab"`,
    `canal.instance.filter.query.ddl (${f}:18): must be true or false, got "maybe"`,
    `canal.instance.mysql.slaveId (${f}:2): must be a whole number, got "x1"`,
  ]);
  // Values checked after mapping (by the same rules as a config file's) name their key too.
  const later = confDir(
    CANAL_PROPERTIES.replace("canal.metrics.pull.port = 11112", "canal.metrics.pull.port = http"),
    {
      example: instance({
        "canal.instance.filter.regex": "db.(t",
        "canal.instance.mysql.slaveId": "-1",
        "canal.instance.master.timestamp": "1605775168",
      }),
    },
  );
  const g = `${later}/example/instance.properties`;
  assert.deepEqual(problems(["--canal-conf", later]), [
    `canal.instance.master.timestamp (${g}:7): must be epoch milliseconds (canal's unit), got 1605775168, which looks like seconds`,
  ]);
  const mapped = confDir(
    CANAL_PROPERTIES.replace("canal.metrics.pull.port = 11112", "canal.metrics.pull.port = http"),
    {
      example: instance({ "canal.instance.filter.regex": "db.(t", "canal.instance.mysql.slaveId": "-1" }),
    },
  );
  const h = `${mapped}/example/instance.properties`;
  assert.deepEqual(problems(["--canal-conf", mapped]), [
    `canal.metrics.pull.port (${mapped}/canal.properties:9): must be a port number from 0 to 65535 (0: any free port), got "http"`,
    `canal.instance.filter.regex (${h}:14): "db.(t" is not a valid regex: missing ")"`,
    `canal.instance.mysql.slaveId (${h}:2): must be an integer from 1 to 4294967295, got "-1"`,
  ]);
});

test("syntax errors, missing files and destinations, and what cannot be read are errors naming where", () => {
  const bad = confDir(`${CANAL_PROPERTIES}canal.instance.filter.field = \\u00zz\n`);
  assert.deepEqual(problems(["--canal-conf", bad]), [
    `--canal-conf: ${bad}/canal.properties:33: malformed \\uxxxx escape "\\u00zz": \\u takes four hex digits`,
  ]);
  const listed = confDir(
    CANAL_PROPERTIES.replace("canal.destinations = example", "canal.destinations = example,orders"),
  );
  assert.deepEqual(problems(["--canal-conf", listed]), [
    `canal.destinations (${listed}/canal.properties:24): names destination "orders", but ${listed}/orders/instance.properties does not exist`,
  ]);
  const admin = confDir(`${CANAL_PROPERTIES}canal.admin.manager = 127.0.0.1:8089\n`);
  assert.match(
    problems(["--canal-conf", admin])[0] as string,
    /^canal.admin.manager \(.*canal.properties:33\): canal takes its instances' settings from canal-admin then, and Sluice reads only files/,
  );
  const group = confDir(CANAL_PROPERTIES.replace("default-instance.xml", "group-instance.xml"));
  assert.match(
    problems(["--canal-conf", group])[0] as string,
    /group-instance.xml \(several sources merged into one destination\) is not supported/,
  );
  const tls = confDir(CANAL_PROPERTIES, {
    example: instance({ "canal.instance.master.sslMode": "VERIFY_CA" }),
  });
  assert.match(
    problems(["--canal-conf", tls])[0] as string,
    /^canal.instance.master.sslMode \(.*\): VERIFY_CA is not supported from canal's config/,
  );
  const noAddress = confDir(CANAL_PROPERTIES, {
    example: instance({ "canal.instance.master.address": undefined }),
  });
  assert.deepEqual(problems(["--canal-conf", noAddress]), [
    `canal.instance.master.address: destination example needs its source as host:port, e.g. 127.0.0.1:3306 (in ${noAddress}/example/instance.properties)`,
  ]);
  assert.deepEqual(problems(["--canal-conf", "nowhere"]), [
    `--canal-conf: cannot read "nowhere": no such directory (give canal's conf directory, the one holding canal.properties)`,
  ]);
  assert.deepEqual(problems(["--canal-conf", `${bad}/canal.properties`]), [
    `--canal-conf: "${bad}/canal.properties" is a file; give the directory that holds canal.properties ("${bad}")`,
  ]);
  assert.deepEqual(problems([], { SLUICE_CANAL_CONF: `${bad}/example` }), [
    `SLUICE_CANAL_CONF: "${bad}/example" holds no canal.properties; give canal's conf directory, the one holding canal.properties and a directory per destination`,
  ]);
});

test("a .properties file given to --config points at --canal-conf", () => {
  const dir = confDir(CANAL_PROPERTIES);
  const hint =
    "; to run canal's configuration, give canal's conf directory (the one holding canal.properties and " +
    "{destination}/instance.properties) with --canal-conf DIR (docs/canal.md)";
  assert.deepEqual(problems(["--config", `${dir}/canal.properties`]), [
    `--config: "${dir}/canal.properties" is a Java .properties file, not YAML or JSON${hint}`,
  ]);
  writeFileSync(join(root, dir, "canal.conf"), CANAL_PROPERTIES);
  assert.deepEqual(problems(["--config", `${dir}/canal.conf`]), [
    `--config: "${dir}/canal.conf" is a Java .properties file, not YAML or JSON${hint}`,
  ]);
  assert.deepEqual(problems(["--config", dir]), [`--config: cannot read "${dir}": is a directory${hint}`]);
  assert.ok(SERVER_HELP.includes("--canal-conf DIR"));
});

test("placeholders and environment variables named like keys, as canal resolves them", () => {
  const dir = confDir(CANAL_PROPERTIES, {
    example: instance({
      "canal.instance.master.address": "${DB_HOST:127.0.0.1}:${DB_PORT}",
      "canal.instance.filter.regex": "${canal.instance.destination}\\\\..*",
      "canal.instance.filter.black.regex": "${canal.instance.master.journal.name:none}",
      "canal.instance.filter.field": "${undefined.key:}",
    }),
  });
  const config = load(["--canal-conf", dir], {
    DB_PORT: "3310",
    "canal.instance.dbPassword": "from-env",
    "canal.zkServers": "zk9:2181",
  });
  const d = config.destinations[0];
  assert.equal(d?.source.host, "127.0.0.1");
  assert.equal(d?.source.port, 3310);
  assert.equal(d?.source.password, "from-env");
  assert.equal(d?.filter, "example\\..*");
  assert.equal(d?.blackFilter, "none", "a blank key takes the placeholder's default");
  assert.equal(d?.fieldFilter, "");
  assert.equal(config.zk?.connect, "zk9:2181");

  const unresolved = confDir(CANAL_PROPERTIES, {
    example: instance({ "canal.instance.master.address": "${DB_HOST}:3306" }),
  });
  assert.deepEqual(problems(["--canal-conf", unresolved]), [
    `canal.instance.master.address (${unresolved}/example/instance.properties:4): refers to \${DB_HOST}, which is set neither in the files nor in the environment`,
  ]);
  const circle = confDir(CANAL_PROPERTIES, {
    example: instance({ "canal.instance.filter.regex": "${a.b}", "a.b": "${canal.instance.filter.regex}" }),
  });
  assert.match(
    problems(["--canal-conf", circle])[0] as string,
    /^canal.instance.filter.regex \(.*instance.properties:14\): placeholders refer to each other in a circle: canal.instance.filter.regex -> a.b -> canal.instance.filter.regex$/,
  );
});

test("destinations: a comma list, canal.destinations.expr, and canal.auto.scan's directories", () => {
  const two = { a: INSTANCE_PROPERTIES, b: instance({ "canal.instance.mysql.slaveId": "2" }) };
  const list = confDir(
    CANAL_PROPERTIES.replace("canal.destinations = example", "canal.destinations =  a , ,b"),
    two,
  );
  assert.deepEqual(
    load(["--canal-conf", list]).destinations.map((d) => d.name),
    ["a", "b"],
  );
  const expr = confDir(`${CANAL_PROPERTIES}canal.destinations.expr = shard{1-3}\n`, {
    shard1: instance({ "canal.instance.mysql.slaveId": "11" }),
    shard2: instance({ "canal.instance.mysql.slaveId": "12" }),
    shard3: instance({ "canal.instance.mysql.slaveId": "13" }),
  });
  assert.deepEqual(
    load(["--canal-conf", expr]).destinations.map((d) => d.name),
    ["shard1", "shard2", "shard3"],
  );
  // auto.scan: every directory with an instance.properties runs (not "spring"), as canal's scan starts them.
  const scan = confDir(
    CANAL_PROPERTIES.replace("canal.auto.scan = false", "canal.auto.scan = true"),
    { example: INSTANCE_PROPERTIES, orders: instance({ "canal.instance.mysql.slaveId": "7" }) },
    { "spring/instance.properties": "x=1\n", "empty/README": "no instance here\n" },
  );
  const scanned = load(["--canal-conf", scan]);
  assert.deepEqual(
    scanned.destinations.map((d) => d.name),
    ["example", "orders"],
  );
  assert.ok(
    (scanned.warnings ?? []).some(
      (w) =>
        w.startsWith(
          `canal.auto.scan (${scan}/canal.properties:26): Sluice reads ${scan} once, at startup`,
        ) && w.endsWith("(found by the scan, not in canal.destinations: orders)"),
    ),
  );
  // Without auto.scan only the listed ones run.
  const noScan = confDir(CANAL_PROPERTIES, { example: INSTANCE_PROPERTIES, orders: INSTANCE_PROPERTIES });
  assert.deepEqual(
    load(["--canal-conf", noScan]).destinations.map((d) => d.name),
    ["example"],
  );
});

test("unsupported keys are listed, keys that change nothing are not, MQ keys depend on canal.serverMode", () => {
  const canal = `${CANAL_PROPERTIES}canal.instance.filter.dml.delete = true
canal.instance.detecting.enable = false
canal.instance.detecting.sql = select 1
canal.user = canal
canal.passwd = E3619321C1A937C46A0D8BD1DAC39F93B27D4458
`;
  const dir = confDir(canal, { example: instance({ "canal.instance.connectionCharset": "GBK" }) });
  const config = load(["--canal-conf", dir]);
  const warnings = config.warnings ?? [];
  const list = warnings.find((w) => w.includes("not supported")) as string;
  assert.match(list, /canal.instance.filter.dml.delete \(.*canal.properties:33\)/);
  assert.doesNotMatch(list, /detecting|filter.rows|kafka|canal.mq/);
  assert.doesNotMatch(list, /E3619321/, "values are never shown");
  // canal's user logs in over HTTP Basic (docs/security.md).
  assert.deepEqual(config.auth?.canal, { user: "canal", passwd: "E3619321C1A937C46A0D8BD1DAC39F93B27D4458" });
  assert.ok(!warnings.some((w) => w.startsWith("canal.user")));
  const bad = confDir(canal.replace("E3619321C1A937C46A0D8BD1DAC39F93B27D4458", "5B6F3C1"));
  assert.throws(
    () => load(["--canal-conf", bad]),
    (err: Error) =>
      /canal.passwd \(.*canal.properties:\d+\): must be canal's canal.passwd/.test(err.message) &&
      !err.message.includes("5B6F3C1"),
  );
  assert.ok(
    warnings.some((w) =>
      /^canal.instance.connectionCharset \(.*instance.properties:12\): canal decoded every text value as GBK/.test(
        w,
      ),
    ),
  );
  const kafka = confDir(CANAL_PROPERTIES.replace("canal.serverMode = tcp", "canal.serverMode = kafka"));
  const kw = load(["--canal-conf", kafka]).warnings ?? [];
  assert.ok(kw.some((w) => /^canal.serverMode \(.*:15\): Sluice sends nothing to kafka/.test(w)));
  assert.match(
    kw.find((w) => w.includes("settings are not supported")) as string,
    /kafka.bootstrap.servers \(.*:31\), canal.mq.flatMessage \(.*:32\), .*canal.mq.topic/,
  );
});

test("druid-encrypted passwords (canal.instance.enableDruid) are decrypted with canal.instance.pwdPublicKey", () => {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 512 });
  const spki = publicKey.export({ type: "spki", format: "der" }).toString("base64");
  const encrypted = privateEncrypt(
    { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
    Buffer.from("Druid-Pw-71f3"),
  ).toString("base64");
  const dir = confDir(CANAL_PROPERTIES, {
    example: instance({
      "canal.instance.enableDruid": "true",
      "canal.instance.pwdPublicKey": spki,
      "canal.instance.dbPassword": encrypted,
    }),
  });
  assert.equal(load(["--canal-conf", dir]).destinations[0]?.source.password, "Druid-Pw-71f3");

  const other = generateKeyPairSync("rsa", { modulusLength: 512 }).publicKey;
  const wrong = confDir(CANAL_PROPERTIES, {
    example: instance({
      "canal.instance.enableDruid": "true",
      "canal.instance.pwdPublicKey": other.export({ type: "spki", format: "der" }).toString("base64"),
      "canal.instance.dbPassword": encrypted,
    }),
  });
  const [problem] = problems(["--canal-conf", wrong]);
  assert.match(
    problem as string,
    /^canal.instance.dbPassword \(.*instance.properties:11\): cannot be decrypted with canal.instance.pwdPublicKey/,
  );
  assert.ok(!(problem as string).includes(encrypted) && !(problem as string).includes("Druid-Pw"));
  const noKey = confDir(CANAL_PROPERTIES, { example: instance({ "canal.instance.enableDruid": "true" }) });
  assert.match(
    problems(["--canal-conf", noKey])[0] as string,
    /^canal.instance.enableDruid: destination example has an encrypted password: it needs/,
  );
});

test("the password never shows: not in errors (even where a value quotes it), not in warnings", () => {
  const secret = "Zq-93-secret";
  const dir = confDir(CANAL_PROPERTIES, {
    example: instance({ "canal.instance.dbPassword": secret, "canal.instance.filter.regex": `(${secret}` }),
  });
  const all = problems(["--canal-conf", dir]).join("\n");
  assert.match(all, /canal.instance.filter.regex/);
  assert.ok(!all.includes(secret), all);
  const ok = confDir(CANAL_PROPERTIES, { example: instance({ "canal.instance.dbPassword": secret }) });
  const config = load(["--canal-conf", ok]);
  assert.ok(
    !JSON.stringify([config.warnings, config.notes, config.destinations[0]?.redactedSourceUrl]).includes(
      secret,
    ),
  );
});

test("an instance.properties every local user can read, holding the password, is warned about", () => {
  const dir = confDir(CANAL_PROPERTIES);
  const file = join(root, dir, "example", "instance.properties");
  assert.ok(!(load(["--canal-conf", dir]).warnings ?? []).some((w) => w.includes("chmod")));
  chmodSync(file, 0o644);
  assert.ok(
    (load(["--canal-conf", dir]).warnings ?? []).includes(
      `${dir}/example/instance.properties holds canal.instance.dbPassword and every local user can read it: chmod 600 it (docs/security.md)`,
    ),
  );
});

test("meta.dat: imported with file-instance.xml (canal.file.data.dir), not with default-instance.xml", () => {
  const meta = '{"clientDatas":[],"destination":"example"}';
  const fileMode = confDir(
    CANAL_PROPERTIES.replace("default-instance.xml", "file-instance.xml"),
    { example: INSTANCE_PROPERTIES },
    { "example/meta.dat": meta },
  );
  assert.equal(
    load(["--canal-conf", fileMode]).destinations[0]?.canalMetaFile,
    join(root, fileMode, "example", "meta.dat"),
  );
  // Another data dir, relative to canal's bin directory as canal resolves it.
  const dataDir = confDir(
    CANAL_PROPERTIES.replace("default-instance.xml", "file-instance.xml").replace(
      "canal.file.data.dir = ${canal.conf.dir}",
      "canal.file.data.dir = ../data",
    ),
  );
  mkdirSync(join(root, dataDir, "..", "data", "example"), { recursive: true });
  writeFileSync(join(root, dataDir, "..", "data", "example", "meta.dat"), meta);
  assert.equal(
    load(["--canal-conf", dataDir]).destinations[0]?.canalMetaFile,
    join(root, dataDir, "..", "data", "example", "meta.dat"),
  );
  // No meta.dat yet: nothing to import.
  const none = confDir(CANAL_PROPERTIES.replace("default-instance.xml", "file-instance.xml"));
  assert.equal(load(["--canal-conf", none]).destinations[0]?.canalMetaFile, undefined);
  // ZooKeeper mode: the cursors are in ZooKeeper; a meta.dat left over is older than them.
  const zkMode = confDir(CANAL_PROPERTIES, { example: INSTANCE_PROPERTIES }, { "example/meta.dat": meta });
  const config = load(["--canal-conf", zkMode]);
  assert.equal(config.destinations[0]?.canalMetaFile, undefined);
  assert.ok(
    (config.warnings ?? []).some((w) =>
      w.includes("is not imported: canal ran this destination with default-instance.xml"),
    ),
  );
});

test("--config goes over canal's settings, the environment and flags over both", () => {
  const dir = confDir(
    CANAL_PROPERTIES.replace("canal.destinations = example", "canal.destinations = example,orders"),
    {
      example: INSTANCE_PROPERTIES,
      orders: instance({
        "canal.instance.mysql.slaveId": "777",
        "canal.instance.master.address": "127.0.0.1:3307",
      }),
    },
  );
  writeFileSync(join(root, dir, "..", "db.pw"), "file-pw\n");
  writeFileSync(join(root, dir, "..", "zk.pw"), "zk-pw\n");
  writeFileSync(
    join(root, dir, "..", "sluice.yaml"),
    [
      "store: { maxBytes: 256MiB }",
      `zk: { user: sluice, passwordFile: ${join(root, dir, "..", "zk.pw")}, sessionTimeout: 6s }`,
      "destinations:",
      "  - name: orders",
      "    filter: orders\\..*",
      `    passwordFile: ${join(root, dir, "..", "db.pw")}`,
      "    heartbeat: 1s",
      "  - name: extra",
      "    source: mysql://x@db9:3306",
      "",
    ].join("\n"),
  );
  const yaml = join(dir, "..", "sluice.yaml");
  const config = load(["--canal-conf", dir, "--config", yaml, "--port", "12000", "--zk", "zk7:2181"], {
    SLUICE_METRICS_PORT: "9999",
  });
  assert.equal(config.port, 12000);
  assert.equal(config.metrics.port, 9999, "the environment over canal.metrics.pull.port");
  assert.equal(config.zk?.connect, "zk7:2181", "--zk over canal.zkServers");
  assert.equal(config.zk?.sessionTimeoutMs, 6000);
  assert.deepEqual(config.zk?.credentials, { user: "sluice", password: "zk-pw" });
  assert.equal(config.store.maxBytes, 256 * 2 ** 20);
  assert.equal(config.host, "127.0.0.1", "canal.ip where the file says nothing");
  const [example, orders, extra] = config.destinations;
  assert.equal(example?.source.password, "canal");
  assert.equal(orders?.filter, "orders\\..*", "the file over canal.instance.filter.regex");
  assert.equal(orders?.source.password, "file-pw", "the file's passwordFile over canal.instance.dbPassword");
  assert.equal(orders?.source.port, 3307);
  assert.equal(orders?.serverId, 777);
  assert.equal(orders?.heartbeatMs, 1000);
  assert.equal(extra?.source.host, "db9");

  // SLUICE_SOURCE_PASSWORD and --filter set the destination --destination names.
  const flagged = load(["--canal-conf", dir, "--destination", "example", "--filter", "flag\\..*"], {
    SLUICE_SOURCE_PASSWORD: "env-pw",
  });
  assert.equal(flagged.destinations[0]?.source.password, "env-pw");
  assert.equal(flagged.destinations[0]?.filter, "flag\\..*");
  assert.equal(flagged.destinations[1]?.source.password, "canal");

  // Errors point where the value came from: the file's keys into the file, canal's into canal's.
  writeFileSync(
    join(root, dir, "..", "bad.yaml"),
    [
      "destinations:",
      "  - name: extra",
      "    source: mysql://x@db9:3306",
      "    heartbeat: often",
      "  - name: orders",
      "    blackFilter: 'a.(b'",
      "",
    ].join("\n"),
  );
  const bad = problems(["--canal-conf", dir, "--config", join(dir, "..", "bad.yaml")]);
  assert.deepEqual(bad, [
    `destinations[1].blackFilter: "a.(b" is not a valid regex: missing ")" (at ${join(dir, "..", "bad.yaml")}:6:5)`,
    `destinations[2].heartbeat: must be a number of milliseconds or a duration like "5s", "500ms" or "1m30s", got "often" (at ${join(dir, "..", "bad.yaml")}:4:5)`,
  ]);
});
