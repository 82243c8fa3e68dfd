// One canal destination (instance) as a Sluice destination: the source from
// canal.instance.master.address and dbUsername/dbPassword (decrypted first when canal's
// enableDruid says so), the start position from master.journal.name/position/timestamp/gtid
// as canal reads them, the filters, the replica id. Values come out as the config tree that
// validate.ts checks, each labelled with its key and file:line for messages.
import { createPublicKey, constants as cryptoConstants, publicDecrypt } from "node:crypto";
import { statSync } from "node:fs";
import { parseCanalBoolean } from "./canal-keys.js";
import { type CanalScope, type CanalValue, PlaceholderError } from "./canal-properties.js";

/** What mapping collects across destinations. */
export interface CanalMapping {
  problems: string[];
  warnings: string[];
  /** Config path → "canal.key (file:line)": validate.ts names values by these. */
  labels: Map<string, string>;
  /** Passwords met, to keep out of every message. */
  secrets: Set<string>;
}

export function labelOf(key: string, v: { origin: string }): string {
  return `${key} (${v.origin})`;
}

/** Reads a key, reporting a circular or unresolvable placeholder as a problem. */
export function readKey(scope: CanalScope, key: string, m: CanalMapping): CanalValue | undefined {
  let v: CanalValue | undefined;
  try {
    v = scope.get(key);
  } catch (err) {
    if (!(err instanceof PlaceholderError)) throw err;
    const raw = scope.raw(key);
    m.problems.push(`${raw ? labelOf(key, raw) : key}: ${err.message}`);
    return undefined;
  }
  const unresolved = v && /\$\{([^}]*)\}/.exec(v.value);
  if (v && unresolved) {
    m.problems.push(
      `${labelOf(key, v)}: refers to \${${unresolved[1]}}, which is set neither in the files nor in the environment`,
    );
    return undefined;
  }
  return v;
}

export function readBoolean(scope: CanalScope, key: string, m: CanalMapping): boolean | undefined {
  const v = readKey(scope, key, m);
  if (!v) return undefined;
  const b = parseCanalBoolean(v.value);
  if (b === undefined) m.problems.push(`${labelOf(key, v)}: must be true or false, got "${v.value}"`);
  return b;
}

/** A whole number; 0 when unset (canal's "not given"); undefined after a problem. */
function readWhole(
  scope: CanalScope,
  key: string,
  m: CanalMapping,
): { n: number; v?: CanalValue } | undefined {
  const v = readKey(scope, key, m);
  if (!v) return { n: 0 };
  if (!/^-?\d+$/.test(v.value) || !Number.isSafeInteger(Number(v.value))) {
    m.problems.push(`${labelOf(key, v)}: must be a whole number, got "${v.value}"`);
    return undefined;
  }
  return { n: Number(v.value), v };
}

/**
 * The destination `name` (at `path`, e.g. "destinations[0]") as config tree; problems and
 * warnings go to `m`.
 */
export function mapInstance(
  scope: CanalScope,
  name: string,
  path: string,
  m: CanalMapping,
): Record<string, unknown> {
  const d: Record<string, unknown> = { name };
  const set = (key: string, value: unknown, label: string) => {
    d[key] = value;
    m.labels.set(`${path}.${key}`, label);
  };
  const where = scope.instance?.name ?? scope.server.name;

  const address = readKey(scope, "canal.instance.master.address", m);
  const hp = address && /^([^:\s/@?#]+):(\d{1,5})$/.exec(address.value);
  if (!address) {
    // A value whose placeholder could not be resolved was reported.
    if (!scope.raw("canal.instance.master.address"))
      m.problems.push(
        `canal.instance.master.address: destination ${name} needs its source as host:port, e.g. 127.0.0.1:3306 (in ${where})`,
      );
  } else if (!hp) {
    m.problems.push(
      `${labelOf("canal.instance.master.address", address)}: must be host:port, e.g. 127.0.0.1:3306, got "${address.value}"`,
    );
  }
  const user = readKey(scope, "canal.instance.dbUsername", m);
  if (!user) {
    m.warnings.push(
      `destination ${name}: canal.instance.dbUsername is not set in ${where}; canal's default user "retl" (and password "retl", unless canal.instance.dbPassword is set) is used, as canal does`,
    );
  }
  const ssl = readSsl(scope, m);
  if (address && hp) {
    const query = ssl ? `?ssl=${ssl}` : "";
    set(
      "source",
      `mysql://${encodeURIComponent(user?.value ?? "retl")}@${hp[1]}:${hp[2]}${query}`,
      labelOf("canal.instance.master.address", address),
    );
  }
  const password = readPassword(scope, name, m);
  if (password) set("password", password.value, password.label);

  const start = readStart(scope, name, m);
  if (start) {
    d.start = start.value;
    for (const [k, label] of Object.entries(start.labels)) m.labels.set(`${path}.start.${k}`, label);
  }

  const filters = [
    ["filter", "canal.instance.filter.regex"],
    ["blackFilter", "canal.instance.filter.black.regex"],
    ["fieldFilter", "canal.instance.filter.field"],
    ["fieldBlackFilter", "canal.instance.filter.black.field"],
  ] as const;
  for (const [field, key] of filters) {
    const v = readKey(scope, key, m);
    if (v) set(field, v.value, labelOf(key, v));
  }
  for (const [field, key] of [
    ["filterQueryDdl", "canal.instance.filter.query.ddl"],
    ["filterTableError", "canal.instance.filter.table.error"],
  ] as const) {
    const b = readBoolean(scope, key, m);
    const v = scope.raw(key);
    if (b !== undefined && v) set(field, b, labelOf(key, v));
  }

  const slaveId = readWhole(scope, "canal.instance.mysql.slaveId", m);
  // 0 (canal's default): canal picks an id itself, and so does Sluice.
  if (slaveId?.v && slaveId.n !== 0)
    set("serverId", slaveId.v.value, labelOf("canal.instance.mysql.slaveId", slaveId.v));

  const charset = readKey(scope, "canal.instance.connectionCharset", m);
  if (charset && !/^utf-?8(mb4)?$/i.test(charset.value)) {
    m.warnings.push(
      `${labelOf("canal.instance.connectionCharset", charset)}: canal decoded every text value as ${charset.value}; Sluice decodes each column by its own character set (docs/values.md), which gives the same text where the columns are in ${charset.value}`,
    );
  }
  return d;
}

function readSsl(scope: CanalScope, m: CanalMapping): string | undefined {
  const v = readKey(scope, "canal.instance.master.sslMode", m);
  const mode = v?.value.toUpperCase();
  if (!v || mode === "DISABLED") return undefined;
  if (mode === "REQUIRED") return "required";
  if (mode === "PREFERRED") {
    m.warnings.push(
      `${labelOf("canal.instance.master.sslMode", v)}: Sluice has no "preferred" TLS: it requires TLS of the source (ssl=required), and fails to connect where the source has none`,
    );
    return "required";
  }
  m.problems.push(
    `${labelOf("canal.instance.master.sslMode", v)}: ${mode} is not supported from canal's config (Sluice verifies the source against a PEM CA file, not a Java keystore): set the destination's source in a --config file, mysql://user@host:port?ssl=${mode === "VERIFY_IDENTITY" ? "verify-identity" : "verify-ca"}&ca=/path/ca.pem, and leave canal.instance.master.sslMode out`,
  );
  return undefined;
}

/**
 * canal.instance.dbPassword (default "retl", as canal's), decrypted with
 * canal.instance.pwdPublicKey when canal.instance.enableDruid is true.
 */
function readPassword(
  scope: CanalScope,
  name: string,
  m: CanalMapping,
): { value: string; label: string } | undefined {
  const v = readKey(scope, "canal.instance.dbPassword", m);
  if (v) m.secrets.add(v.value);
  const druid = readBoolean(scope, "canal.instance.enableDruid", m);
  const label = v
    ? labelOf("canal.instance.dbPassword", v)
    : `canal.instance.dbPassword (canal's default, destination ${name})`;
  if (v?.file && (statSync(v.file.path).mode & 0o004) !== 0) {
    m.warnings.push(
      `${v.file.name} holds canal.instance.dbPassword and every local user can read it: chmod 600 it (docs/security.md)`,
    );
  }
  if (!druid) return { value: v?.value ?? "retl", label };
  const key = readKey(scope, "canal.instance.pwdPublicKey", m);
  if (!v || !key) {
    m.problems.push(
      `canal.instance.enableDruid: destination ${name} has an encrypted password: it needs canal.instance.dbPassword (encrypted) and canal.instance.pwdPublicKey (the public key that decrypts it)`,
    );
    return undefined;
  }
  try {
    const plain = decryptDruidPassword(key.value, v.value);
    m.secrets.add(plain);
    return { value: plain, label };
  } catch {
    m.problems.push(
      `${label}: cannot be decrypted with ${labelOf("canal.instance.pwdPublicKey", key)} (druid's ConfigTools format: the password encrypted with the private key, base64; the public key, base64 X.509)`,
    );
    return undefined;
  }
}

/**
 * Druid's ConfigTools.decrypt, which canal's enableDruid uses: RSA with PKCS#1 v1.5 padding,
 * encrypted with the private key and so decrypted with the public one.
 */
export function decryptDruidPassword(publicKeyBase64: string, cipherBase64: string): string {
  const key = createPublicKey({ key: Buffer.from(publicKeyBase64, "base64"), format: "der", type: "spki" });
  const plain = publicDecrypt(
    { key, padding: cryptoConstants.RSA_PKCS1_PADDING },
    Buffer.from(cipherBase64, "base64"),
  );
  return plain.toString("utf8");
}

interface StartMapping {
  value: Record<string, unknown>;
  labels: Record<string, string>;
}

/** canal's choice of where to start without a cursor (MysqlEventParser.findStartPosition). */
function readStart(scope: CanalScope, name: string, m: CanalMapping): StartMapping | undefined {
  const gtidOn = readBoolean(scope, "canal.instance.gtidon", m) ?? false;
  const gtid = readKey(scope, "canal.instance.master.gtid", m);
  const journal = readKey(scope, "canal.instance.master.journal.name", m);
  const position = readWhole(scope, "canal.instance.master.position", m);
  const timestamp = readWhole(scope, "canal.instance.master.timestamp", m);
  if (!position || !timestamp) return undefined;
  if (gtid && gtidOn) {
    for (const other of [journal, position.v, timestamp.v]) {
      if (other)
        m.warnings.push(
          `destination ${name}: canal.instance.gtidon is true, so canal and Sluice start from canal.instance.master.gtid; the journal name, position and timestamp (${other.origin}) are not used`,
        );
    }
    return { value: { gtid: gtid.value }, labels: { gtid: labelOf("canal.instance.master.gtid", gtid) } };
  }
  if (gtid) {
    m.warnings.push(
      `${labelOf("canal.instance.master.gtid", gtid)}: not used while canal.instance.gtidon is false (canal ignores it too)`,
    );
  }
  const timestampStart = (v: CanalValue): StartMapping | undefined => {
    if (timestamp.n < 1e11) {
      m.problems.push(
        `${labelOf("canal.instance.master.timestamp", v)}: must be epoch milliseconds (canal's unit), got ${v.value}, which looks like seconds`,
      );
      return undefined;
    }
    return {
      value: { timestamp: timestamp.n },
      labels: { timestamp: labelOf("canal.instance.master.timestamp", v) },
    };
  };
  if (!journal) {
    if (timestamp.v) return timestampStart(timestamp.v);
    if (position.v && position.n > 0) {
      m.warnings.push(
        `${labelOf("canal.instance.master.position", position.v)}: not used without canal.instance.master.journal.name; canal then starts at the source's current head, and so does Sluice`,
      );
    }
    return undefined;
  }
  const fileLabel = labelOf("canal.instance.master.journal.name", journal);
  if (position.v && position.n > 0) {
    return {
      value: { file: journal.value, position: position.v.value },
      labels: { file: fileLabel, position: labelOf("canal.instance.master.position", position.v) },
    };
  }
  if (timestamp.v) {
    m.warnings.push(
      `destination ${name}: canal looks for canal.instance.master.timestamp only in ${journal.value} (canal.instance.master.journal.name); Sluice starts at the first transaction at or after that time in any binlog file`,
    );
    return timestampStart(timestamp.v);
  }
  // canal: a file without a position starts at the file's beginning.
  return { value: { file: journal.value }, labels: { file: fileLabel } };
}
