// `sluice cursor show|set|reset`: a clientId's cursor, read and moved by an administrator
// (AdminService.GetDestination / SetCursor).

import { createSluiceClient, type Position } from "../clients/typescript/index.js";
import type { SetCursorRequest } from "../gen/sluice/v1/admin_service_pb.js";
import { CLIENT_TLS_HELP, CLIENT_TLS_OPTIONS, withTls } from "./client-tls.js";
import { CLIENT_TOKEN_HELP, clientToken } from "./client-token.js";
import { type Command, EXIT_FAILURE, EXIT_OK, UsageError } from "./command.js";
import { reportClientError } from "./connect-exit.js";
import { parseCommandArgs } from "./parse-args.js";
import { serverUrl } from "./tail-command.js";

const HELP = `Usage: sluice cursor show  -d DESTINATION [-c CLIENT_ID] [options]
       sluice cursor set   -d DESTINATION -c CLIENT_ID TARGET [options]
       sluice cursor reset -d DESTINATION -c CLIENT_ID [options]

show prints the clientIds' cursors (or one's). set moves a clientId's cursor; reset moves it
back to where the destination starts new clients (its configured start, else the head).
The cursor is durable when the command returns; the clientId's outstanding batches are given
back and it receives the changes after the new cursor. Refused while a consumer holds the
clientId: stop it first. Also the way out when the source purged the binlog a cursor points
into: set every stuck clientId's cursor, and the destination starts again.

TARGET, exactly one of:
  --head                  the end of the last transaction read (the source's current
                          position when the destination cannot read)
  --position FILE:POS     a binlog file and offset between transactions, e.g.
                          mysql-bin.000003:4 (the start of a file is always one)
  --gtid SET              before the first transaction not in a MySQL GTID set
                          ("3E11FA47-...:1-5") or MariaDB GTID state ("0-1-100")
  --timestamp TIME        before the first transaction at or after TIME (whole seconds, as
                          the binlog keeps them): ISO 8601
                          ("2024-06-01T08:00:00Z") or milliseconds since the epoch

Options:
  --server URL            server or gateway (default $SLUICE_URL or http://127.0.0.1:11113;
                          https://... for TLS)
${CLIENT_TLS_HELP}
  -d, --destination NAME  the destination (required)
  -c, --client-id ID      the clientId (required for set and reset)
  -h, --help              this help

${CLIENT_TOKEN_HELP}

Exit codes: 0 ok, 1 refused (held, unknown file...) or unreachable, 2 bad usage, 3 unknown
destination.`;

interface Values {
  server?: string;
  ca?: string;
  cert?: string;
  key?: string;
  destination?: string;
  "client-id"?: string;
  head?: boolean;
  position?: string;
  gtid?: string;
  timestamp?: string;
}

export const cursorCommand: Command = {
  name: "cursor",
  summary: "show, set or reset a clientId's cursor",
  help: HELP,
  async run(args) {
    const [action, ...rest] = args;
    if (action !== "show" && action !== "set" && action !== "reset") {
      throw new UsageError(`say show, set or reset, got ${action === undefined ? "nothing" : `"${action}"`}`);
    }
    let values: Values;
    try {
      ({ values } = parseCommandArgs({
        args: rest,
        options: {
          server: { type: "string" },
          ...CLIENT_TLS_OPTIONS,
          destination: { type: "string", short: "d" },
          "client-id": { type: "string", short: "c" },
          head: { type: "boolean" },
          position: { type: "string" },
          gtid: { type: "string" },
          timestamp: { type: "string" },
        },
      }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const destination = values.destination;
    if (!destination) throw new UsageError("-d/--destination is required");
    const clientId = values["client-id"];
    const client = createSluiceClient({
      baseUrl: serverUrl(values.server),
      ...clientToken(),
      ...withTls(serverUrl(values.server), values),
    });
    if (action === "show") return show(client, destination, clientId);
    if (!clientId) throw new UsageError(`-c/--client-id is required for ${action}`);
    const target = action === "reset" ? resetTarget(values) : setTarget(values);
    try {
      const res = await client.admin.setCursor({ destination, clientId, target }, { timeoutMs: 120_000 });
      const given = res.givenBackBatchIds.length
        ? `; gave back batches ${res.givenBackBatchIds.join(", ")}`
        : "";
      process.stdout.write(
        `${destination}/${clientId}: cursor ${position(res.previous)} -> ${position(res.cursor)}${given}\n`,
      );
    } catch (err) {
      return reportClientError("cursor", err);
    }
    return EXIT_OK;
  },
};

async function show(
  client: ReturnType<typeof createSluiceClient>,
  destination: string,
  clientId: string | undefined,
): Promise<number> {
  try {
    const res = await client.admin.getDestination({ destination }, { timeoutMs: 10_000 });
    const clients = (res.destination?.clients ?? []).filter((c) => !clientId || c.clientId === clientId);
    if (clientId && clients.length === 0) {
      process.stderr.write(`sluice cursor: ${destination} has no client ${clientId}\n`);
      return EXIT_FAILURE;
    }
    for (const c of clients) process.stdout.write(`${destination}/${c.clientId}: ${position(c.cursor)}\n`);
  } catch (err) {
    return reportClientError("cursor", err);
  }
  return EXIT_OK;
}

function resetTarget(v: Values): SetCursorRequest["target"] {
  if (v.head || v.position || v.gtid || v.timestamp)
    throw new UsageError("reset takes no target; use set for one");
  return { case: "reset", value: true };
}

function setTarget(v: Values): SetCursorRequest["target"] {
  const given = [
    v.head && "--head",
    v.position && "--position",
    v.gtid && "--gtid",
    v.timestamp && "--timestamp",
  ];
  const targets = given.filter(Boolean);
  if (targets.length !== 1) {
    throw new UsageError(
      targets.length === 0
        ? "give a target: --head, --position FILE:POS, --gtid SET or --timestamp TIME"
        : `give one target, got ${targets.join(" and ")}`,
    );
  }
  if (v.head) return { case: "head", value: true };
  if (v.gtid) return { case: "gtid", value: v.gtid };
  if (v.timestamp) return { case: "timestamp", value: BigInt(parseTime(v.timestamp)) };
  const text = v.position as string;
  const colon = text.lastIndexOf(":");
  const pos = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isSafeInteger(pos) || pos < 4) {
    throw new UsageError(`--position must be FILE:POS, e.g. mysql-bin.000003:4, got "${text}"`);
  }
  return {
    case: "position",
    value: {
      $typeName: "sluice.v1.Position",
      journalName: text.slice(0, colon),
      position: BigInt(pos),
      gtid: "",
      timestamp: 0n,
      serverId: 0n,
      included: false,
    },
  };
}

function parseTime(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new UsageError(
      `--timestamp must be an ISO 8601 time or milliseconds since the epoch, got "${text}"`,
    );
  }
  return ms;
}

function position(p: Position | undefined): string {
  if (!p) return "(none)";
  const gtid = p.gtid ? ` gtid ${p.gtid}` : "";
  return `${p.journalName}:${p.position}${gtid}`;
}
