// canal's meta.dat (FileMixedMetaManager's JSON) read for import: clients with and without a
// cursor, GTID or not, other destinations' clients left out, broken files named.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCanalMetaFile } from "../../../src/server/meta/canal-meta-file.js";

test("clients with their filter and cursor, as canal writes them", () => {
  const text = JSON.stringify({
    clientDatas: [
      {
        clientIdentity: { clientId: 1001, destination: "example", filter: ".*\\..*" },
        cursor: {
          identity: { slaveId: -1, sourceAddress: { address: "localhost", port: 3306 } },
          postion: {
            gtid: "",
            included: false,
            journalName: "mysql-bin.000004",
            position: 15570,
            serverId: 1,
            timestamp: 1576565961000,
          },
        },
      },
      // Subscribed, never acked: no cursor.
      { clientIdentity: { clientId: 1002, destination: "example", filter: "" } },
      // canal before 1.1.5 wrote no gtid.
      {
        clientIdentity: { clientId: 1003, destination: "example" },
        cursor: {
          postion: {
            included: false,
            journalName: "binlog.008335",
            position: 221691106,
            serverId: 2,
            timestamp: 1,
          },
        },
      },
      // Another destination's client: canal keeps only its own.
      { clientIdentity: { clientId: 1004, destination: "other", filter: "" } },
    ],
    destination: "example",
  });
  assert.deepEqual(parseCanalMetaFile(text, "example"), [
    {
      clientId: "1001",
      filter: ".*\\..*",
      cursor: {
        journalName: "mysql-bin.000004",
        position: 15570,
        gtid: "",
        timestamp: 1576565961000,
        serverId: 1,
      },
    },
    { clientId: "1002", filter: "" },
    {
      clientId: "1003",
      filter: "",
      cursor: { journalName: "binlog.008335", position: 221691106, gtid: "", timestamp: 1, serverId: 2 },
    },
  ]);
});

test("an empty file's JSON, and broken ones, each said plainly", () => {
  assert.deepEqual(parseCanalMetaFile('{"destination":"example"}', "example"), []);
  assert.throws(() => parseCanalMetaFile("{oops", "example"), /^Error: not JSON: /);
  assert.throws(() => parseCanalMetaFile('{"clientDatas":{}}', "example"), /"clientDatas" is not a list/);
  assert.throws(
    () => parseCanalMetaFile('{"clientDatas":[{}]}', "example"),
    /clientDatas\[0\] has no clientIdentity/,
  );
  assert.throws(
    () =>
      parseCanalMetaFile(
        '{"clientDatas":[{"clientIdentity":{"clientId":1,"destination":"example"},"cursor":{"postion":{"position":4}}}]}',
        "example",
      ),
    /clientDatas\[0\].cursor.postion lacks journalName or position/,
  );
});
