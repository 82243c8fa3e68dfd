// One fault's story from every process's log: the lines of the servers, gateways, haproxy and
// consumers between two times, merged in time order, each as "+ms name: text" from the fault.
// Sluice and haproxy lines start with an ISO time; consumer event lines carry it as "t".
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";

const ISO_AT_START = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\s?/;

/** The time a log line was written, or undefined for a line without one. */
export function lineTime(line: string): number | undefined {
  const iso = ISO_AT_START.exec(line);
  if (iso) {
    // Date.parse takes milliseconds; haproxy writes microseconds.
    const t = Date.parse((iso[1] as string).replace(/(\.\d{3})\d+/, "$1"));
    return Number.isNaN(t) ? undefined : t;
  }
  const t = /^\{"ev":"[a-z]+","t":(\d+)/.exec(line);
  return t ? Number(t[1]) : undefined;
}

/** The lines of `files` written in [from, to], merged, relative to `zero`. */
export function timeline(files: string[], zero: number, from: number, to: number): string[] {
  const out: { t: number; text: string }[] = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const name = basename(file).replace(/\.log$/, "");
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const t = lineTime(line);
      if (t === undefined || t < from || t > to) continue;
      const text = line.replace(ISO_AT_START, "").slice(0, 400);
      const at = t - zero;
      out.push({ t, text: `${`${at < 0 ? "" : "+"}${at}`.padStart(7)} ms ${name}: ${text}` });
    }
  }
  // A stable sort keeps each file's own order among lines of the same millisecond.
  return out.sort((a, b) => a.t - b.t).map((l) => l.text);
}
