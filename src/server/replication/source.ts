// Where the binlog comes from: a MySQL or MariaDB primary, named by a URL so that flags,
// config files and environment variables all take the same form.
//   mysql://user:password@host:port[?ssl=required|verify-ca|verify-identity&ca=/path/ca.pem]
export interface SourceConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  /** TLS: off, required (encrypted, no verification), verify-ca, verify-identity. */
  ssl: "off" | "required" | "verify-ca" | "verify-identity";
  /** PEM file with the CA for verify-ca / verify-identity. */
  caFile?: string;
}

export class SourceUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceUrlError";
  }
}

const SSL_MODES = new Set(["off", "required", "verify-ca", "verify-identity"]);

export function parseSourceUrl(text: string): SourceConfig {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SourceUrlError(
      `source: "${redact(text)}" is not a URL; expected mysql://user:password@host:port`,
    );
  }
  if (url.protocol !== "mysql:" && url.protocol !== "mariadb:") {
    throw new SourceUrlError(`source: scheme must be mysql:// or mariadb://, got "${url.protocol}//"`);
  }
  if (!url.hostname) throw new SourceUrlError("source: the URL names no host");
  if (!url.username)
    throw new SourceUrlError("source: the URL names no user (mysql://user:password@host:port)");
  const port = url.port ? Number(url.port) : 3306;
  const ssl = url.searchParams.get("ssl") ?? "off";
  if (!SSL_MODES.has(ssl)) {
    throw new SourceUrlError(`source: ssl must be one of ${[...SSL_MODES].join(", ")}, got "${ssl}"`);
  }
  for (const key of url.searchParams.keys()) {
    if (key !== "ssl" && key !== "ca") throw new SourceUrlError(`source: unknown URL parameter "${key}"`);
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ssl: ssl as SourceConfig["ssl"],
    caFile: url.searchParams.get("ca") ?? undefined,
  };
}

/** The URL with its password hidden, for logs and errors. */
export function redact(text: string): string {
  return text.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

export function describeSource(s: SourceConfig): string {
  return `${s.user}@${s.host}:${s.port}`;
}
