// The TLS flags of the client commands (tail, status, cursor, skip-event): --ca, --cert, --key
// and their environment variables, for an https:// --server. See README.md, "TLS".

import type { SluiceTlsOptions } from "../clients/typescript/index.js";
import { readConnectTls, TlsSettingsError } from "../security/tls.js";
import { UsageError } from "./command.js";

/** node:util parseArgs options. */
export const CLIENT_TLS_OPTIONS = {
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
} as const;

export const CLIENT_TLS_HELP = `  --ca FILE               CA certificates (PEM) that the https:// server's certificate
                          must chain to (default $SLUICE_CA, else the system's CAs)
  --cert FILE             client certificate (PEM) for a server that asks for one
                          (default $SLUICE_CERT)
  --key FILE              its private key (PEM) (default $SLUICE_KEY)`;

/**
 * The TLS options for `url` from the flags or SLUICE_CA / SLUICE_CERT / SLUICE_KEY; undefined
 * for http:// (where giving them is a usage error) or when https:// needs only the system's CAs.
 */
export function clientTls(
  url: string,
  values: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): SluiceTlsOptions | undefined {
  const pick = (flag: "ca" | "cert" | "key", variable: string) => {
    const fromFlag = values[flag];
    if (fromFlag !== undefined) return { path: fromFlag, name: `--${flag}` };
    const fromEnv = env[variable];
    return fromEnv ? { path: fromEnv, name: variable } : undefined;
  };
  const ca = pick("ca", "SLUICE_CA");
  const cert = pick("cert", "SLUICE_CERT");
  const key = pick("key", "SLUICE_KEY");
  if (!url.startsWith("https:")) {
    const given = [ca, cert, key].filter((s) => s?.name.startsWith("--"));
    if (given.length > 0) {
      throw new UsageError(
        `${given.map((s) => s?.name).join(", ")}: TLS needs an https:// --server, got ${url}`,
      );
    }
    return undefined;
  }
  if (!ca && !cert && !key) return undefined;
  try {
    return readConnectTls({ ca, cert, key });
  } catch (err) {
    if (err instanceof TlsSettingsError) throw new UsageError(err.problems.join("\n"));
    throw err;
  }
}

/** `{ tls }` for createSluiceClient, or nothing. */
export function withTls(
  url: string,
  values: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
): { tls?: SluiceTlsOptions } {
  const tls = clientTls(url, values);
  return tls ? { tls } : {};
}
