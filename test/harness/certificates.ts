// Throwaway certificate authorities and certificates for TLS tests and the quickstart, made with
// Debian's `openssl` command (node:crypto can make keys but not issue X.509 certificates).
// Keys are EC P-256 (quick to make), files readable by this user only, valid for two days.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { ensureSystemPackages } from "./system-packages.js";

export interface IssuedCertificate {
  /** PEM file of the certificate. */
  cert: string;
  /** PEM file of its private key. */
  key: string;
}

export interface CertificateRequest {
  /** Subject common name. */
  cn: string;
  /** IP addresses the certificate names (subjectAltName IP:...). */
  ips?: string[];
  /** DNS names it names (subjectAltName DNS:...). */
  dns?: string[];
  /** What it may be used for: a TLS server, a TLS client, or both. */
  usage: "server" | "client" | "both";
}

export class TestCa {
  /** PEM file of the CA's certificate: what clients and servers trust. */
  readonly cert: string;
  readonly #key: string;
  #serial = 1;

  private constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    this.cert = join(dir, `${name}.crt`);
    this.#key = join(dir, `${name}.key`);
  }

  /** A new self-signed CA whose files go in `dir` as NAME.crt and NAME.key. */
  static create(dir: string, name: string, cn = `${name} (sluice test CA)`): TestCa {
    if (!existsSync("/usr/bin/openssl"))
      ensureSystemPackages([{ pkg: "openssl", marker: "/usr/bin/openssl" }]);
    const ca = new TestCa(dir, name);
    openssl([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      ca.#key,
      "-out",
      ca.cert,
      "-days",
      "2",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    return ca;
  }

  /** A certificate signed by this CA, as `dir/FILE.crt` and `dir/FILE.key`. */
  issue(file: string, req: CertificateRequest): IssuedCertificate {
    const cert = join(this.dir, `${file}.crt`);
    const key = join(this.dir, `${file}.key`);
    const csr = join(this.dir, `${file}.csr`);
    const ext = join(this.dir, `${file}.ext`);
    const names = [...(req.ips ?? []).map((ip) => `IP:${ip}`), ...(req.dns ?? []).map((d) => `DNS:${d}`)];
    const usage = { server: "serverAuth", client: "clientAuth", both: "serverAuth,clientAuth" }[req.usage];
    writeFileSync(
      ext,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        `extendedKeyUsage=${usage}`,
        ...(names.length > 0 ? [`subjectAltName=${names.join(",")}`] : []),
        "",
      ].join("\n"),
    );
    openssl([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${req.cn}`,
    ]);
    openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      this.cert,
      "-CAkey",
      this.#key,
      "-set_serial",
      String(this.#serial++),
      "-out",
      cert,
      "-days",
      "2",
      "-extfile",
      ext,
    ]);
    return { cert, key };
  }
}

function openssl(args: string[]): void {
  // umask 077 for the keys: readable by this user only.
  execFileSync("sh", ["-c", 'umask 077 && exec openssl "$@"', "openssl", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}

/** For a process serving TLS: the CA file its certificate chains to, a client certificate if it asks. */
export interface ProbeTls {
  ca: string;
  cert?: string;
  key?: string;
}

/** True when GET https://127.0.0.1:port/path answers 200. */
export function probeTls(port: number, path: string, tls: ProbeTls): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet(
      {
        host: "127.0.0.1",
        port,
        path,
        ca: readFileSync(tls.ca),
        ...(tls.cert && tls.key ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", () => resolve(false));
  });
}
