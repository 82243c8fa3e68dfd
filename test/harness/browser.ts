// Headless Chromium for tests of pages the processes serve: Debian's chromium (installed when
// missing, as MariaDB and ZooKeeper are), driven by playwright-core, which downloads no browser.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { CHROMIUM, ensureSystemPackages } from "./system-packages.js";

const EXECUTABLE = "/usr/bin/chromium";

/** Where tests keep what a person looks at afterwards (screenshots): test-output/ at the repository's root. */
export const TEST_OUTPUT = fileURLToPath(new URL("../../../test-output/", import.meta.url));

export async function launchChromium(): Promise<Browser> {
  ensureSystemPackages(CHROMIUM);
  return chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    // No sandbox: tests run as root in containers, where Chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

/** A path for a screenshot named `name` under test-output/, its folder made. */
export function screenshotPath(name: string): string {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  return join(TEST_OUTPUT, `${name}.png`);
}
