import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import {
  ConfigError,
  DEFAULTS,
  describeConfig,
  loadServerConfig,
  OPTIONS,
  SERVER_HELP,
  type ServerConfig,
  wantsHelp,
} from "../../../src/server/config/index.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-config-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes a file under the test's working directory; returns its name relative to it. */
function writeConfig(name: string, text: string): string {
  const rel = join(String(++fileCount), name);
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
  return rel;
}

interface Input {
  yaml?: string;
  json?: string;
  /** File name for yaml/json (default sluice.yaml / sluice.json). */
  name?: string;
  argv?: string[];
  env?: Record<string, string>;
}

function load(input: Input): ServerConfig {
  const argv = [...(input.argv ?? [])];
  if (input.yaml !== undefined)
    argv.unshift("--config", writeConfig(input.name ?? "sluice.yaml", input.yaml));
  if (input.json !== undefined)
    argv.unshift("--config", writeConfig(input.name ?? "sluice.json", input.json));
  return loadServerConfig({ argv, env: input.env ?? {}, cwd: dir, localAddress: "10.9.8.7" });
}

function problemsOf(input: Input): string[] {
  try {
    load(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    assert.ok(err.message.includes(err.problems[0] as string));
    return [...err.problems];
  }
  assert.fail("expected a ConfigError");
}

const SOURCE = "mysql://repl:pw@db.local:3307";

const destinationDefaults = {
  filter: "",
  blackFilter: "",
  fieldFilter: "",
  fieldBlackFilter: "",
  filterQueryDdl: false,
  filterTableError: false,
  heartbeatMs: 5000,
  schemaLookup: "auto",
} as const;

test("defaults: a source flag is enough", () => {
  const config = load({ argv: ["--source", SOURCE] });
  assert.deepEqual(config, {
    host: "127.0.0.1",
    port: 11113,
    advertise: "127.0.0.1:11113",
    advertiseConfigured: false,
    dataDir: join(dir, ".sluice"),
    maxRequest: 4 * 2 ** 20,
    metrics: { enabled: true, host: "127.0.0.1", port: 9464 },
    store: { maxEntries: 16384, maxBytes: 64 * 2 ** 20, catchUpReaders: 4 },
    stream: { window: 4, maxBatchSize: 10_000 },
    limits: { streams: 100, calls: 100, rate: 10_000, burst: 20_000 },
    destinations: [
      {
        name: "example",
        source: { host: "db.local", port: 3307, user: "repl", password: "pw", ssl: "off", caFile: undefined },
        redactedSourceUrl: "mysql://repl:***@db.local:3307",
        ...destinationDefaults,
      },
    ],
    warnings: [
      "--source: the URL holds a password, which every local user can read in the process's arguments " +
        "(ps, /proc); give the URL without it and the password in SLUICE_SOURCE_PASSWORD or " +
        "--source-password-file FILE (docs/security.md)",
    ],
  });
  assert.equal(config.zk, undefined, "standalone without zk");
});

const FULL_YAML = `
host: 127.0.0.1
port: 12000
advertise: 10.0.0.5:12000
dataDir: /var/lib/sluice
maxRequest: 1MiB
zk:
  connect: zk1:2181,zk2:2181/sluice
  root: /canal/prod
  sessionTimeout: 15s
  regrabDelay: 500ms
metrics:
  enabled: true
  host: 0.0.0.0
  port: 9465
store:
  maxEntries: 4096
  maxBytes: 256MiB
  catchUpReaders: 2
stream:
  window: 8
  maxBatchSize: 5000
security:
  limits:
    streams: 10
    calls: 20
    rate: 300
    burst: 400
destinations:
  - name: orders
    source: mysql://repl:s%40fe@db1:3306?ssl=verify-ca&ca=/etc/ca.pem
    start: { file: mysql-bin.000003, position: 1234 }
    filter: [shop\\.orders, shop\\.order_items]
    blackFilter: shop\\.tmp_.*
    fieldFilter: "shop.orders:id/status"
    fieldBlackFilter: "shop.order_items:note"
    filterQueryDdl: true
    filterTableError: true
    serverId: 4242
    heartbeat: 2s
    timeZone: "+08:00"
    schemaLookup: never
  - name: billing.v2
    source: mariadb://canal@db2
    start: { gtid: "0-1-100, 1-2-7" }
    timeZone: Asia/Shanghai
`;

const FULL_EXPECTED: ServerConfig = {
  host: "127.0.0.1",
  port: 12000,
  advertise: "10.0.0.5:12000",
  advertiseConfigured: true,
  dataDir: "/var/lib/sluice",
  maxRequest: 2 ** 20,
  zk: {
    connect: "zk1:2181,zk2:2181/sluice",
    root: "/canal/prod",
    sessionTimeoutMs: 15_000,
    regrabDelayMs: 500,
    balance: true,
  },
  metrics: { enabled: true, host: "0.0.0.0", port: 9465 },
  store: { maxEntries: 4096, maxBytes: 256 * 2 ** 20, catchUpReaders: 2 },
  stream: { window: 8, maxBatchSize: 5000 },
  limits: { streams: 10, calls: 20, rate: 300, burst: 400 },
  destinations: [
    {
      name: "orders",
      source: {
        host: "db1",
        port: 3306,
        user: "repl",
        password: "s@fe",
        ssl: "verify-ca",
        caFile: "/etc/ca.pem",
      },
      redactedSourceUrl: "mysql://repl:***@db1:3306?ssl=verify-ca&ca=/etc/ca.pem",
      start: { kind: "file", file: "mysql-bin.000003", position: 1234 },
      filter: "shop\\.orders,shop\\.order_items",
      blackFilter: "shop\\.tmp_.*",
      fieldFilter: "shop.orders:id/status",
      fieldBlackFilter: "shop.order_items:note",
      filterQueryDdl: true,
      filterTableError: true,
      serverId: 4242,
      heartbeatMs: 2000,
      timeZone: "+08:00",
      schemaLookup: "never",
    },
    {
      name: "billing.v2",
      source: { host: "db2", port: 3306, user: "canal", password: "", ssl: "off", caFile: undefined },
      redactedSourceUrl: "mariadb://canal@db2:3306",
      start: { kind: "mariadb-gtid", state: "0-1-100,1-2-7" },
      ...destinationDefaults,
      timeZone: "Asia/Shanghai",
    },
  ],
};

test("a YAML file sets every key", () => {
  const config = load({ yaml: FULL_YAML });
  assert.ok(config.configFile?.endsWith("sluice.yaml"));
  const { configFile: _, ...rest } = config;
  assert.deepEqual(rest, FULL_EXPECTED);
});

test("a JSON file sets every key the same way", () => {
  const json = JSON.stringify({
    host: "127.0.0.1",
    port: 12000,
    advertise: "10.0.0.5",
    dataDir: "/var/lib/sluice",
    maxRequest: "1MiB",
    zk: {
      connect: "zk1:2181,zk2:2181/sluice",
      root: "/canal/prod",
      sessionTimeout: 15000,
      regrabDelay: "500ms",
    },
    metrics: { host: "0.0.0.0", port: 9465 },
    store: { maxEntries: 4096, maxBytes: 268435456, catchUpReaders: 2 },
    stream: { window: 8, maxBatchSize: 5000 },
    security: { limits: { streams: 10, calls: 20, rate: 300, burst: 400 } },
    destinations: [
      {
        name: "orders",
        source: "mysql://repl:s%40fe@db1:3306?ssl=verify-ca&ca=/etc/ca.pem",
        start: { file: "mysql-bin.000003", position: 1234 },
        filter: "shop\\.orders,shop\\.order_items",
        blackFilter: "shop\\.tmp_.*",
        fieldFilter: "shop.orders:id/status",
        fieldBlackFilter: ["shop.order_items:note"],
        filterQueryDdl: true,
        filterTableError: true,
        serverId: 4242,
        heartbeat: 2000,
        timeZone: "+08:00",
        schemaLookup: "never",
      },
      {
        name: "billing.v2",
        source: "mariadb://canal@db2",
        start: { gtid: "0-1-100,1-2-7" },
        timeZone: "Asia/Shanghai",
      },
    ],
  });
  const { configFile, ...rest } = load({ json });
  assert.ok(configFile?.endsWith("sluice.json"));
  assert.deepEqual(rest, FULL_EXPECTED);
});

test("the format is told by the extension, else by the content", () => {
  const json = `{"destinations": [{"name": "a", "source": "${SOURCE}"}]}`;
  const yaml = `destinations:\n  - name: a\n    source: ${SOURCE}\n`;
  const flowYaml = `{destinations: [{name: a, source: "${SOURCE}"}]}`;
  for (const [name, text] of [
    ["sluice.conf", json],
    ["sluice.conf", yaml],
    ["sluice", flowYaml],
    ["sluice.yml", json],
    ["SLUICE.YAML", yaml],
  ] as const) {
    assert.equal(load({ name, yaml: text }).destinations[0]?.name, "a", name);
  }
});

test("an empty file, null sections and YAML merge keys are fine", () => {
  assert.equal(load({ yaml: "", argv: ["--source", SOURCE] }).port, 11113);
  const config = load({
    yaml: "zk:\nmetrics:\nstore:\n  maxBytes:\n",
    argv: ["--source", SOURCE],
  });
  assert.equal(config.zk, undefined);
  assert.equal(config.store.maxBytes, DEFAULTS.store.maxBytes);
  const merged = load({
    yaml: `destinations:
  - &common
    name: a
    source: ${SOURCE}
    filter: shop\\..*
    heartbeat: 1s
  - <<: *common
    name: b
    source: mysql://repl:pw@db2
`,
  });
  assert.deepEqual(
    merged.destinations.map((d) => [d.name, d.source.host, d.filter, d.heartbeatMs]),
    [
      ["a", "db.local", "shop\\..*", 1000],
      ["b", "db2", "shop\\..*", 1000],
    ],
  );
});

test("the examples in docs/configuration.md load, and the first shows the defaults", () => {
  const doc = readFileSync(new URL("../../../../docs/configuration.md", import.meta.url), "utf8");
  const blocks = [...doc.matchAll(/```(yaml|json)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[1] as string,
    text: m[2] as string,
  }));
  assert.ok(blocks.length >= 2);
  blocks.forEach((b, i) => {
    const config = b.lang === "json" ? load({ json: b.text }) : load({ yaml: b.text });
    if (i > 0) return;
    const { configFile: _, ...rest } = config;
    const { warnings: __, ...defaults } = load({ argv: ["--source", "mysql://canal:canal@127.0.0.1:3306"] });
    assert.deepEqual(rest, defaults);
  });
});

test("advertise: derived from host and port, or given with or without port", () => {
  const cases: [string[], string, boolean][] = [
    [[], "127.0.0.1:11113", false],
    [["--host", "0.0.0.0"], "10.9.8.7:11113", false],
    [["--host", "127.0.0.1"], "127.0.0.1:11113", false],
    [["--host", "127.0.0.1", "--port", "0"], "127.0.0.1:0", false],
    [["--host", "::1", "--port", "5000"], "[::1]:5000", false],
    [["--host", "::", "--port", "5000"], "10.9.8.7:5000", false],
    [["--advertise", "10.0.0.5", "--port", "5000"], "10.0.0.5:5000", true],
    [["--advertise", "10.0.0.5:6000"], "10.0.0.5:6000", true],
    [["--advertise", "[fe80::1]:6000"], "[fe80::1]:6000", true],
    [["--advertise", "sluice-0.sluice.svc"], "sluice-0.sluice.svc:11113", true],
  ];
  for (const [argv, advertise, configured] of cases) {
    const config = load({ argv: ["--source", SOURCE, ...argv] });
    assert.equal(config.advertise, advertise, argv.join(" "));
    assert.equal(config.advertiseConfigured, configured);
  }
});

// [flag, environment variable, file text (with VALUE), file value, env value, flag value, read back]
type PrecedenceCase = [string, string, string, string, string, string, (c: ServerConfig) => unknown];

const precedence: PrecedenceCase[] = [
  ["--host", "SLUICE_HOST", "host: VALUE", "10.0.0.1", "10.0.0.2", "10.0.0.3", (c) => c.host],
  ["--port", "SLUICE_PORT", "port: VALUE", "1001", "1002", "1003", (c) => String(c.port)],
  ["--advertise", "SLUICE_ADVERTISE", "advertise: VALUE", "h1:1", "h2:2", "h3:3", (c) => c.advertise],
  ["--data-dir", "SLUICE_DATA_DIR", "dataDir: VALUE", "/d1", "/d2", "/d3", (c) => c.dataDir],
  [
    "--max-request",
    "SLUICE_MAX_REQUEST",
    "maxRequest: VALUE",
    "1KiB",
    "2KiB",
    "3KiB",
    (c) => `${c.maxRequest / 1024}KiB`,
  ],
  ["--zk", "SLUICE_ZK", "zk: { connect: VALUE }", "z1:2181", "z2:2181", "z3:2181", (c) => c.zk?.connect],
  [
    "--zk-root",
    "SLUICE_ZK_ROOT",
    "zk: { connect: z:1, root: VALUE }",
    "/r1",
    "/r2",
    "/r3",
    (c) => c.zk?.root,
  ],
  [
    "--metrics-port",
    "SLUICE_METRICS_PORT",
    "metrics: { port: VALUE }",
    "2001",
    "2002",
    "2003",
    (c) => String(c.metrics.port),
  ],
  [
    "--source",
    "SLUICE_SOURCE",
    "destinations: [{ name: d, source: VALUE }]",
    "mysql://u@h1",
    "mysql://u@h2",
    "mysql://u@h3",
    (c) => `mysql://u@${c.destinations[0]?.source.host}`,
  ],
  [
    "--filter",
    "SLUICE_FILTER",
    "destinations: [{ name: d, source: 'mysql://u@h', filter: VALUE }]",
    "a\\..*",
    "b\\..*",
    "c\\..*",
    (c) => c.destinations[0]?.filter,
  ],
];

for (const [flag, env, fileText, fileValue, envValue, flagValue, read] of precedence) {
  test(`precedence of ${flag}: file < ${env} < flag`, () => {
    let yaml = fileText.replace("VALUE", fileValue);
    if (!yaml.includes("destinations")) yaml += `\ndestinations: [{ name: d, source: "${SOURCE}" }]`;
    assert.equal(read(load({ yaml })), fileValue);
    assert.equal(read(load({ yaml, env: { [env]: envValue } })), envValue);
    assert.equal(read(load({ yaml, env: { [env]: envValue }, argv: [flag, flagValue] })), flagValue);
    assert.equal(read(load({ yaml, env: { [env]: envValue }, argv: [`${flag}=${flagValue}`] })), flagValue);
    assert.equal(read(load({ yaml, env: { [env]: "" } })), fileValue, "an empty variable is unset");
  });
}

test("the config file comes from --config, else SLUICE_CONFIG, else the file option", () => {
  const a = writeConfig("a.yaml", "port: 1\ndestinations: [{ name: a, source: 'mysql://u@h' }]");
  const b = writeConfig("b.yaml", "port: 2\ndestinations: [{ name: b, source: 'mysql://u@h' }]");
  const c = writeConfig("c.yaml", "port: 3\ndestinations: [{ name: c, source: 'mysql://u@h' }]");
  const port = (argv: string[], env: Record<string, string>) =>
    loadServerConfig({ argv, env, file: c, cwd: dir }).port;
  assert.equal(port([], {}), 3);
  assert.equal(port([], { SLUICE_CONFIG: b }), 2);
  assert.equal(port(["--config", a], { SLUICE_CONFIG: b }), 1);
});

test("--source and --destination define or override one destination", () => {
  const two = `destinations:\n  - name: a\n    source: mysql://u@ha\n  - name: b\n    source: mysql://u@hb\n`;
  const one = `destinations:\n  - name: a\n    source: mysql://u@ha\n    filter: x\\..*\n`;
  const show = (c: ServerConfig) =>
    c.destinations.map((d) => `${d.name}@${d.source.host}${d.filter && `/${d.filter}`}`);
  const cases: [Input, string[]][] = [
    [{ argv: ["--source", "mysql://u@h"] }, ["example@h"]],
    [{ argv: ["--source", "mysql://u@h", "--destination", "orders"] }, ["orders@h"]],
    [{ env: { SLUICE_SOURCE: "mysql://u@h", SLUICE_DESTINATION: "orders" } }, ["orders@h"]],
    [{ env: { SLUICE_DESTINATION: "orders" }, argv: ["--source", "mysql://u@h"] }, ["orders@h"]],
    [{ env: { SLUICE_DESTINATION: "a" }, argv: ["--destination", "b"], yaml: two }, ["a@ha", "b@hb"]],
    [{ yaml: one, argv: ["--source", "mysql://u@new"] }, ["a@new/x\\..*"]],
    [{ yaml: one, argv: ["--filter", "y\\..*"] }, ["a@ha/y\\..*"]],
    [{ yaml: two, argv: ["--destination", "b", "--source", "mysql://u@new"] }, ["a@ha", "b@new"]],
    [{ yaml: two, argv: ["--destination", "c", "--source", "mysql://u@hc"] }, ["a@ha", "b@hb", "c@hc"]],
    [{ yaml: two, argv: ["--destination", "a", "--filter", "f\\..*"] }, ["a@ha/f\\..*", "b@hb"]],
    [{ yaml: two, argv: ["--destination", "a"] }, ["a@ha", "b@hb"]],
  ];
  for (const [input, expected] of cases) assert.deepEqual(show(load(input)), expected, JSON.stringify(input));
});

test("flag and variable values are parsed as text", () => {
  const c = load({
    argv: [
      "--source",
      SOURCE,
      "--port",
      " 0 ",
      "--metrics-port",
      "0",
      "--zk",
      " zk:2181 ",
      "--zk-root",
      "/x",
    ],
  });
  assert.equal(c.port, 0);
  assert.equal(c.metrics.port, 0);
  assert.deepEqual(c.zk, {
    connect: "zk:2181",
    root: "/x",
    sessionTimeoutMs: 10_000,
    regrabDelayMs: 1000,
    balance: true,
  });
  for (const off of ["off", "OFF", "none", "false", "disabled"]) {
    assert.equal(load({ argv: ["--source", SOURCE, "--metrics-port", off] }).metrics.enabled, false, off);
  }
  const enabled = load({
    yaml: "metrics: { enabled: false }",
    argv: ["--source", SOURCE, "--metrics-port", "9999"],
  });
  assert.deepEqual([enabled.metrics.enabled, enabled.metrics.port], [true, 9999]);
  assert.equal(
    load({ yaml: "metrics: { enabled: false }", argv: ["--source", SOURCE] }).metrics.enabled,
    false,
  );
  assert.equal(load({ argv: ["--source", SOURCE, "--help"] }).port, 11113, "--help is left to the CLI");
});

test("per-client limits: file, environment and flags (flags win), burst twice the rate unless given", () => {
  const file = "security:\n  limits: { streams: 5, calls: 6, rate: 70 }\n";
  assert.deepEqual(load({ yaml: file, argv: ["--source", SOURCE] }).limits, {
    streams: 5,
    calls: 6,
    rate: 70,
    burst: 140,
  });
  const c = load({
    yaml: file,
    env: { SLUICE_LIMIT_STREAMS: "7", SLUICE_LIMIT_BURST: "9" },
    argv: ["--source", SOURCE, "--limit-streams", "8", "--limit-calls", " 11 "],
  });
  assert.deepEqual(c.limits, { streams: 8, calls: 11, rate: 70, burst: 9 });
  assert.deepEqual(
    load({ argv: ["--source", SOURCE, "--zk", "127.0.0.1:1"] }).limits,
    { streams: 1000, calls: 1000, rate: 100_000, burst: 200_000 },
    "an elected server's defaults: ten gateways' worth",
  );
  const problems = problemsOf({
    yaml: "security:\n  limits: { streams: 0, rate: -1, burst: 1.5, calls: lots, bursts: 3 }\n",
    argv: ["--source", SOURCE, "--limit-calls", "x"],
  }).join("\n");
  for (const p of [
    /^security\.limits\.streams: must be a positive integer, got 0/m,
    /^security\.limits\.rate: must be a positive integer, got -1/m,
    /^security\.limits\.burst: must be a positive integer, got 1\.5/m,
    /^--limit-calls: must be a positive integer, got "x"/m,
    /^security\.limits\.bursts: unknown key \(did you mean "burst"\?\)/m,
  ]) {
    assert.match(problems, p);
  }
  const unknown = problemsOf({ yaml: "security: { limit: {} }\n", argv: ["--source", SOURCE] });
  assert.match(unknown.join("\n"), /security\.limit: unknown key/);
  const notMap = problemsOf({ yaml: "security: 3\n", argv: ["--source", SOURCE] });
  assert.match(notMap.join("\n"), /security: must be a map/);
});

test("start positions", () => {
  const cases: [string, unknown][] = [
    ["{ file: mysql-bin.000003, position: 4 }", { kind: "file", file: "mysql-bin.000003", position: 4 }],
    ["{ file: mariadb-bin.000012 }", { kind: "file", file: "mariadb-bin.000012", position: 4 }],
    [
      '{ gtid: "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7, 3e11fa47-71ca-11e1-9e33-c80aa9429563:1" }',
      {
        kind: "mysql-gtid",
        gtidSet: "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7,3e11fa47-71ca-11e1-9e33-c80aa9429563:1",
      },
    ],
    ["{ gtid: 0-1-100 }", { kind: "mariadb-gtid", state: "0-1-100" }],
    ['{ gtid: "0-1-100,1-2-3" }', { kind: "mariadb-gtid", state: "0-1-100,1-2-3" }],
    ["{ timestamp: 2024-06-01T00:00:00Z }", { kind: "timestamp", ms: Date.UTC(2024, 5, 1) }],
    ['{ timestamp: "2024-06-01T08:00:00+08:00" }', { kind: "timestamp", ms: Date.UTC(2024, 5, 1) }],
    ['{ timestamp: "2024-06-01 00:00:00.250Z" }', { kind: "timestamp", ms: Date.UTC(2024, 5, 1) + 250 }],
    ["{ timestamp: 1717200000000 }", { kind: "timestamp", ms: 1717200000000 }],
  ];
  for (const [start, expected] of cases) {
    const c = load({ yaml: `destinations: [{ name: d, source: "${SOURCE}", start: ${start} }]` });
    assert.deepEqual(c.destinations[0]?.start, expected, start);
  }
  assert.equal(load({ argv: ["--source", SOURCE] }).destinations[0]?.start, undefined, "default: the head");
});

// Each case: the input and problems expected, exactly or by pattern; the count is exact.
interface ErrorCase {
  name: string;
  input: Input;
  expect: (string | RegExp)[];
}

const D = `destinations: [{ name: d, source: "${SOURCE}" }]`;
/** A file with one destination whose extra keys are `keys`, at line 3. */
const dest = (keys: string) => `port: 1\ndestinations:\n  - { name: d, source: "${SOURCE}", ${keys} }\n`;

const errorCases: ErrorCase[] = [
  {
    name: "unknown top-level key, with a suggestion",
    input: { yaml: `prot: 1\n${D}` },
    expect: [/^prot: unknown key \(did you mean "port"\?\) \(at \d+\/sluice\.yaml:1:1\)$/],
  },
  {
    name: "unknown nested key, with the keys allowed",
    input: { yaml: `store:\n  size: 5\n${D}` },
    expect: [
      /^store\.size: unknown key; store takes maxEntries, maxBytes, catchUpReaders \(at \d+\/sluice\.yaml:2:3\)$/,
    ],
  },
  {
    name: "snake_case and Ms-suffixed keys are suggested their names",
    input: { yaml: `store: { max_bytes: 5 }\nzk: { connect: "z:1", sessionTimeoutMs: 100 }\n${D}` },
    expect: [
      /^store\.max_bytes: unknown key \(did you mean "maxBytes"\?\)/,
      /^zk\.sessionTimeoutMs: unknown key \(did you mean "sessionTimeout"\?\)/,
    ],
  },
  {
    name: "destination key at the top level",
    input: { yaml: `source: ${SOURCE}\n${D}` },
    expect: [/^source: unknown key at the top level; source is a setting of each destination/],
  },
  {
    name: "unknown destination key",
    input: { yaml: dest("filters: x") },
    expect: [
      /^destinations\[0\]\.filters: unknown key \(did you mean "filter"\?\) \(at \d+\/sluice\.yaml:3:\d+\)$/,
    ],
  },
  {
    name: "wrong types",
    input: {
      yaml: `port: "11113"\nhost: 5\nzk: z1:2181\nmetrics: { enabled: "yes" }\nstream: { window: 2.5, maxBatchSize: 0 }\nstore: { maxEntries: -1 }\ndestinations: { d: 1 }\n`,
    },
    expect: [
      /^port: must be a port number from 0 to 65535 \(0: any free port\), got "11113" \(at \d+\/sluice\.yaml:1:1\)$/,
      /^host: must be a listen address such as 0\.0\.0\.0 or 127\.0\.0\.1, got 5 /,
      /^zk: must be a map \(connect, root, sessionTimeout, regrabDelay, balance, user, passwordFile\), got "z1:2181"/,
      /^metrics\.enabled: must be true or false, got "yes"/,
      /^stream\.window: must be a positive integer, got 2\.5/,
      /^stream\.maxBatchSize: must be a positive integer, got 0/,
      /^store\.maxEntries: must be a positive integer, got -1/,
      /^destinations: must be a list of destinations \("- name: example" items\), got a map/,
    ],
  },
  {
    name: "the root is not a map",
    input: { yaml: "- a\n- b\n" },
    expect: [/^\d+\/sluice\.yaml: must be a map \(settings such as port, zk, destinations\), got a list/],
  },
  {
    name: "bad sizes and durations",
    input: {
      yaml: `store: { maxBytes: lots }\nzk: { connect: "z:1", sessionTimeout: soon, regrabDelay: -1 }\n${dest("heartbeat: 5d")}`,
    },
    expect: [
      /^store\.maxBytes: must be a whole number of bytes or a size like "256MB" or "1GiB", got "lots" \(at \d+\/sluice\.yaml:1:10\)$/,
      /^zk\.sessionTimeout: must be a number of milliseconds or a duration like "5s", "500ms" or "1m30s", got "soon"/,
      /^zk\.regrabDelay: must be at least 0ms, got -1/,
      /^destinations\[0\]\.heartbeat: must be a number .*got "5d"/,
    ],
  },
  {
    name: "zero sizes and durations where positive ones are needed",
    input: { yaml: `store: { maxBytes: 0 }\nzk: { connect: "z:1", sessionTimeout: 0 }\n${D}` },
    expect: [
      /^store\.maxBytes: must be at least 1 byte, got 0/,
      /^zk\.sessionTimeout: must be at least 1ms, got 0/,
    ],
  },
  {
    name: "bad source URLs name the destination",
    input: {
      yaml: `destinations:\n  - { name: a, source: "postgres://u:pw@h" }\n  - { name: b, source: "mysql://h:1" }\n  - { name: c, source: "mysql://u@h?ssl=maybe" }\n  - { name: e, source: 3306 }\n  - { name: f }\n`,
    },
    expect: [
      /^destinations\[0\]\.source: scheme must be mysql:\/\/ or mariadb:\/\/, got "postgres:\/\/" \(at \d+\/sluice\.yaml:2:\d+\)$/,
      /^destinations\[1\]\.source: the URL names no user/,
      /^destinations\[2\]\.source: ssl must be one of off, required, verify-ca, verify-identity, got "maybe"/,
      /^destinations\[3\]\.source: must be a URL string mysql:\/\/user:password@host:port, got 3306/,
      /^destinations\[4\]\.source: is required: mysql:\/\/user:password@host:port \(at \d+\/sluice\.yaml:6:5\)$/,
    ],
  },
  {
    name: "a bad --source names the flag",
    input: { argv: ["--source", "mysql//u:pw@h"] },
    expect: [/^--source: "mysql\/\/u:\*\*\*@h" is not a URL; expected mysql:\/\/user:password@host:port$/],
  },
  {
    name: "bad filters name the destination and the filter",
    input: {
      yaml: `${D.replace("}]", "}")},\n  { name: e, source: "${SOURCE}", filter: "db.(t", blackFilter: "*x", fieldFilter: "db.t", fieldBlackFilter: 5 }]\n`,
    },
    expect: [
      /^destinations\[1\]\.filter: "db\.\(t" is not a valid regex: missing "\)" \(at \d+\/sluice\.yaml:2:\d+\)$/,
      /^destinations\[1\]\.blackFilter: "\*x" is not a valid regex: quantifier "\*" follows nothing/,
      /^destinations\[1\]\.fieldFilter: "db\.t" /,
      /^destinations\[1\]\.fieldBlackFilter: must be a string \(patterns separated by ","\) or a list of strings, got 5/,
    ],
  },
  {
    name: "a bad --filter names the flag",
    input: { argv: ["--source", SOURCE, "--filter", "db.(t"] },
    expect: ['--filter: "db.(t" is not a valid regex: missing ")"'],
  },
  {
    name: "duplicate destination names and names that are not names",
    input: {
      yaml: `destinations:\n  - { name: a, source: "${SOURCE}" }\n  - { name: a, source: "${SOURCE}" }\n  - { name: "a b", source: "${SOURCE}" }\n  - { name: "..", source: "${SOURCE}" }\n  - { source: "${SOURCE}" }\n  - orders\n`,
    },
    expect: [
      /^destinations\[1\]\.name: "a" is also the name of destinations\[0\]; names must be unique \(at \d+\/sluice\.yaml:3:\d+\)$/,
      /^destinations\[2\]\.name: must be 1 to 128 letters, digits, "_", "-" or "\.", got "a b"/,
      /^destinations\[3\]\.name: must be 1 to 128 letters/,
      /^destinations\[4\]\.name: is required/,
      /^destinations\[5\]: must be a map with at least name and source, got "orders" \(write "- name: orders"/,
    ],
  },
  {
    name: "bad --destination name",
    input: { argv: ["--source", SOURCE, "--destination", "a/b"] },
    expect: [/^--destination: must be 1 to 128 letters, digits/],
  },
  {
    name: "bad start positions",
    input: {
      yaml: `destinations:
  - { name: a, source: "${SOURCE}", start: { file: mysql-bin.000001, gtid: "0-1-1" } }
  - { name: b, source: "${SOURCE}", start: { position: 4 } }
  - { name: c, source: "${SOURCE}", start: { file: mysql-bin.000001, position: 3 } }
  - { name: e, source: "${SOURCE}", start: { file: "not a binlog" } }
  - { name: f, source: "${SOURCE}", start: { gtid: "zzz:1-5" } }
  - { name: g, source: "${SOURCE}", start: { gtid: "0-1-1,0-2-2" } }
  - { name: h, source: "${SOURCE}", start: { timestamp: "2024-06-01 00:00:00" } }
  - { name: i, source: "${SOURCE}", start: { timestamp: 1717200000 } }
  - { name: j, source: "${SOURCE}", start: { gtid: "0-1-1", position: 4 } }
  - { name: k, source: "${SOURCE}", start: {} }
  - { name: l, source: "${SOURCE}", start: { offset: 4 } }
  - { name: m, source: "${SOURCE}", start: mysql-bin.000001 }
`,
    },
    expect: [
      /^destinations\[0\]\.start: give one of file, gtid or timestamp, not file and gtid \(at \d+\/sluice\.yaml:2:\d+\)$/,
      /^destinations\[1\]\.start\.position: needs a file: \{ file: mysql-bin\.000003, position: 4 \}/,
      /^destinations\[2\]\.start\.position: must be a byte offset of at least 4 \(the first event\), got 3/,
      /^destinations\[3\]\.start\.file: must be a binlog file name such as mysql-bin\.000003, got "not a binlog"/,
      /^destinations\[4\]\.start\.gtid: must be a MySQL GTID set such as .* or a MariaDB GTID state such as "0-1-100" \(gtid set: "zzz:1-5" does not start with a server UUID\)/,
      /^destinations\[5\]\.start\.gtid: MariaDB GTID state names domain 0 twice/,
      /^destinations\[6\]\.start\.timestamp: must be an ISO 8601 time with a zone/,
      /^destinations\[7\]\.start\.timestamp: 1717200000 looks like seconds; give epoch milliseconds \(1717200000000\)/,
      /^destinations\[8\]\.start\.position: goes with file, not with gtid/,
      /^destinations\[9\]\.start: must be \{ file: mysql-bin\.000003, position: 4 \}, \{ gtid: \.\.\. \} or \{ timestamp: /,
      /^destinations\[10\]\.start\.offset: unknown key; destinations\[10\]\.start takes file, position, gtid, timestamp/,
      /^destinations\[10\]\.start: must be \{ file/,
      /^destinations\[11\]\.start: must be a map \(\{ file: mysql-bin\.000003, position: 4 \}/,
    ],
  },
  {
    name: "other destination values",
    input: {
      yaml: `destinations:
  - { name: a, source: "${SOURCE}", serverId: 0, timeZone: Mars/Olympus, schemaLookup: sometimes, filterQueryDdl: "yes" }
  - { name: b, source: "${SOURCE}", serverId: 7, timeZone: "+25:00" }
  - { name: c, source: "${SOURCE}", serverId: 7, heartbeat: 4294968s }
  - { name: e, source: "mysql://repl@other:3307", serverId: 7 }
`,
    },
    expect: [
      /^destinations\[0\]\.filterQueryDdl: must be true or false, got "yes"/,
      /^destinations\[0\]\.serverId: must be an integer from 1 to 4294967295, got 0/,
      /^destinations\[0\]\.timeZone: must be "UTC", an offset such as "\+08:00" or an IANA name such as "Asia\/Shanghai", got "Mars\/Olympus"/,
      /^destinations\[0\]\.schemaLookup: must be "auto" or "never", got "sometimes"/,
      /^destinations\[1\]\.timeZone: .*got "\+25:00"/,
      /^destinations\[2\]\.serverId: 7 is also the serverId of destinations\[1\], which reads the same source/,
      /^destinations\[2\]\.heartbeat: must be at most 4294967000ms, got "4294968s"/,
    ],
  },
  {
    name: "addresses",
    input: {
      yaml: `host: "not a host"\nadvertise: 0.0.0.0:1\nzk: { connect: "z1:2181,:2", root: otter }\nmetrics: { host: "a b" }\n${D}`,
    },
    expect: [
      /^host: must be an IP address or host name, got "not a host"/,
      /^advertise: must be an address other servers can reach, not the wildcard 0\.0\.0\.0/,
      /^zk\.connect: must be "host:port,host:port" with an optional "\/chroot"; ":2" is not host:port/,
      /^zk\.root: must be a ZooKeeper path such as \/otter\/canal, got "otter"/,
      /^metrics\.host: must be an IP address or host name, got "a b"/,
    ],
  },
  {
    name: "zk without connect, bad chroot, bad advertise",
    input: { yaml: `zk: { root: /x }\n${D}`, argv: ["--advertise", "a:b:c"] },
    expect: [
      /^zk\.connect: is required when zk is configured/,
      /^--advertise: must be ip:port or ip \(the port then is port\), got "a:b:c"/,
    ],
  },
  {
    name: "--zk-root alone",
    input: { argv: ["--source", SOURCE, "--zk-root", "/x"] },
    expect: [/^zk\.connect: is required when zk is configured: "host:port,host:port" \(or give --zk\)/],
  },
  {
    name: "bad chroot",
    input: { argv: ["--source", SOURCE, "--zk", "z:1/a//b"] },
    expect: [
      /^--zk: must be "host:port,host:port" with an optional "\/chroot"; the chroot "\/a\/\/b" is not a ZooKeeper path/,
    ],
  },
  {
    name: "metrics on the server's port",
    input: { argv: ["--source", SOURCE, "--port", "7000", "--metrics-port", "7000"] },
    expect: ["--metrics-port: 7000 is also the server's port; give metrics a port of its own"],
  },
  {
    name: "bad flag and variable values",
    input: { argv: ["--source", SOURCE, "--port", "http"], env: { SLUICE_METRICS_PORT: "70000" } },
    expect: [
      '--port: must be a port number from 0 to 65535 (0: any free port), got "http"',
      'SLUICE_METRICS_PORT: must be a port number from 0 to 65535 (0: any free port), got "70000"',
    ],
  },
  {
    name: "bad flags",
    input: {
      argv: ["--source", SOURCE, "--prot", "1", "--port", "--host", "h", "--host", "h2", "extra", "--zk="],
    },
    expect: [
      "--prot: unknown flag (did you mean --port?); see --help",
      "--port: needs a value (--port N)",
      "--host: given more than once",
      '"extra": unexpected argument; sluice server takes only --flags (see --help)',
      "--zk: needs a value (--zk HOST:PORT,...)",
    ],
  },
  {
    name: "no destination",
    input: { argv: ["--port", "1"] },
    expect: [
      /^destinations: no destination to serve: give --source \(and --destination NAME\), or list destinations/,
    ],
  },
  {
    name: "--source with several destinations and no --destination",
    input: {
      yaml: `destinations:\n  - { name: a, source: "${SOURCE}" }\n  - { name: b, source: "${SOURCE}" }\n`,
      env: { SLUICE_SOURCE: "mysql://u:pw@h" },
    },
    expect: [
      "SLUICE_SOURCE: the config file defines 2 destinations (a, b); say which one SLUICE_SOURCE is for with --destination NAME (or SLUICE_DESTINATION)",
    ],
  },
  {
    name: "--destination not in the file and no --source",
    input: { yaml: D, argv: ["--destination", "other"] },
    expect: [
      '--destination: the config file has no destination "other"; give its source too (--source or SLUICE_SOURCE)',
    ],
  },
  {
    name: "--filter without any destination",
    input: { argv: ["--filter", "a\\..*"] },
    expect: ["--filter: no destination is configured; give its source too (--source or SLUICE_SOURCE)"],
  },
  {
    name: "unreadable config file",
    input: { argv: ["--config", "missing.yaml", "--source", SOURCE] },
    expect: ['--config: cannot read "missing.yaml": no such file'],
  },
  {
    name: "a config file that is a directory",
    input: { env: { SLUICE_CONFIG: "." }, argv: ["--source", SOURCE] },
    expect: ['SLUICE_CONFIG: cannot read ".": is a directory'],
  },
];

for (const { name, input, expect } of errorCases) {
  test(`error: ${name}`, () => {
    const problems = problemsOf(input);
    for (const e of expect) {
      assert.ok(
        problems.some((p) => (typeof e === "string" ? p === e : e.test(p))),
        `no problem matches ${e}\nproblems:\n${problems.join("\n")}`,
      );
    }
    assert.equal(problems.length, expect.length, `problems:\n${problems.join("\n")}`);
  });
}

const syntaxCases: [string, Input, RegExp][] = [
  [
    "YAML: bad indentation",
    { yaml: `port: 1\nstore:\n  maxBytes: [1,\n  maxEntries: x: y\n` },
    /^\d+\/sluice\.yaml:4:3: YAML syntax error: /,
  ],
  [
    "YAML: a key given twice",
    { yaml: `port: 1\nhost: a\nport: 2\n` },
    /^\d+\/sluice\.yaml:3:1: YAML syntax error: this key is given twice in the same map; keys must be unique$/,
  ],
  [
    "YAML: two documents",
    { yaml: `port: 1\n---\nport: 2\n` },
    /^\d+\/sluice\.yaml:2:1: YAML syntax error: the file holds more than one YAML document/,
  ],
  ["YAML: a tab", { yaml: `store:\n\tmaxBytes: 1\n` }, /^\d+\/sluice\.yaml:2:1: YAML syntax error: /],
  [
    "JSON: a trailing comma",
    { json: `{\n  "port": 1,\n}` },
    /^\d+\/sluice\.json:3:1: JSON syntax error: expected a key in double quotes, found "}"$/,
  ],
  [
    "JSON: a missing comma",
    { json: `{\n  "port": 1\n  "host": "h"\n}` },
    /^\d+\/sluice\.json:3:3: JSON syntax error: expected "," or "}", found "\\""$/,
  ],
  [
    "JSON: an unquoted word",
    { json: `{"destinations": [{"source": mysql}]}` },
    /^\d+\/sluice\.json:1:30: JSON syntax error: expected a value, found "m"$/,
  ],
  [
    "JSON: a key given twice",
    { json: `{\n  "port": 1,\n  "port": 2\n}` },
    /^\d+\/sluice\.json:3:3: YAML syntax error: this key is given twice/,
  ],
  [
    "JSON: an empty file",
    { json: "" },
    /^\d+\/sluice\.json:1:1: JSON syntax error: expected a value, found the end of the file$/,
  ],
];

for (const [name, input, expected] of syntaxCases) {
  test(`syntax error: ${name}`, () => {
    const problems = problemsOf(input);
    assert.ok(
      problems.some((p) => expected.test(p)),
      problems.join("\n"),
    );
  });
}

test("every problem is reported at once", () => {
  const problems = problemsOf({
    yaml: `prot: 1\nstore: { maxBytes: lots, maxEntries: 0 }\ndestinations:\n  - { name: a, source: "x" }\n  - { name: a, source: "${SOURCE}", filter: "(" }\n`,
    argv: ["--port", "x"],
    env: { SLUICE_ZK: "::" },
  });
  assert.equal(problems.length, 8, problems.join("\n"));
});

const SECRET = "Sup3rS3cret";

const secretCases: [string, Input][] = [
  ["bad scheme", { argv: ["--source", `postgres://u:${SECRET}@h`] }],
  ["not a URL", { argv: ["--source", `mysql//u:${SECRET}@h`] }],
  ["not a URL, @ in the password", { argv: ["--source", `mysql//u:${SECRET}@x@h`] }],
  ["bad port", { argv: ["--source", `mysql://u:${SECRET}@h:notaport`] }],
  ["bad ssl", { env: { SLUICE_SOURCE: `mysql://u:${SECRET}@h?ssl=maybe` } }],
  ["unknown parameter", { yaml: `destinations: [{ name: a, source: "mysql://u:${SECRET}@h?x=1" }]` }],
  [
    "a raw @ in the password",
    { yaml: `destinations: [{ name: a, source: "mysql://u:${SECRET}@x@h", bad: 1 }]` },
  ],
  [
    "encoded password",
    { argv: ["--source", `mysql://u:${encodeURIComponent(`${SECRET}/:`)}@h`, "--port", "x"] },
  ],
  ["URL given as the host", { yaml: `host: "mysql://u:${SECRET}@h"\n${D}` }],
  [
    "password pasted into another key",
    { yaml: `destinations: [{ name: a, source: "mysql://u:${SECRET}@h", timeZone: "${SECRET}" }]` },
  ],
  ["URL in a filter", { argv: ["--source", `mysql://u:${SECRET}@h`, "--filter", `mysql://u:${SECRET}@h(`] }],
  [
    "several destinations",
    {
      yaml: `destinations: [{name: a, source: "${SOURCE}"}, {name: b, source: "${SOURCE}"}]`,
      argv: ["--source", `mysql://u:${SECRET}@h`],
    },
  ],
  [
    "YAML syntax error on the source line",
    { yaml: `destinations:\n  - name: a\n    source: mysql://u:${SECRET}@h: x\n` },
  ],
  [
    "JSON syntax error after the source",
    { json: `{"destinations": [{"name": "a", "source": "mysql://u:${SECRET}@h" x}]}` },
  ],
  [
    "JSON syntax error in the source",
    { json: `{"destinations": [{"name": "a", "source": mysql://u:${SECRET}@h}]}` },
  ],
];

for (const [name, input] of secretCases) {
  test(`no password in errors: ${name}`, () => {
    let message = "";
    try {
      load(input);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      message = [err.message, ...err.problems].join("\n");
    }
    assert.notEqual(message, "", "expected a ConfigError");
    assert.ok(!message.includes(SECRET) && !message.includes("S3cret"), message);
  });
}

test("describeConfig summarises without passwords", () => {
  const config = load({ yaml: FULL_YAML.replace("s%40fe", SECRET) });
  const text = describeConfig(config);
  assert.ok(!text.includes(SECRET), text);
  for (const part of [
    "listening on 127.0.0.1:12000, advertised as 10.0.0.5:12000",
    "elected mode: ZooKeeper zk1:2181,zk2:2181/sluice, root /canal/prod, session timeout 15s, standby re-grab delay 500ms",
    "metrics on 0.0.0.0:9465",
    "store: up to 4096 entries and 256 MiB per destination",
    "destination orders: source mysql://repl:***@db1:3306?ssl=verify-ca&ca=/etc/ca.pem, start (without cursors) at mysql-bin.000003:1234",
    "destination billing.v2: source mariadb://canal@db2:3306, start (without cursors) at GTID state 0-1-100,1-2-7",
  ]) {
    assert.ok(text.includes(part), `${part}\nnot in\n${text}`);
  }
  const standalone = describeConfig(
    load({ argv: ["--source", `mysql://u:${SECRET}@h`, "--metrics-port", "off"] }),
  );
  assert.ok(!standalone.includes(SECRET));
  assert.match(standalone, /standalone mode \(no ZooKeeper\): cursors in .*\.sluice/);
  assert.match(standalone, /metrics off/);
  assert.match(standalone, /start \(without cursors\) at the source's current head/);
});

test("--help text names every flag and variable; wantsHelp", () => {
  for (const o of OPTIONS) {
    assert.ok(SERVER_HELP.includes(`--${o.flag} `), o.flag);
    assert.ok(SERVER_HELP.includes(o.env), o.env);
  }
  assert.ok(
    SERVER_HELP.split("\n").every((l) => l.length <= 100),
    "lines fit a terminal",
  );
  const docs = readFileSync(new URL("../../../../docs/configuration.md", import.meta.url), "utf8");
  for (const o of OPTIONS) assert.ok(docs.includes(`\`--${o.flag} `) && docs.includes(o.env), o.flag);
  assert.equal(wantsHelp(["--port", "1", "-h"]), true);
  assert.equal(wantsHelp(["--help"]), true);
  assert.equal(wantsHelp(["--port", "1"]), false);
  assert.equal(wantsHelp(["--", "--help"]), false);
});
