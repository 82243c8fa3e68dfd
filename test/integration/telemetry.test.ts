// Metrics of `sluice server` as Prometheus scrapes them: a known workload read, consumed and
// acked moves the counters by exactly its size; the gauges are there; scraped during a
// workload, lag (in seconds), rows and unacked batches move; runtime and build-info series;
// the same metrics pushed over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; `--metrics-port
// off` serves nothing.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createSluiceClient } from "../../src/clients/typescript/index.js";
import { CanalService } from "../../src/gen/sluice/v1/canal_service_pb.js";
import {
  startSluiceGateway,
  startSluiceServer as startZkServer,
  writeServerConfig,
} from "../gateway/cluster.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { freePort, makeTempDir, removeDir, waitFor } from "../harness/processes.js";
import { type SluiceServerProcess, startSluiceServer } from "../harness/sluice-server.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

let db: MariaDB;
let dataDir: string;

before(async () => {
  db = await startMariaDB();
  await db.query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
  dataDir = makeTempDir("telemetry");
});
after(async () => {
  await db?.stop();
  removeDir(dataDir);
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format: one sample per line, `name{a="b",...} value`. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = l[2] as string;
    }
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `want`; undefined when there is none. */
function value(samples: Sample[], name: string, want: Record<string, string> = {}): number | undefined {
  const hits = samples.filter(
    (s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v),
  );
  return hits.length === 0 ? undefined : hits.reduce((a, s) => a + s.value, 0);
}

async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return parse(await res.text());
}

describe("server metrics", () => {
  let server: SluiceServerProcess;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    server = await startSluiceServer({
      name: "metrics-server",
      sourceUrl: db.sourceUrl,
      dataDir,
      metricsPort,
    });
  });
  after(async () => {
    await server?.stop();
  });

  test("rows read, batches delivered and acked move by exactly the workload; gauges are there", async () => {
    const d = { destination: "example" };
    const c = { destination: "example", client_id: "metrics" };
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "metrics" });
    const before = await scrape(metricsPort);
    const rowsBefore = value(before, "sluice_binlog_row_changes_total", d) ?? 0;
    const eventsBefore = value(before, "sluice_binlog_events_total", d) ?? 0;
    const bytesBefore = value(before, "sluice_binlog_bytes_total", d) ?? 0;

    // 3 transactions: 4 inserted rows, 2 inserted rows, 6 updated rows: 12 row changes.
    await db.query("INSERT INTO shop.orders VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d')");
    await db.query("INSERT INTO shop.orders VALUES (5,'e'),(6,'f')");
    await db.query("UPDATE shop.orders SET item = CONCAT(item, '!')");

    let rows = 0;
    let batches = 0;
    const deadline = Date.now() + 30_000;
    while (rows < 12 && Date.now() < deadline) {
      // Small batches (a transaction is BEGIN, rows, END): the workload takes several.
      const got = await client.canal.get({
        destination: "example",
        clientId: "metrics",
        batchSize: 3,
        timeoutMs: 1000n,
      });
      if (!got.batchId) continue;
      batches++;
      for (const e of got.entries) {
        if (e.payload.case === "rowChange") rows += e.payload.value.rowDatas.length;
      }
      await client.canal.ack({ destination: "example", clientId: "metrics", batchId: got.batchId });
    }
    assert.equal(rows, 12, "the whole workload was consumed");
    assert.ok(batches >= 3, `a batch or more per transaction (${batches})`);

    const now = await scrape(metricsPort);
    assert.equal((value(now, "sluice_binlog_row_changes_total", d) ?? 0) - rowsBefore, 12);
    const events = (value(now, "sluice_binlog_events_total", d) ?? 0) - eventsBefore;
    // Each transaction: at least GTID/BEGIN, TABLE_MAP, the rows event and XID.
    assert.ok(events >= 12, `binlog events read (${events})`);
    assert.ok((value(now, "sluice_binlog_bytes_total", d) ?? 0) - bytesBefore > 0, "bytes read");
    assert.equal(value(now, "sluice_batches_delivered_total", c), batches);
    assert.equal(value(now, "sluice_batches_acked_total", c), batches);
    assert.equal(value(now, "sluice_ack_duration_seconds_count", c), batches);
    assert.equal(value(now, "sluice_batches_rolled_back_total", c) ?? 0, 0);
    // Acked through the head: nothing outstanding, no lag.
    assert.equal(value(now, "sluice_client_outstanding_batches", c), 0);
    assert.equal(value(now, "sluice_client_lag_seconds", c), 0);
    const headLag = value(now, "sluice_binlog_lag_seconds", d);
    assert.ok(headLag !== undefined && headLag >= 0, "head lag is reported");
    assert.ok(value(now, "sluice_store_entries", d) !== undefined, "store entries reported");
    assert.ok((value(now, "sluice_store_bytes", d) ?? 0) >= 0, "store bytes reported");
    assert.ok(value(now, "sluice_binlog_position", d) !== undefined, "binlog position reported");
    assert.equal(value(now, "sluice_destination_running", d), 1, "standalone runs its destination");
    assert.equal(value(now, "sluice_zk_lease"), undefined, "no ZooKeeper lease without ZooKeeper");
    assert.equal(value(now, "target_info", { service_name: "sluice-server" }), 1, "service name");

    // A rollback counts as one.
    await db.query("INSERT INTO shop.orders VALUES (7,'g')");
    let got = await client.canal.get({
      destination: "example",
      clientId: "metrics",
      batchSize: 100,
      timeoutMs: 5000n,
    });
    while (!got.batchId && Date.now() < deadline) {
      got = await client.canal.get({
        destination: "example",
        clientId: "metrics",
        batchSize: 100,
        timeoutMs: 1000n,
      });
    }
    assert.ok(got.batchId);
    const held = await scrape(metricsPort);
    assert.equal(value(held, "sluice_client_outstanding_batches", c), 1);
    await client.canal.rollback({ destination: "example", clientId: "metrics", batchId: got.batchId });
    const rolled = await scrape(metricsPort);
    assert.equal(value(rolled, "sluice_batches_rolled_back_total", c), 1);
    assert.equal(value(rolled, "sluice_client_outstanding_batches", c), 0);
    assert.equal(value(rolled, "sluice_batches_delivered_total", c), batches + 1);

    const other = await fetch(`http://127.0.0.1:${metricsPort}/`);
    assert.equal(other.status, 404, "only /metrics is served");
  });
});

/** A tiny OTLP/HTTP receiver on loopback: keeps what is posted to /v1/metrics. */
async function otlpReceiver(): Promise<{
  url: string;
  posts: Array<{ contentType: string; body: Buffer }>;
  close: () => Promise<void>;
}> {
  const posts: Array<{ contentType: string; body: Buffer }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/metrics") {
        posts.push({ contentType: req.headers["content-type"] ?? "", body: Buffer.concat(chunks) });
      }
      // An empty ExportMetricsServiceResponse: all accepted.
      res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/x-protobuf" });
      res.end(req.headers["content-type"]?.includes("json") ? "{}" : "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("during a workload, scraped and pushed over OTLP", () => {
  let server: SluiceServerProcess;
  let metricsPort: number;
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let workloadDir: string;
  before(async () => {
    receiver = await otlpReceiver();
    metricsPort = await freePort();
    workloadDir = makeTempDir("telemetry-workload");
    server = await startSluiceServer({
      name: "metrics-workload",
      sourceUrl: db.sourceUrl,
      dataDir: workloadDir,
      metricsPort,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: "300" },
    });
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
    if (workloadDir) removeDir(workloadDir);
  });

  test("lag in seconds, rows and unacked batches move; runtime and build info; OTLP export", async () => {
    const d = { destination: "example" };
    const c = { destination: "example", client_id: "live" };
    const client = createSluiceClient({ baseUrl: server.url });
    await client.canal.subscribe({ destination: "example", clientId: "live" });
    // A row every 100 ms until stopped (bounded: 15 s at most).
    let writing = true;
    let id = 1000;
    const writer = (async () => {
      const end = Date.now() + 15_000;
      while (writing && Date.now() < end) {
        await db.query("INSERT INTO shop.orders VALUES (?, 'live')", [id++]);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      // One batch delivered and held unacked while the source keeps writing.
      const first = await waitFor(
        "a first batch",
        async () => {
          const got = await client.canal.get({ ...d, clientId: "live", batchSize: 5, timeoutMs: 1000n });
          return got.batchId ? got : undefined;
        },
        { timeoutMs: 10_000 },
      );
      // The client trails the head by whole seconds of source time once writing has gone on.
      const behind = await waitFor(
        "the client's lag to reach a second",
        async () => {
          const now = await scrape(metricsPort);
          return (value(now, "sluice_client_lag_seconds", c) ?? 0) >= 1 ? now : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      const lag = value(behind, "sluice_client_lag_seconds", c) ?? 0;
      assert.ok(lag >= 1 && lag < 60, `client lag in seconds: ${lag}`);
      assert.equal(value(behind, "sluice_client_outstanding_batches", c), 1, "the held batch");
      const headLag = value(behind, "sluice_binlog_lag_seconds", d);
      assert.ok(headLag !== undefined && headLag >= 0 && headLag < 60, `binlog lag in seconds: ${headLag}`);
      assert.equal(value(behind, "sluice_binlog_lag_ms", d), undefined, "no series in milliseconds");
      // Rows keep moving while the workload runs, and the held batch keeps the lag growing.
      const rowsThen = value(behind, "sluice_binlog_row_changes_total", d) ?? 0;
      const later = await waitFor(
        "more rows read",
        async () => {
          const now = await scrape(metricsPort);
          return (value(now, "sluice_binlog_row_changes_total", d) ?? 0) > rowsThen ? now : undefined;
        },
        { timeoutMs: 5000, intervalMs: 200 },
      );
      assert.ok((value(later, "sluice_client_lag_seconds", c) ?? 0) >= lag, "the lag does not shrink");
      // A second batch held: two unacked.
      const second = await client.canal.get({ ...d, clientId: "live", batchSize: 5, timeoutMs: 1000n });
      assert.ok(second.batchId);
      assert.equal(value(await scrape(metricsPort), "sluice_client_outstanding_batches", c), 2);

      // Writing stops; everything is acked: nothing unacked, no lag.
      writing = false;
      await writer;
      await client.canal.ack({ ...d, clientId: "live", batchId: first.batchId });
      await client.canal.ack({ ...d, clientId: "live", batchId: second.batchId });
      for (;;) {
        const got = await client.canal.get({ ...d, clientId: "live", batchSize: 1000, timeoutMs: 500n });
        if (!got.batchId) break;
        await client.canal.ack({ ...d, clientId: "live", batchId: got.batchId });
      }
      const done = await scrape(metricsPort);
      assert.equal(value(done, "sluice_client_outstanding_batches", c), 0);
      assert.equal(value(done, "sluice_client_lag_seconds", c), 0);
      assert.ok((value(done, "sluice_ack_duration_seconds_count", c) ?? 0) >= 3, "acks timed");
      const ackSeconds = value(done, "sluice_ack_duration_seconds_sum", c) ?? 0;
      assert.ok(ackSeconds > 0 && ackSeconds < 10, `ack durations in seconds: ${ackSeconds}`);

      // Runtime and process series, and the build.
      assert.ok((value(done, "nodejs_eventloop_delay_p99") ?? -1) >= 0, "event-loop delay");
      assert.ok((value(done, "nodejs_eventloop_utilization") ?? -1) >= 0, "event-loop utilization");
      assert.ok((value(done, "v8js_gc_duration_count") ?? 0) > 0, "garbage collections");
      assert.ok(
        (value(done, "v8js_memory_heap_used", { v8js_heap_space_name: "old_space" }) ?? 0) > 0,
        "heap",
      );
      assert.ok((value(done, "process_cpu_time_total", { cpu_mode: "user" }) ?? 0) > 0, "CPU time");
      assert.ok((value(done, "process_memory_usage") ?? 0) > 0, "resident memory");
      assert.ok((value(done, "nodejs_memory_array_buffers") ?? 0) > 0, "array buffers");
      assert.ok(
        (value(done, "nodejs_memory_external") ?? 0) >= (value(done, "nodejs_memory_array_buffers") ?? 0),
        "external memory, array buffers included",
      );
      assert.equal(
        value(done, "sluice_build_info", { version: PACKAGE_VERSION, node_version: process.versions.node }),
        1,
      );
    } finally {
      writing = false;
      await writer;
    }

    // The same instruments pushed to the OTLP receiver (http/protobuf by default).
    const names = [
      "sluice.binlog.lag_seconds",
      "sluice.client.lag_seconds",
      "sluice.binlog.row_changes",
      "sluice.client.outstanding_batches",
      "sluice.build.info",
      "nodejs.eventloop.delay.p99",
      "sluice-server",
    ];
    const pushed = await waitFor(
      "metrics pushed over OTLP",
      async () => {
        const p = receiver.posts.at(-1);
        return p && names.every((n) => p.body.includes(n)) ? p : undefined;
      },
      { timeoutMs: 5000 },
    );
    assert.equal(pushed.contentType, "application/x-protobuf");
  });
});

describe("--metrics-port off", () => {
  test("serves nothing, even with a port in the environment", async () => {
    const port = await freePort();
    const offDir = makeTempDir("telemetry-off");
    const server = await startSluiceServer({
      name: "metrics-off",
      sourceUrl: db.sourceUrl,
      dataDir: offDir,
      metricsPort: "off",
      env: { SLUICE_METRICS_PORT: String(port) },
    });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch((err: Error) => err);
      assert.ok(res instanceof Error, "nothing listens on the metrics port");
      assert.doesNotMatch(readFileSync(server.process.logFile, "utf8"), /metrics serving/);
    } finally {
      await server.stop();
      removeDir(offDir);
    }
  });
});

/** Spans printed by OpenTelemetry's console exporter (OTEL_TRACES_EXPORTER=console). */
function spans(log: string): Array<{ traceId: string; name: string; id: string; kind: number }> {
  const out = [];
  for (const m of log.matchAll(
    /traceId: '([0-9a-f]{32})',[\s\S]*?name: '([^']+)',\s*id: '([0-9a-f]{16})',\s*kind: (\d)/g,
  )) {
    out.push({ traceId: m[1] as string, name: m[2] as string, id: m[3] as string, kind: Number(m[4]) });
  }
  return out;
}

describe("gateway metrics, and a server's with ZooKeeper; traces from gateway to server", () => {
  let zk: ZooKeeper;
  let dir: string;
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await zk?.stop();
    if (dir) removeDir(dir);
  });

  test("calls by method and code, relay latency, holds and runners; elections and lease; one trace", async () => {
    zk = await startZooKeeper();
    // Both children print their spans (inherited environment), in batches every 200 ms.
    const saved = { ...process.env };
    process.env.OTEL_TRACES_EXPORTER = "console";
    process.env.OTEL_BSP_SCHEDULE_DELAY = "200";
    dir = makeTempDir("telemetry-gateway");
    const config = writeServerConfig(dir, zk, db);
    const serverMetrics = await freePort();
    writeFileSync(
      config,
      readFileSync(config, "utf8").replace(
        "metrics: { enabled: false }",
        `metrics: { host: 127.0.0.1, port: ${serverMetrics} }`,
      ),
    );
    const server = await startZkServer(dir, "zk-server", await freePort(), config);
    stops.push(() => server.stop());
    const [gwPort, gwMetrics] = [await freePort(), await freePort()];
    const gateway = await startSluiceGateway(dir, "gateway", gwPort, zk, [
      "--metrics-port",
      String(gwMetrics),
    ]);
    stops.push(() => gateway.stop());
    process.env.OTEL_TRACES_EXPORTER = saved.OTEL_TRACES_EXPORTER;
    process.env.OTEL_BSP_SCHEDULE_DELAY = saved.OTEL_BSP_SCHEDULE_DELAY;
    if (saved.OTEL_TRACES_EXPORTER === undefined) delete process.env.OTEL_TRACES_EXPORTER;
    if (saved.OTEL_BSP_SCHEDULE_DELAY === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
    const url = `http://127.0.0.1:${gwPort}`;
    const connect = createClient(CanalService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const grpc = createClient(CanalService, createGrpcTransport({ baseUrl: url }));

    const { session } = await connect.subscribe({ destination: "example", clientId: "gw" });
    await db.query("INSERT INTO shop.orders VALUES (101,'x')");
    await db.query("INSERT INTO shop.orders VALUES (102,'y')");
    let rows = 0;
    let batches = 0;
    let gets = 0;
    const deadline = Date.now() + 30_000;
    while (rows < 2 && Date.now() < deadline) {
      const got = await connect.get({
        destination: "example",
        clientId: "gw",
        session,
        batchSize: 100,
        timeoutMs: 1000n,
      });
      gets++;
      if (!got.batchId) continue;
      batches++;
      for (const e of got.entries) {
        if (e.payload.case === "rowChange") rows += e.payload.value.rowDatas.length;
      }
      await connect.ack({ destination: "example", clientId: "gw", session, batchId: got.batchId });
    }
    assert.equal(rows, 2);
    // One gRPC call: relayed as bytes, counted as well.
    const empty = await grpc.get({
      destination: "example",
      clientId: "gw",
      session,
      batchSize: 10,
      timeoutMs: 0n,
    });
    assert.equal(empty.batchId, "");

    const g = await scrape(gwMetrics);
    const m = (method: string, code = "ok") => ({ method: `sluice.v1.CanalService/${method}`, code });
    assert.equal(value(g, "sluice_gateway_calls_total", m("Subscribe")), 1);
    assert.equal(value(g, "sluice_gateway_calls_total", m("Get")), gets + 1);
    assert.equal(value(g, "sluice_gateway_calls_total", m("Ack")), batches);
    assert.equal(
      value(g, "sluice_gateway_relay_duration_seconds_count", { method: "sluice.v1.CanalService/Ack" }),
      batches,
    );
    assert.equal(value(g, "sluice_gateway_streams") ?? 0, 0);
    assert.equal(value(g, "sluice_gateway_holds"), 1, "the lease of client gw");
    assert.equal(value(g, "sluice_gateway_runners"), 1, "destination example's runner is known");
    assert.equal(value(g, "target_info", { service_name: "sluice-gateway" }), 1);
    assert.equal(value(g, "sluice_build_info", { version: PACKAGE_VERSION }), 1);
    assert.ok((value(g, "process_cpu_time_total", { cpu_mode: "user" }) ?? 0) > 0, "the gateway's CPU time");
    assert.ok(value(g, "nodejs_eventloop_utilization") !== undefined, "the gateway's event loop");

    // A failing call is counted with its code.
    await connect.subscribe({ destination: "nope", clientId: "gw" }).catch(() => {});
    const g2 = await scrape(gwMetrics);
    assert.equal(value(g2, "sluice_gateway_calls_total", m("Subscribe", "not_found")), 1);

    const s = await scrape(serverMetrics);
    const d = { destination: "example" };
    assert.equal(value(s, "sluice_elections_won_total", d), 1);
    assert.equal(value(s, "sluice_destination_running", d), 1);
    assert.equal(value(s, "sluice_zk_lease"), 1);
    assert.equal(value(s, "sluice_batches_acked_total", { ...d, client_id: "gw" }), batches);

    // The gateway's span of each Ack (a server span, from its tracing hook) and the server's
    // span of it are in one trace.
    const ack = "sluice.v1.CanalService/Ack";
    const linked = await waitFor(
      "the Ack spans of gateway and server",
      async () => {
        const gw = spans(readFileSync(gateway.logFile, "utf8")).filter((x) => x.name === ack && x.kind === 1);
        const sv = spans(readFileSync(server.logFile, "utf8")).filter((x) => x.name === ack && x.kind === 1);
        const pairs = gw.filter((g) => sv.some((x) => x.traceId === g.traceId));
        return pairs.length === batches && sv.length === batches ? pairs : undefined;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(linked.length, batches);
    // Every Get relayed as bytes (Connect binary and the one gRPC call) has its gateway span too.
    const getSpans = spans(readFileSync(gateway.logFile, "utf8")).filter(
      (x) => x.name === "sluice.v1.CanalService/Get" && x.kind === 1,
    );
    assert.equal(getSpans.length, gets + 1);
    const serverLog = readFileSync(server.logFile, "utf8");
    assert.match(serverLog, /'sluice\.client_id': 'gw'/);
    assert.match(serverLog, /'rpc\.connect_rpc\.error_code': 'ok'/);
  });
});
