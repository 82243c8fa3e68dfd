// `sluice skip-event`: passes over the one binlog event a destination stopped on
// (AdminService.SkipEvent), after an operator decided its changes may be lost.

import { createSluiceClient } from "../clients/typescript/index.js";
import { CLIENT_TLS_HELP, CLIENT_TLS_OPTIONS, withTls } from "./client-tls.js";
import { CLIENT_TOKEN_HELP, clientToken } from "./client-token.js";
import { type Command, EXIT_OK, UsageError } from "./command.js";
import { reportClientError } from "./connect-exit.js";
import { parseCommandArgs } from "./parse-args.js";
import { serverUrl } from "./tail-command.js";

const HELP = `Usage: sluice skip-event -d DESTINATION --at FILE:POSITION [options]

Passes over the binlog event a destination stopped on, as 'sluice status' shows it
("stopped at FILE:POSITION"). The row changes in that event are never delivered to any
client. The skip is stored, so every server that runs the destination later passes over
the same event; the destination then starts again from its clients' cursors.

Only the event the destination stopped on can be skipped. A TABLE_MAP event takes the rows
events of its table that follow it (up to that table's next TABLE_MAP) with it. To pass
over every undecodable event of a table as it comes, set filterTableError on the
destination instead (docs/configuration.md); to leave a table out, use blackFilter.

Options:
  --server URL            server or gateway (default $SLUICE_URL or http://127.0.0.1:11113;
                          https://... for TLS)
${CLIENT_TLS_HELP}
  -d, --destination NAME  the destination (required)
  --at FILE:POSITION      the event, e.g. mysql-bin.000003:4711 (required)
  -h, --help              this help

${CLIENT_TOKEN_HELP}

Exit codes: 0 skipped, 1 refused (the destination did not stop on that event, or the event
cannot be skipped; the message says why) or unreachable, 2 bad usage, 3 unknown destination.`;

export const skipEventCommand: Command = {
  name: "skip-event",
  summary: "pass over the one binlog event a destination stopped on",
  help: HELP,
  async run(args) {
    let values: {
      server?: string;
      ca?: string;
      cert?: string;
      key?: string;
      destination?: string;
      at?: string;
    };
    try {
      ({ values } = parseCommandArgs({
        args,
        options: {
          server: { type: "string" },
          ...CLIENT_TLS_OPTIONS,
          destination: { type: "string", short: "d" },
          at: { type: "string" },
        },
      }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!values.destination) throw new UsageError("-d/--destination is required");
    const at = parseAt(values.at);
    const client = createSluiceClient({
      baseUrl: serverUrl(values.server),
      ...clientToken(),
      ...withTls(serverUrl(values.server), values),
    });
    try {
      const res = await client.admin.skipEvent(
        { destination: values.destination, journalName: at.file, position: BigInt(at.position) },
        { timeoutMs: 60_000 },
      );
      const s = res.skipped;
      process.stdout.write(
        `skipped ${s?.eventType ?? "event"} at ${at.file}:${at.position}` +
          `${s?.table ? ` (${s.table})` : ""}; destination ${values.destination} starts again from its clients' cursors\n`,
      );
    } catch (err) {
      return reportClientError("skip-event", err);
    }
    return EXIT_OK;
  },
};

function parseAt(text: string | undefined): { file: string; position: number } {
  if (!text)
    throw new UsageError(
      "--at FILE:POSITION is required (sluice status shows where the destination stopped)",
    );
  const colon = text.lastIndexOf(":");
  const file = text.slice(0, colon);
  const position = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isSafeInteger(position) || position <= 0) {
    throw new UsageError(`--at must be FILE:POSITION, e.g. mysql-bin.000003:4711, got "${text}"`);
  }
  return { file, position };
}
