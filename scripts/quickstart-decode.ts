// How the quickstart shows a row change: one readable line per row, from the flat form.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { FlatMessage } from "../src/gen/sluice/v1/flat_message_pb.js";

export function formatChange(m: FlatMessage): string[] {
  const where = `${m.database}.${m.table}`;
  if (m.isDdl) return [`${m.type.padEnd(6)} ${where}  ${m.sql}`];
  return m.data.map((row, i) => {
    if (m.type === "UPDATE") {
      const old = m.old[i] ?? {};
      const key = m.pkNames.map((k) => `${k}=${show(row[k])}`).join(" ");
      const changes = Object.keys(old).map((k) => `${k}: ${show(old[k])} → ${show(row[k])}`);
      return `${m.type.padEnd(6)} ${where}  ${key}  ${changes.join(", ")}`;
    }
    return `${m.type.padEnd(6)} ${where}  ${fields(row)}`;
  });
}

function fields(row: JsonObject): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(" ");
}

function show(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return "NULL";
  const s = String(v);
  return /^[\w.:-]+$/.test(s) ? s : JSON.stringify(s);
}
