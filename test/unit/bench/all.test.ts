// `npm run bench` (bench/all): its options, and the targets table it builds from the parts'
// reports: each target met or not from the figures, the gap's cause from the same run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { renderDocument } from "../../../bench/all/markdown.js";
import { OptionError, parseAllOptions } from "../../../bench/all/options.js";
import { planPart } from "../../../bench/all/parts.js";
import { cpuGap, type Results, targetRows } from "../../../bench/all/targets.js";
import type { Report as DeliveryReport } from "../../../bench/delivery/report.js";
import type { ThroughputRun } from "../../../bench/delivery/throughput.js";
import { FAULTS } from "../../../bench/failover/faults.js";
import type { FailoverReport } from "../../../bench/failover/report.js";
import type { ScaleReport } from "../../../bench/scale/report.js";

const run = (consumer: string, rowsPerSec: number, us: [number, number, number?]): ThroughputRun =>
  ({
    consumer,
    round: 1,
    ok: true,
    rows: 200_000,
    batches: 200,
    seconds: 200_000 / rowsPerSec,
    rowsPerSec,
    clientCpuUs: us[0],
    serverCpuUs: us[1],
    serverPrefillCpuUs: 5,
    ...(us[2] === undefined ? {} : { gatewayCpuUs: us[2] }),
    serverPeakRssMB: 200,
    digest: 1,
    loadBefore: 1,
    loadAfter: 1,
  }) as ThroughputRun;

function delivery(): DeliveryReport {
  return {
    header: ["bench/delivery"],
    maxBytes: 64 * 2 ** 20,
    decode: [
      {
        round: 1,
        ok: true,
        rows: 200_000,
        seconds: 0.25,
        rowsPerSec: 800_000,
        cpuUsPerRow: 1.2,
        loadBefore: 1,
        loadAfter: 1,
      },
    ],
    throughput: [run("ts-grpc:gateway", 80_000, [7, 13, 2.5]), run("go:gateway", 160_000, [2, 4, 0.3])],
    latency: [
      {
        client: "ts-grpc",
        rate: 1000,
        round: 1,
        ok: true,
        rows: 10_000,
        batches: 900,
        achievedRate: 1000,
        samples: 9000,
        p50Ms: 2,
        p99Ms: 6,
        maxMs: 30,
        serverCpuUs: 50,
        gatewayCpuUs: 5,
        clientCpuUs: 10,
        loadBefore: 1,
        loadAfter: 1,
      },
    ],
    memory: [
      { scenario: "slow", ok: true, peakMB: 210, perSecondMB: [200, 205, 210], slowRows: 3000, load: 1 },
    ],
    profiles: [],
    catchup: [],
    seconds: 600,
  };
}

describe("bench/all targets", () => {
  const rows = targetRows({ cores: 2, delivery: delivery() });
  const find = (text: string) => {
    const r = rows.find((x) => x.target.includes(text));
    assert.ok(r, `a row naming "${text}" in ${JSON.stringify(rows.map((x) => x.target))}`);
    return r;
  };

  test("a rate under its target is NOT met, with the CPU ceiling the run's own figures allow", () => {
    const ts = find("TypeScript client, gRPC through the gateway");
    assert.equal(ts.met, false);
    assert.equal(ts.measured, "80.0k rows/s");
    // 7 + (13 - 5 before the consumer came) + 2.5 = 17.5 µs a row: 2 cores allow 114.3k rows/s.
    assert.match(
      ts.gap ?? "",
      /17\.5 µs \(server 8\.0, gateway 2\.5, client 7\.0\).*114\.3k rows\/s.*another 5\.0 µs/,
    );
    assert.equal(find("Go (grpc-go) through the gateway").met, true);
  });

  test("the share of decode and the gateway's share of the server's CPU", () => {
    const share = find("≥ 20% of decode");
    assert.equal(share.measured, "10.0% of 800.0k");
    assert.equal(share.met, false);
    const gw = rows.filter((r) => r.target.startsWith("gateway CPU per row"));
    assert.deepEqual(
      gw.map((r) => [r.measured, r.met]),
      [
        ["19% (2.5 of 13.0 µs)", false],
        ["8% (0.3 of 4.0 µs)", true],
      ],
    );
  });

  test("the gateway's gap names where its CPU goes in the run's profile, and whose profile", () => {
    const d = delivery();
    const part = (name: string, percent: number) => ({ name, ms: 1, usPerRow: 0, percent });
    d.profiles = [
      {
        title: "ts-grpc:gateway (200000 rows delivered)",
        processes: [
          {
            process: "gateway",
            per: "delivered row",
            cpuMs: 1,
            usPerRow: 2,
            sampledUsPerRow: 2,
            parts: [part("garbage collector", 59.2), part("node internals", 14.3)],
            calls: [],
            top: [],
          },
        ],
      },
    ];
    d.throughput.push(run("python:gateway", 60_000, [8, 10, 2]));
    const gaps = targetRows({ cores: 2, delivery: d })
      .filter((r) => r.target.startsWith("gateway CPU") && r.met === false)
      .map((r) => r.gap);
    assert.deepEqual(gaps, [
      "this path is relayed as bytes; its profile puts the gateway's CPU in garbage collector 59%, node internals 14%",
      "this path is relayed as bytes; the ts-grpc:gateway run's profile puts the gateway's CPU in garbage collector 59%, node internals 14%",
    ]);
  });

  test("latency and memory against their limits; memory's gap says where the RSS was", () => {
    assert.equal(find("p99 ≤ 20 ms at 1,000 rows/s").met, true);
    const mem = find("server RSS");
    assert.equal(mem.met, false);
    assert.match(mem.target, /= 167 MB \(slow consumer\)/);
    assert.match(mem.gap ?? "", /^42\.9 MB over; RSS was already 200\.0 MB .* rose 10\.0 MB/);
  });

  test("the CPU gap counts a direct path without a gateway", () => {
    assert.match(
      cpuGap({ rate: 1, client: 10, server: 12, prefill: 2, gateway: Number.NaN }, 2),
      /20\.0 µs \(server 10\.0, client 10\.0\).* 100\.0k rows\/s/,
    );
  });

  test("a failover fault after which a consumer never resumed is not met; exactness is its own row", () => {
    const options = { sessionTimeoutMs: 3000 } as FailoverReport["options"];
    const gap = { ms: 900, from: 0, to: 900 };
    const failover: FailoverReport = {
      options,
      cores: 2,
      rows: 5000,
      faults: [
        {
          kind: "server-kill",
          round: 0,
          target: "server-1",
          t0: 0,
          end: 1,
          load: 1,
          actions: [],
          pauses: { A: gap, B: undefined },
          noticed: {},
        },
        {
          kind: "server-term",
          round: 0,
          target: "server-2",
          t0: 0,
          end: 1,
          load: 1,
          actions: [],
          pauses: { A: { ms: 600, from: 0, to: 600 } },
          noticed: {},
        },
      ],
      checks: [{ consumer: "A", exact: true, redelivered: 0 }],
    };
    const r = targetRows({ cores: 2, failover, faultKinds: FAULTS } satisfies Results);
    assert.deepEqual(
      r.map((x) => [x.target.split(":")[0], x.measured, x.met]),
      [
        ["running server SIGKILL", "a consumer never resumed", false],
        ["running server SIGTERM (graceful handover)", "600 ms worst of 1 round(s)", false],
        [
          "every consumer acked exactly the committed rows, in order, through every fault",
          "5,000 rows, exact",
          true,
        ],
      ],
    );
  });

  test("catch-up: the RSS while stopped and while catching up, each against the bound", () => {
    const c = delivery();
    c.catchup = [
      {
        ok: true,
        rows: 1_000_000,
        warmRows: 1000,
        stoppedRows: 999_000,
        writeSeconds: 10,
        stoppedSeconds: 12,
        serverPeakStoppedMB: 160,
        serverPeakCatchupMB: 300,
        limitMB: 167,
        gatewayPeakMB: 90,
        catchupSeconds: 10,
        rowsPerSec: 99_900,
        serverCpuUs: 10,
        gatewayCpuUs: 2,
        clientCpuUs: 7,
        loadBefore: 1,
        loadAfter: 1,
      },
    ] as DeliveryReport["catchup"];
    const r = targetRows({ cores: 2, catchup: c });
    assert.deepEqual(
      r.map((x) => [x.area, x.measured, x.met, x.gap]),
      [
        ["memory", "160.0 MB", true, undefined],
        ["memory", "300.0 MB", false, "133.0 MB over"],
        ["catch-up", "99.9k rows/s, 10.0 s", true, undefined],
      ],
    );
  });

  test("scale: balanced or not, and a stream not exact fails its row with the bench's errors", () => {
    const scale = {
      options: { destinations: 50 },
      ok: false,
      errors: ["stream d07/c3: id 12 after 10"],
      balance: { balancedS: 2.4, perServer: { a: 16, b: 17, c: 17 }, runnerChanges: 0 },
      streams: { count: 500, processes: 5 },
      servers: [{}, {}, {}],
      delivery: { rowsPerSec: 46_000, p50Ms: 3400, p99Ms: 7400 },
    } as unknown as ScaleReport;
    const r = targetRows({ cores: 2, scale });
    assert.deepEqual(
      r.map((x) => [x.measured, x.met, x.gap]),
      [
        ["2.4 s (16/17/17)", true, undefined],
        ["46.0k rows/s delivered; p50 3400.0 ms, p99 7400.0 ms", false, "stream d07/c3: id 12 after 10"],
      ],
    );
    assert.match(r[0]?.target ?? "", /^50 destinations over 3 servers/);
  });

  test("the document names each target's state and a part that failed", () => {
    const text = renderDocument({
      machine: {
        cpuModel: "cpu",
        cores: 2,
        memoryGB: 8,
        kernel: "6",
        os: "Debian",
        node: "v20",
        mariadb: "m",
        zookeeper: "z",
        haproxy: "h",
        go: "g",
        python: "p",
        commit: "abc",
        loadBefore: [1, 1, 1],
      },
      loadAfter: [1, 1, 1],
      command: "npm run bench",
      startedAt: new Date(0),
      minutes: 1,
      quick: false,
      parts: [
        {
          name: "decode",
          title: "Decode",
          command: "node x",
          outcome: { exit: 1, timedOut: false, seconds: 60, stdout: "report" },
        },
      ],
      results: { cores: 2, delivery: delivery() },
      targets: rows,
      didNotPay: "## What was tried and did not pay",
    });
    assert.match(
      text,
      /\| delivery \| TypeScript client, gRPC through the gateway ≥ 200\.0k rows\/s \| 80\.0k rows\/s \| \*\*NOT met\*\* \|/,
    );
    assert.match(text, /\| decode \| `node x` \| 1\.0 \| \*\*failed\*\* \(exit 1/);
    assert.match(text, /## What was tried and did not pay\n$/);
  });
});

describe("bench/all options and plan", () => {
  test("parts run in their fixed order; a bad part or limit names the option", () => {
    const o = parseAllOptions(["--parts", "scale,decode", "--quick"], "/x/BENCHMARKS.md");
    assert.deepEqual(o.parts, ["decode", "scale"]);
    assert.equal(o.out, "/x/BENCHMARKS.md");
    assert.throws(
      () => parseAllOptions(["--parts", "decod"], "o"),
      (e: Error) => e instanceof OptionError && /--parts: unknown part "decod"/.test(e.message),
    );
    assert.throws(() => parseAllOptions(["--time-limit", "5"], "o"), /--time-limit/);
    assert.throws(() => parseAllOptions(["--rows", "5"], "o"), OptionError);
  });

  test("decode and delivery share the dataset; --quick is smaller", () => {
    const full = planPart("delivery", { quick: false, datadir: "/d" });
    assert.deepEqual(full.args.slice(0, 4), ["--rows", "500000", "--datadir", "/d"]);
    assert.deepEqual(planPart("decode", { quick: true, datadir: "/d" }).args.slice(0, 4), [
      "--rows",
      "50000",
      "--datadir",
      "/d",
    ]);
  });
});
