// `sluice gateway`'s TLS flags (--tls-*) and --insecure: TLS on its API and metrics ports, TLS
// to servers, and the listen rule's switch. See docs/gateway.md and docs/security.md, "TLS".
import type { GatewaySecurity } from "../gateway/listen-security.js";
import { readConnectTls, readListenTls, TlsSettingsError } from "../security/tls.js";
import { UsageError } from "./command.js";

export const GATEWAY_TLS_HELP = `  --tls-cert FILE             TLS on the API and metrics ports: certificate chain (PEM)
  --tls-key FILE              its private key (PEM)
  --tls-client-ca FILE        CA that client certificates must chain to
  --tls-client-auth MODE      client certificates: none, request or require (default:
                              require with --tls-client-ca, else none)
  --tls-metrics-client-auth MODE
                              the metrics port's (default: --tls-client-auth)
  --tls-upstream-ca FILE      connect to servers over TLS, trusting this CA (servers
                              serve with --tls-cert); each server's certificate must
                              name its ZooKeeper address's IP, or --tls-upstream-name
  --tls-upstream-name NAME    the name every server's certificate carries instead
  --tls-upstream-cert FILE    the gateway's client certificate for servers that ask for
  --tls-upstream-key FILE     one (--tls-client-auth on servers), and its key
  --insecure                  listen beyond loopback without TLS or authentication
                              anyway (the default --host 127.0.0.1 needs neither)`;

const VALUE_FLAGS = [
  "--tls-cert",
  "--tls-key",
  "--tls-client-ca",
  "--tls-client-auth",
  "--tls-metrics-client-auth",
  "--tls-upstream-ca",
  "--tls-upstream-name",
  "--tls-upstream-cert",
  "--tls-upstream-key",
] as const;

type ValueFlag = (typeof VALUE_FLAGS)[number];

/** Collects the flags while parsing, then reads their files. */
export class GatewayTlsFlags {
  readonly #given = new Map<ValueFlag, string>();
  /** Where each value came from ("--tls-cert", "SLUICE_TLS_CERT", a config file's line), for errors. */
  readonly #labels = new Map<ValueFlag, string>();
  #insecure = false;

  /**
   * Takes `name` when it is one of these flags (reading its value with `value`; `label` says
   * where it came from); false otherwise.
   */
  take(name: string, value: () => string, label: string = name): boolean {
    if (name === "--insecure") {
      this.#insecure = value() !== "false";
      return true;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) return false;
    this.#given.set(name as ValueFlag, value());
    this.#labels.set(name as ValueFlag, label);
    return true;
  }

  /** The gateway's security settings, files read; a bad one is a UsageError naming its flag. */
  security(): GatewaySecurity {
    const g = (f: ValueFlag) => this.#given.get(f);
    const l = (f: ValueFlag) => this.#labels.get(f) ?? f;
    const file = (f: ValueFlag) => {
      const path = g(f);
      return path === undefined ? undefined : { path, name: l(f) };
    };
    const problems: string[] = [];
    const security: GatewaySecurity = { insecure: this.#insecure, authConfigured: false };
    try {
      const cert = file("--tls-cert");
      const key = file("--tls-key");
      const listenFlags = ["--tls-client-ca", "--tls-client-auth", "--tls-metrics-client-auth"] as const;
      if (cert && key) {
        const files = { cert, key, clientCa: { value: g("--tls-client-ca"), name: l("--tls-client-ca") } };
        security.tls = readListenTls({
          ...files,
          clientAuth: { value: g("--tls-client-auth"), name: l("--tls-client-auth") },
        });
        const metricsMode = g("--tls-metrics-client-auth");
        security.metricsTls =
          metricsMode === undefined
            ? security.tls
            : readListenTls({
                ...files,
                clientCa:
                  metricsMode.trim().toLowerCase() === "none"
                    ? { value: undefined, name: l("--tls-client-ca") }
                    : files.clientCa,
                clientAuth: { value: metricsMode, name: l("--tls-metrics-client-auth") },
              });
      } else if (cert || key) {
        problems.push(
          cert ? `${cert.name}: needs --tls-key` : `${(key as { name: string }).name}: needs --tls-cert`,
        );
      } else {
        for (const f of listenFlags)
          if (g(f) !== undefined) problems.push(`${l(f)}: needs --tls-cert and --tls-key`);
      }
    } catch (err) {
      if (!(err instanceof TlsSettingsError)) throw err;
      problems.push(...err.problems);
    }
    try {
      const ca = file("--tls-upstream-ca");
      const clientCert = file("--tls-upstream-cert");
      const clientKey = file("--tls-upstream-key");
      const name = g("--tls-upstream-name");
      if (ca) {
        security.upstreamTls = readConnectTls({ ca, cert: clientCert, key: clientKey, serverName: name });
      } else if (clientCert || clientKey || name !== undefined) {
        problems.push(
          `${clientCert ? clientCert.name : clientKey ? clientKey.name : l("--tls-upstream-name")}: needs --tls-upstream-ca (the CA of the servers' certificates)`,
        );
      }
    } catch (err) {
      if (!(err instanceof TlsSettingsError)) throw err;
      problems.push(...err.problems);
    }
    if (problems.length > 0) throw new UsageError(problems.join("\n"));
    return security;
  }
}
