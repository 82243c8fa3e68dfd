// Sluice's version: package.json's, read from the package root (three folders up from this
// compiled file, dist/src/common/version.js).
import { readFileSync } from "node:fs";

let version: string | undefined;

export function sluiceVersion(): string {
  version ??= (
    JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
  return version;
}
