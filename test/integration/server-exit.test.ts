// A server that the source refuses for good (here: a user without REPLICATION SLAVE and
// BINLOG MONITOR) says why and exits non-zero, standalone and elected, so that a supervisor
// restarts it; it does not hang with its connections open.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { type MariaDB, startMariaDB } from "../harness/mariadb.js";
import { makeTempDir, removeDir } from "../harness/processes.js";
import { SLUICE_MAIN } from "../harness/sluice-server.js";
import { startZooKeeper, type ZooKeeper } from "../harness/zookeeper.js";

/** Runs `sluice server` until it exits, or kills it after 60 s ("hung"). */
function runServer(args: string[]): Promise<{ code: number | string; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      [SLUICE_MAIN, "server", "--host=127.0.0.1", "--port=0", "--metrics-port=off", ...args],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    p.stdout.on("data", (d) => (output += d));
    p.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    p.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? "hung", output });
    });
  });
}

describe("a source that refuses the server for good", () => {
  let db: MariaDB;
  let zk: ZooKeeper;
  let dir: string;
  let source: string;
  before(async () => {
    [db, zk] = await Promise.all([startMariaDB(), startZooKeeper()]);
    await db.query(
      "CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'weakpw'; GRANT SELECT ON *.* TO 'weak'@'127.0.0.1'",
    );
    source = `--source=mysql://weak:weakpw@127.0.0.1:${db.port}`;
    dir = makeTempDir("server-exit");
  });
  after(async () => {
    await Promise.all([db?.stop(), zk?.stop()]);
    removeDir(dir);
  });

  test("standalone: the error names the privilege, and the process exits 1", async () => {
    const r = await runServer([source, `--data-dir=${dir}/a`, "--destination=example"]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /BINLOG MONITOR/);
  });

  test("elected: the same, instead of giving the destination up and trying again forever", async () => {
    const r = await runServer([
      source,
      `--data-dir=${dir}/b`,
      "--destination=example",
      `--zk=${zk.connectString}`,
    ]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /BINLOG MONITOR/);
  });
});
