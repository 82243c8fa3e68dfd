// `sluice status`: destinations, their running and standby servers, head, and each clientId's
// cursor, holder, outstanding batches and lag, from AdminService (of a server or a gateway).

import { toJsonString } from "@bufbuild/protobuf";
import {
  createSluiceClient,
  type DestinationFilter,
  type DestinationStatus,
  type Position,
} from "../clients/typescript/index.js";
import { DestinationFailure_Fix, ListDestinationsResponseSchema } from "../gen/sluice/v1/admin_service_pb.js";
import { CLIENT_TLS_HELP, CLIENT_TLS_OPTIONS, withTls } from "./client-tls.js";
import { CLIENT_TOKEN_HELP, clientToken } from "./client-token.js";
import { type Command, EXIT_OK, UsageError } from "./command.js";
import { reportClientError } from "./connect-exit.js";
import { parseCommandArgs } from "./parse-args.js";
import { serverUrl } from "./tail-command.js";

const HELP = `Usage: sluice status [options]

Shows every destination (or one): the server running it (address, epoch, since when), the
standby servers, the head position, and each clientId's cursor, lag, outstanding batches,
holder and filter.

Options:
  --server URL            server or gateway (default $SLUICE_URL or http://127.0.0.1:11113;
                          https://... for TLS)
${CLIENT_TLS_HELP}
  -d, --destination NAME  only this destination
  --json                  AdminService's ListDestinationsResponse as JSON (proto3 JSON form)
  -h, --help              this help

${CLIENT_TOKEN_HELP}

Exit codes: 0 ok, 1 runtime failure (the server refused or could not be reached), 2 bad
usage, 3 unknown destination.`;

export const statusCommand: Command = {
  name: "status",
  summary: "destinations, running and standby servers, clients with cursor and lag",
  help: HELP,
  async run(args) {
    let values: {
      server?: string;
      ca?: string;
      cert?: string;
      key?: string;
      destination?: string;
      json?: boolean;
    };
    try {
      ({ values } = parseCommandArgs({
        args,
        options: {
          server: { type: "string" },
          ...CLIENT_TLS_OPTIONS,
          destination: { type: "string", short: "d" },
          json: { type: "boolean" },
        },
      }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const client = createSluiceClient({
      baseUrl: serverUrl(values.server),
      ...clientToken(),
      ...withTls(serverUrl(values.server), values),
    });
    let destinations: DestinationStatus[];
    try {
      if (values.destination !== undefined) {
        const res = await client.admin.getDestination(
          { destination: values.destination },
          { timeoutMs: 10_000 },
        );
        destinations = res.destination ? [res.destination] : [];
      } else {
        destinations = (await client.admin.listDestinations({}, { timeoutMs: 10_000 })).destinations;
      }
    } catch (err) {
      return reportClientError("status", err);
    }
    if (values.json) {
      const json = toJsonString(ListDestinationsResponseSchema, {
        $typeName: "sluice.v1.ListDestinationsResponse",
        destinations,
      });
      process.stdout.write(`${json}\n`);
    } else {
      process.stdout.write(render(destinations));
    }
    return EXIT_OK;
  },
};

function render(destinations: DestinationStatus[]): string {
  if (destinations.length === 0) return "no destinations\n";
  const lines: string[] = [];
  for (const d of destinations) {
    const running = d.running
      ? `${d.running.address} (epoch ${d.running.epoch}, since ${time(d.running.since)})`
      : "none (election in progress, or no live server can run it)";
    lines.push(`destination ${d.name}`);
    lines.push(`  running   ${running}`);
    lines.push(`  standbys  ${d.standbys.length > 0 ? d.standbys.join(", ") : "-"}`);
    lines.push(`  head      ${position(d.head)}`);
    const f = d.failure;
    if (f) {
      lines.push(`  STOPPED   since ${time(f.since)}: ${f.message}`);
      if (f.fix === DestinationFailure_Fix.SKIP_EVENT) {
        lines.push(
          `            to pass over that one event: sluice skip-event -d ${d.name} --at ${f.journalName}:${f.position}`,
        );
      } else if (f.fix === DestinationFailure_Fix.SET_CURSOR) {
        lines.push(
          `            move each client's cursor where the source can stream from: sluice cursor set -d ${d.name} -c CLIENT_ID --head`,
        );
      }
    }
    if (d.filter) lines.push(`  filters   ${filters(d.filter)}`);
    if (d.eventsSkipped > 0n)
      lines.push(`  skipped   ${d.eventsSkipped} events (sluice_binlog_events_skipped_total)`);
    if (d.clients.length === 0) {
      lines.push("  no clients");
    } else {
      const rows = [
        ["CLIENT", "CURSOR", "LAG", "OUTSTANDING", "HOLDER", "FILTER"],
        ...d.clients.map((c) => [
          c.clientId,
          position(c.cursor),
          c.lagMs < 0n ? "?" : `${(Number(c.lagMs) / 1000).toFixed(1)}s`,
          String(c.outstandingBatches),
          c.holder ? `${c.holder} since ${time(c.holderSince)}` : "-",
          c.filter || "(default)",
        ]),
      ];
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
      for (const r of rows)
        lines.push(
          `  ${r
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join("  ")
            .trimEnd()}`,
        );
    }
    lines.push("");
  }
  return `${lines.join("\n")}`;
}

function filters(f: DestinationFilter): string {
  const parts = [
    f.filter && `filter ${f.filter}`,
    f.blackFilter && `blackFilter ${f.blackFilter}`,
    f.fieldFilter && `fieldFilter ${f.fieldFilter}`,
    f.fieldBlackFilter && `fieldBlackFilter ${f.fieldBlackFilter}`,
    f.filterQueryDdl && "filterQueryDdl",
    f.filterTableError && "filterTableError",
  ];
  return parts.filter(Boolean).join(" | ");
}

function position(p: Position | undefined): string {
  if (!p) return "-";
  const at = `${p.journalName}:${p.position}`;
  const gtid = p.gtid ? ` gtid ${p.gtid}` : "";
  return p.timestamp > 0n ? `${at}${gtid} (${time(p.timestamp)})` : `${at}${gtid}`;
}

function time(ms: bigint): string {
  return ms > 0n ? new Date(Number(ms)).toISOString().replace(".000Z", "Z") : "-";
}
