// The parse stage against a real MariaDB: ordered events with positions, reconnects that
// neither lose nor repeat an event (also in the middle of a transaction), and schema lookup
// for tables logged without FULL row metadata.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createLogger } from "../../src/common/log.js";
import { readBinlogEvents } from "../../src/server/binlog/index.js";
import { BinlogReader, ChainBreakError, type SourceEvent } from "../../src/server/parse/binlog-reader.js";
import { parseSourceUrl } from "../../src/server/replication/source.js";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";

async function killDumpThreads(db: MariaDB): Promise<number> {
  const rows = await db.query<Array<{ Id: number; Command: string }>>("SHOW PROCESSLIST");
  let killed = 0;
  for (const r of rows) {
    if (r.Command === "Binlog Dump") {
      await db.query(`KILL ${r.Id}`).catch(() => {});
      killed++;
    }
  }
  return killed;
}

/** Waits for the reader to be connected (again), then cuts it off. */
async function killDumpThreadOnceConnected(db: MariaDB): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await killDumpThreads(db)) === 0) {
    if (Date.now() > deadline) throw new Error("no binlog dump thread to kill");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function insertedIds(events: SourceEvent[], table: string): number[] {
  const ids: number[] = [];
  for (const { event } of events) {
    if (event.type === "rows" && event.kind === "insert" && event.table.name === table) {
      for (const row of event.rows) ids.push(Number(row[0]));
    }
  }
  return ids;
}

async function until(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("binlog reader", () => {
  let db: MariaDB;
  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))");
  });
  after(async () => {
    await db?.stop();
  });

  test("delivers decoded events in order with positions and transaction boundaries", async () => {
    const events: SourceEvent[] = [];
    const fatal: Error[] = [];
    const reader = new BinlogReader({
      source: parseSourceUrl(db.sourceUrl),
      onEvent: (e) => events.push(e),
      onFatal: (e) => fatal.push(e),
    });
    await reader.start();
    try {
      await db.query("INSERT INTO app.t VALUES (1, 'one'), (2, 'two')");
      await db.query("ALTER TABLE app.t ADD COLUMN n INT");
      await db.query("INSERT INTO app.t VALUES (3, 'three', 3)");
      await until("two inserts", () => insertedIds(events, "t").length === 3);
      assert.deepEqual(fatal, []);
      const positioned = events.filter((e) => e.offset > 0);
      for (let i = 1; i < positioned.length; i++) {
        const [a, b] = [positioned[i - 1] as SourceEvent, positioned[i] as SourceEvent];
        assert.ok(a.file < b.file || (a.file === b.file && a.offset < b.offset), "positions increase");
        // The server skips events a replica did not ask for (MariaDB's ANNOTATE_ROWS), so
        // the next event starts at or after this one's end.
        if (a.file === b.file) assert.ok(a.nextOffset <= b.offset);
      }
      const rows = events.find((e) => e.event.type === "rows");
      assert.match(rows?.gtid ?? "", /^0-1-\d+$/);
      const ddl = events.find((e) => e.event.type === "query" && e.event.statement === "ddl");
      assert.ok(ddl, "the ALTER arrives as a DDL query event");
      // Classified once as it was read; the entry and the filters take it from the event.
      assert.deepEqual(ddl.statement, {
        kind: "ALTER",
        tables: [{ schema: "app", table: "t" }],
        isDdl: true,
      });
      const boundary = reader.boundary;
      const last = positioned.at(-1) as SourceEvent;
      assert.equal(boundary.file, last.file);
      assert.equal(boundary.position, last.nextOffset);
      assert.match(boundary.gtidState, /^0-1-\d+$/);
    } finally {
      await reader.stop();
    }
  });

  test("FLOAT(M,D) and DOUBLE(M,D) keep their D decimals as the server prints them; ZEROFILL is not padded (canal's way)", async () => {
    await db.query(
      "CREATE TABLE app.fl (id INT PRIMARY KEY, f73 FLOAT(7,3), d102 DOUBLE(10,2), f FLOAT, d DOUBLE, " +
        "z INT(5) UNSIGNED ZEROFILL, zf FLOAT(6,2) ZEROFILL)",
    );
    const values = "(1, 1.5, 1.5, 1.5, 1.5, 42, 3.5), (2, -0.0005, 12345678.125, 0.1, 0.1, 0, 0)";
    const rowsOf = async (schemaLookup: "auto" | "never") => {
      const events: SourceEvent[] = [];
      const reader = new BinlogReader({
        source: parseSourceUrl(db.sourceUrl),
        schemaLookup,
        onEvent: (e) => events.push(e),
        onFatal: (e) => assert.fail(e),
      });
      await reader.start();
      try {
        await db.query(`DELETE FROM app.fl; INSERT INTO app.fl VALUES ${values}`);
        await until("the insert", () =>
          events.some((e) => e.event.type === "rows" && e.event.kind === "insert"),
        );
        const ev = events.find((e) => e.event.type === "rows" && e.event.kind === "insert")?.event;
        assert.ok(ev?.type === "rows" && ev.kind === "insert");
        return { rows: ev.rows, types: ev.table.columns.map((c) => c.typeName) };
      } finally {
        await reader.stop();
      }
    };
    const { rows, types } = await rowsOf("auto");
    // What the server's own client prints, ZEROFILL padding taken off (sluice, like canal, sends
    // the number: docs/values.md).
    const printed = db
      .cli("SELECT * FROM app.fl ORDER BY id")
      .trim()
      .split("\n")
      .map((l) => l.split("\t").map((v, i) => (i >= 5 ? v.replace(/^0+(?=\d)/, "") : v)));
    assert.deepEqual(rows, printed);
    assert.deepEqual(rows[0], ["1", "1.500", "1.50", "1.5", "1.5", "42", "3.50"]);
    assert.deepEqual(types, [
      "int",
      "float(7,3)",
      "double(10,2)",
      "float",
      "double",
      "int unsigned",
      "float(6,2) unsigned",
    ]);
    // Without a lookup nothing tells D: the value is then FLOAT's or DOUBLE's shortest text.
    const never = await rowsOf("never");
    assert.deepEqual(never.rows[0], ["1", "1.5", "1.5", "1.5", "1.5", "42", "3.5"]);
    assert.deepEqual(never.types.slice(1, 3), ["float", "double"]);
  });

  test("SET GLOBAL time_zone on the source is followed, checked periodically and at reconnect, with a log line", async () => {
    await db.query("CREATE TABLE app.tz (id INT PRIMARY KEY, ts TIMESTAMP NULL)");
    await db.query("SET GLOBAL time_zone = '+00:00'");
    const run = async (checkMs: number, to: string, change: (reader: BinlogReader) => Promise<void>) => {
      const events: SourceEvent[] = [];
      const log: string[] = [];
      const reader = new BinlogReader({
        source: parseSourceUrl(db.sourceUrl),
        timeZoneCheckMs: checkMs,
        reconnectInitialMs: 20,
        logger: createLogger("reader", (l) => log.push(l)),
        onEvent: (e) => events.push(e),
        onFatal: (e) => assert.fail(e),
      });
      await reader.start();
      try {
        const values = () =>
          events.flatMap((e) => (e.event.type === "rows" && e.event.kind === "insert" ? e.event.rows : []));
        // The same instant each time: 2024-01-01 00:00:00 UTC.
        const insert = (id: number) =>
          db.query(`SET time_zone = '+00:00'; INSERT INTO app.tz VALUES (${id}, '2024-01-01 00:00:00')`);
        await db.query("DELETE FROM app.tz");
        await insert(1);
        await until("the first row", () => values().length === 1);
        await db.query(`SET GLOBAL time_zone = '${to}'`);
        await change(reader);
        await until("the reader to follow", () => reader.timeZone === to);
        await insert(2);
        await until("the second row", () => values().length === 2);
        const printed = db
          .cli("SELECT id, ts FROM app.tz ORDER BY id")
          .trim()
          .split("\n")
          .map((l) => l.split("\t"));
        return { values: values(), printed, log: log.join("") };
      } finally {
        await reader.stop();
      }
    };
    try {
      const periodic = await run(100, "+05:30", async () => {});
      assert.deepEqual(periodic.values, [
        ["1", "2024-01-01 00:00:00"],
        ["2", "2024-01-01 05:30:00"],
      ]);
      assert.deepEqual(
        periodic.printed[1],
        ["2", "2024-01-01 05:30:00"],
        "as the source's client prints it now",
      );
      assert.match(
        periodic.log,
        /the source's time zone changed: .* from=\+00:00 to=\+05:30 after=mysql-bin\.\d+:\d+/,
      );

      await db.query("SET GLOBAL time_zone = '+00:00'");
      const reconnect = await run(0, "-03:00", () => killDumpThreadOnceConnected(db));
      assert.deepEqual(reconnect.values, [
        ["1", "2024-01-01 00:00:00"],
        ["2", "2023-12-31 21:00:00"],
      ]);
      assert.match(reconnect.log, /the source's time zone changed: .* from=\+00:00 to=-03:00/);
    } finally {
      await db.query("SET GLOBAL time_zone = 'SYSTEM'");
    }
  });

  test("reconnects after the connection is killed, repeating and losing nothing", async () => {
    await db.query("CREATE TABLE app.seq (id INT PRIMARY KEY, pad VARCHAR(100))");
    const events: SourceEvent[] = [];
    const fatal: Error[] = [];
    const reader = new BinlogReader({
      source: parseSourceUrl(db.sourceUrl),
      onEvent: (e) => events.push(e),
      onFatal: (e) => fatal.push(e),
      reconnectInitialMs: 20,
      reconnectMaxMs: 200,
    });
    await reader.start();
    try {
      let next = 1;
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < 25; i++, next++) {
          await db.query("INSERT INTO app.seq VALUES (?, REPEAT('x', 100))", [next]);
        }
        await killDumpThreadOnceConnected(db);
      }
      const total = next - 1;
      await until(`${total} rows`, () => insertedIds(events, "seq").length >= total);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(fatal, []);
      assert.ok(reader.stats.reconnects >= 8, `reconnected ${reader.stats.reconnects} times`);
      assert.deepEqual(
        insertedIds(events, "seq"),
        Array.from({ length: total }, (_, i) => i + 1),
      );
    } finally {
      await reader.stop();
    }
  });

  test("a connection lost inside a large transaction resumes at its start and skips what was delivered", async () => {
    await db.query("CREATE TABLE app.big (id INT PRIMARY KEY, pad VARCHAR(200))");
    const events: SourceEvent[] = [];
    const fatal: Error[] = [];
    let reader!: BinlogReader;
    let pausedOnce = false;
    reader = new BinlogReader({
      source: parseSourceUrl(db.sourceUrl),
      onEvent: (e) => {
        events.push(e);
        if (!pausedOnce && e.event.type === "rows" && e.event.table.name === "big") {
          pausedOnce = true;
          reader.pause();
        }
      },
      onFatal: (e) => fatal.push(e),
      reconnectInitialMs: 20,
    });
    await reader.start();
    try {
      const n = 30_000;
      await db.query(`INSERT INTO app.big SELECT seq, REPEAT('y', 200) FROM app.seq_1_to_${n}`);
      await until("the first rows event", () => pausedOnce);
      await killDumpThreadOnceConnected(db);
      reader.resume();
      await until(`${n} rows`, () => insertedIds(events, "big").length >= n, 60_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(fatal, []);
      const ids = insertedIds(events, "big");
      assert.equal(ids.length, n);
      assert.deepEqual(
        ids,
        Array.from({ length: n }, (_, i) => i + 1),
      );
      const begins = events.filter((e) => e.event.type === "mariadb_gtid" && e.offset > 0);
      assert.equal(new Set(begins.map((e) => e.offset)).size, begins.length, "no GTID event delivered twice");
      assert.ok(reader.stats.reconnects >= 1, "the reader reconnected");
      assert.ok(
        reader.stats.suppressedEvents >= 3,
        "it read the transaction's start again without delivering it",
      );
    } finally {
      await reader.stop();
    }
  });
});

/** Rewrites a closed binlog file of the server with its `nth` rows event of `table` repeated or removed. */
async function tamper(path: string, tableId: number, nth: number, how: "repeat" | "remove"): Promise<number> {
  const bytes = readFileSync(path);
  let seen = 0;
  for await (const raw of readBinlogEvents(path)) {
    const type = raw.bytes[4] as number;
    const isRows = (type >= 23 && type <= 25) || (type >= 30 && type <= 32);
    if (!isRows || raw.bytes.readUIntLE(19, 6) !== tableId || ++seen !== nth) continue;
    const end = raw.offset + raw.bytes.length;
    const event = bytes.subarray(raw.offset, end);
    writeFileSync(
      path,
      how === "repeat"
        ? Buffer.concat([bytes.subarray(0, end), event, bytes.subarray(end)])
        : Buffer.concat([bytes.subarray(0, raw.offset), bytes.subarray(end)]),
    );
    return how === "repeat" ? end : raw.offset;
  }
  throw new Error(`no rows event #${nth} of table id ${tableId} in ${path}`);
}

describe("binlog reader on a source whose binlog has events repeated or removed", () => {
  let db: MariaDB;
  before(async () => {
    db = await startMariaDB();
    await db.query("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY)");
  });
  after(async () => {
    await db?.stop();
  });

  /** Writes ids 1; 2, 3 (one transaction, two rows events); 4 in a file of their own, closed. */
  async function closedFile(): Promise<{ file: string; path: string; tableId: number }> {
    await db.query("DELETE FROM app.t");
    await db.query("FLUSH BINARY LOGS");
    const [status] = await db.query<Array<{ File: string }>>("SHOW MASTER STATUS");
    const file = (status as { File: string }).File;
    await db.query("INSERT INTO app.t VALUES (1)");
    await db.query("BEGIN; INSERT INTO app.t VALUES (2); INSERT INTO app.t VALUES (3); COMMIT");
    await db.query("INSERT INTO app.t VALUES (4)");
    await db.query("FLUSH BINARY LOGS");
    const path = join(db.dataDir, file);
    let tableId = -1;
    for await (const raw of readBinlogEvents(path)) {
      if (raw.bytes[4] === 19) tableId = raw.bytes.readUIntLE(19, 6);
    }
    return { file, path, tableId };
  }

  async function readUntilFatal(file: string) {
    const events: SourceEvent[] = [];
    const fatal: Error[] = [];
    const reader = new BinlogReader({
      source: parseSourceUrl(db.sourceUrl),
      start: { kind: "file", file, position: 4 },
      onEvent: (e) => events.push(e),
      onFatal: (e) => fatal.push(e),
      reconnectInitialMs: 20,
    });
    await reader.start();
    try {
      await until("the reader to stop", () => fatal.length > 0);
      return { ids: insertedIds(events, "t"), error: fatal[0] as Error, reconnects: reader.stats.reconnects };
    } finally {
      await reader.stop();
    }
  }

  test("a repeated rows event: one reconnect, then it stops naming the place; nothing is delivered twice", async () => {
    const { file, path, tableId } = await closedFile();
    const at = await tamper(path, tableId, 2, "repeat");
    const { ids, error, reconnects } = await readUntilFatal(file);
    assert.ok(error instanceof ChainBreakError, String(error));
    assert.match(error.message, new RegExp(`${file}:\\d+ (WRITE_ROWS_V1|WRITE_ROWS)_EVENT: `));
    assert.match(error.message, /repeats earlier bytes\): events are missing or duplicated here/);
    assert.equal(reconnects, 1, "a break is read again once, in case the connection caused it");
    assert.deepEqual(ids, [1, 2], "the rows before the repeat, once");
    assert.ok(at > 4);
  });

  test("a removed rows event: it stops at the event after the gap", async () => {
    // The dump leaves out ANNOTATE_ROWS (not asked for), so a gap before a statement's first
    // TABLE_MAP is normal; one right after a TABLE_MAP is not.
    for (const [nth, next, ids] of [
      [2, "TABLE_MAP_EVENT", [1]],
      [3, "XID_EVENT", [1, 2]],
    ] as const) {
      const { file, path, tableId } = await closedFile();
      await tamper(path, tableId, nth, "remove");
      const { ids: got, error } = await readUntilFatal(file);
      assert.ok(error instanceof ChainBreakError, String(error));
      assert.match(error.message, new RegExp(`${file}:\\d+ ${next}: .*skips \\d+ bytes`));
      assert.deepEqual(got, ids);
    }
  });
});

describe("binlog reader with MINIMAL row metadata", () => {
  let db: MariaDB;
  before(async () => {
    db = await startMariaDB({ extraArgs: ["--binlog-row-metadata=MINIMAL"] });
    await db.query(
      "CREATE DATABASE app; CREATE TABLE app.m (id INT UNSIGNED PRIMARY KEY, name VARCHAR(20) CHARACTER SET latin1, e ENUM('x','y''z'))",
    );
  });
  after(async () => {
    await db?.stop();
  });

  test("names, charsets, keys and enum labels come from information_schema, and follow DDL", async () => {
    const events: SourceEvent[] = [];
    const reader = new BinlogReader({
      source: parseSourceUrl(db.sourceUrl),
      onEvent: (e) => events.push(e),
      onFatal: (e) => assert.fail(e),
    });
    await reader.start();
    try {
      await db.query("INSERT INTO app.m VALUES (4294967295, 'café', 'y''z')");
      // information_schema describes the table as it is now (the fallback's documented limit):
      // let the reader see the first row before the table changes.
      await until("the first insert", () => events.some((e) => e.event.type === "rows"));
      await db.query("ALTER TABLE app.m ADD COLUMN extra INT FIRST");
      await db.query("INSERT INTO app.m VALUES (7, 1, 'señor', 'x')");
      await until("two inserts", () => events.filter((e) => e.event.type === "rows").length === 2);
      const [first, second] = events.filter((e) => e.event.type === "rows").map((e) => e.event) as Array<
        Extract<SourceEvent["event"], { type: "rows" }>
      >;
      assert.deepEqual(
        first?.table.columns.map((c) => c.name),
        ["id", "name", "e"],
      );
      assert.equal(first?.table.columns[0]?.isKey, true);
      assert.deepEqual(first?.kind === "insert" ? first.rows[0] : undefined, ["4294967295", "café", "y'z"]);
      assert.deepEqual(
        second?.table.columns.map((c) => c.name),
        ["extra", "id", "name", "e"],
      );
      assert.deepEqual(second?.kind === "insert" ? second.rows[0] : undefined, ["7", "1", "señor", "x"]);
    } finally {
      await reader.stop();
    }
  });
});
