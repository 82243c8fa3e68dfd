// TLS settings as files, read and checked: certificates, keys and CA bundles for a listener
// (server, gateway, metrics) and for a client (the gateway's connections to servers, the
// `sluice` commands, the TypeScript client's callers). Every problem names the setting it came
// from ("security.tls.cert", "--tls-cert"), so that the user knows what to fix; a key file's
// contents never appear in a message. See docs/security.md, "TLS".
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createSecureContext } from "node:tls";
import {
  CLIENT_AUTH_MODES,
  type ClientAuth,
  type TlsConnectOptions,
  type TlsListenOptions,
} from "../protocol/tls.js";

/** One or more problems with TLS settings, each naming its setting. */
export class TlsSettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("; "));
    this.name = "TlsSettingsError";
  }
}

/** A file setting: its value (a path) and the name to show for it. */
export interface FileSetting {
  path: string;
  /** "security.tls.cert", "--tls-cert", "SLUICE_TLS_CERT". */
  name: string;
}

/** A setting that may be unset, with the name to show for it either way. */
export interface MaybeSetting {
  value: string | undefined;
  name: string;
}

export interface ListenTlsFiles {
  cert: FileSetting;
  key: FileSetting;
  /** The CA file client certificates must chain to. */
  clientCa: MaybeSetting;
  /** none, request or require; unset: "require" when clientCa is given, else "none". */
  clientAuth: MaybeSetting;
}

export interface ConnectTlsFiles {
  /** Absent: Node's default CA store. */
  ca?: FileSetting | undefined;
  cert?: FileSetting | undefined;
  key?: FileSetting | undefined;
  serverName?: string | undefined;
}

/** A listener's TLS from its files. Throws TlsSettingsError listing every problem. */
export function readListenTls(files: ListenTlsFiles, cwd: string = process.cwd()): TlsListenOptions {
  const problems: string[] = [];
  const cert = readCertificates(files.cert, cwd, problems);
  const key = readKey(files.key, cwd, problems);
  const caFile = files.clientCa.value;
  const clientCa =
    caFile !== undefined
      ? readCertificates({ path: caFile, name: files.clientCa.name }, cwd, problems)
      : undefined;
  const clientAuth = readClientAuth(files, problems);
  if (cert && key) checkPair(cert, key, files.cert, files.key, problems);
  if (problems.length > 0) throw new TlsSettingsError(problems);
  return { cert: cert as Buffer, key: key as Buffer, clientCa, clientAuth: clientAuth as ClientAuth };
}

/** A client's TLS from its files. Throws TlsSettingsError listing every problem. */
export function readConnectTls(files: ConnectTlsFiles, cwd: string = process.cwd()): TlsConnectOptions {
  const problems: string[] = [];
  const ca = files.ca ? readCertificates(files.ca, cwd, problems) : undefined;
  if (files.cert && !files.key) problems.push(`${files.cert.name}: needs its key too`);
  if (files.key && !files.cert) problems.push(`${files.key.name}: needs its certificate too`);
  const cert = files.cert && files.key ? readCertificates(files.cert, cwd, problems) : undefined;
  const key = files.cert && files.key ? readKey(files.key, cwd, problems) : undefined;
  if (cert && key && files.cert && files.key) checkPair(cert, key, files.cert, files.key, problems);
  if (problems.length > 0) throw new TlsSettingsError(problems);
  return {
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(files.serverName !== undefined ? { serverName: files.serverName } : {}),
  };
}

function readClientAuth(files: ListenTlsFiles, problems: string[]): ClientAuth | undefined {
  const { clientAuth, clientCa } = files;
  const hasCa = clientCa.value !== undefined;
  const mode = clientAuth.value?.trim().toLowerCase() ?? (hasCa ? "require" : "none");
  if (!(CLIENT_AUTH_MODES as readonly string[]).includes(mode)) {
    problems.push(
      `${clientAuth.name}: must be none, request or require, got ${JSON.stringify(clientAuth.value)}`,
    );
    return undefined;
  }
  if (mode !== "none" && !hasCa) {
    problems.push(
      `${clientAuth.name}: ${mode} needs ${clientCa.name}, the CA that client certificates must chain to`,
    );
  }
  if (mode === "none" && hasCa) {
    problems.push(
      `${clientCa.name}: client certificates are not asked for (${clientAuth.name} is none): drop the CA, or ask for them with request or require`,
    );
  }
  return mode as ClientAuth;
}

function readFile(setting: FileSetting, cwd: string, problems: string[]): Buffer | undefined {
  try {
    return readFileSync(resolve(cwd, setting.path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : (code ?? "unreadable");
    problems.push(`${setting.name}: cannot read ${JSON.stringify(setting.path)}: ${why}`);
    return undefined;
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A PEM file of one or more certificates, each parsed; the first must be valid now. */
function readCertificates(setting: FileSetting, cwd: string, problems: string[]): Buffer | undefined {
  const pem = readFile(setting, cwd, problems);
  if (pem === undefined) return undefined;
  const blocks = pem.toString("latin1").match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    problems.push(
      `${setting.name}: ${JSON.stringify(setting.path)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
    return undefined;
  }
  try {
    const first = new X509Certificate(blocks[0] as string);
    for (const block of blocks.slice(1)) new X509Certificate(block);
    const now = Date.now();
    if (Date.parse(first.validTo) < now) {
      problems.push(
        `${setting.name}: the certificate in ${JSON.stringify(setting.path)} expired on ${first.validTo}`,
      );
      return undefined;
    }
    if (Date.parse(first.validFrom) > now) {
      problems.push(
        `${setting.name}: the certificate in ${JSON.stringify(setting.path)} is not valid before ${first.validFrom}`,
      );
      return undefined;
    }
  } catch (err) {
    problems.push(
      `${setting.name}: ${JSON.stringify(setting.path)}: not a readable certificate (${(err as Error).message})`,
    );
    return undefined;
  }
  return pem;
}

/** A PEM private key (unencrypted). */
function readKey(setting: FileSetting, cwd: string, problems: string[]): Buffer | undefined {
  const pem = readFile(setting, cwd, problems);
  if (pem === undefined) return undefined;
  try {
    createPrivateKey(pem);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    const why = /PASSPHRASE|ENCRYPTED/i.test(`${code} ${(err as Error).message}`)
      ? "the key is encrypted; give it unencrypted, readable only by sluice's user (chmod 600)"
      : "not a PEM private key";
    problems.push(`${setting.name}: ${JSON.stringify(setting.path)}: ${why}`);
    return undefined;
  }
  return pem;
}

function checkPair(
  cert: Buffer,
  key: Buffer,
  certSetting: FileSetting,
  keySetting: FileSetting,
  problems: string[],
) {
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    problems.push(
      `${keySetting.name}: ${JSON.stringify(keySetting.path)} is not the key of the certificate in ${certSetting.name} (${(err as Error).message})`,
    );
  }
}
