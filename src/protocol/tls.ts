// TLS on sluice's ports and on the gateway's connections to servers: the options Node's tls
// module takes, built from PEM contents the caller read (src/security/tls.ts reads the files
// and names the setting in its errors). Both ports of a process (the API's, metrics') and both
// sides (listener, client) agree here on what the client-certificate modes mean.
import { isIP, type Socket } from "node:net";
import * as tls from "node:tls";

/**
 * Client certificates on a listener:
 * - "none": not asked for;
 * - "request": asked for; a connection without one is served (its calls carry no certificate),
 *   one whose certificate does not verify against the client CA is dropped;
 * - "require": a connection without a certificate that verifies is dropped.
 */
export type ClientAuth = "none" | "request" | "require";

export const CLIENT_AUTH_MODES: readonly ClientAuth[] = ["none", "request", "require"];

/** A listener's TLS: its certificate chain and key, and what it asks of clients. */
export interface TlsListenOptions {
  /** PEM: the certificate, then any intermediates. */
  cert: Buffer;
  /** PEM: the certificate's private key. */
  key: Buffer;
  /** PEM: the CA certificates client certificates must chain to (needed unless clientAuth is none). */
  clientCa?: Buffer | undefined;
  clientAuth: ClientAuth;
}

/** How a client reaches a TLS server: whom it trusts, what it shows, which name it checks. */
export interface TlsConnectOptions {
  /** PEM: CA certificates to trust; absent: Node's default CA store. */
  ca?: string | Buffer | undefined;
  /** PEM: a client certificate chain to present (with key). */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /**
   * The name the server's certificate must carry (a DNS or IP SAN), also sent as SNI; absent:
   * the host connected to (an IP address then must be an IP SAN of the certificate).
   */
  serverName?: string | undefined;
}

/** TLS 1.2 at least: older versions have known weaknesses and every supported client has 1.2. */
const MIN_VERSION = "TLSv1.2";

/** Node's server options for a listener offering `alpn` (e.g. ["h2", "http/1.1"]). */
export function tlsServerOptions(o: TlsListenOptions, alpn: readonly string[]): tls.TlsOptions {
  return {
    cert: o.cert,
    key: o.key,
    ...(o.clientCa !== undefined && o.clientAuth !== "none" ? { ca: o.clientCa } : {}),
    requestCert: o.clientAuth !== "none",
    // "request" verifies in acceptedClient: Node either drops every unverified connection
    // (those without a certificate too) or none.
    rejectUnauthorized: o.clientAuth === "require",
    ALPNProtocols: [...alpn],
    minVersion: MIN_VERSION,
  };
}

/**
 * Why a handshaken connection must be dropped under `clientAuth`, or undefined to serve it:
 * under "request", a client certificate that did not verify (Node lets those through so that
 * connections without one are served).
 */
export function clientRefusal(socket: tls.TLSSocket, clientAuth: ClientAuth): string | undefined {
  if (clientAuth !== "request" || socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (cert === null || Object.keys(cert).length === 0) return undefined;
  return `the client certificate does not verify: ${String(socket.authorizationError)}`;
}

/**
 * A TLS connection to `host:port`, Nagle off (a call is a HEADERS and a DATA frame written one
 * after the other), offering `alpn`. Writes before the handshake ends wait for it; a server
 * whose certificate does not verify fails the socket with Node's error (e.g.
 * "unable to verify the first certificate", "Hostname/IP does not match certificate's altnames").
 */
export function connectTls(
  host: string,
  port: number,
  o: TlsConnectOptions,
  alpn: readonly string[],
): Socket {
  const socket = tls.connect({ host, port, ...tlsConnectionOptions(o), ALPNProtocols: [...alpn] });
  socket.setNoDelay(true);
  return socket;
}

/** Node's client options (tls.connect, https.Agent, http2.connect) for `o`. */
export function tlsConnectionOptions(o: TlsConnectOptions): tls.ConnectionOptions {
  return {
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    ...(o.cert !== undefined ? { cert: o.cert } : {}),
    ...(o.key !== undefined ? { key: o.key } : {}),
    ...(o.serverName !== undefined ? nameToCheck(o.serverName) : {}),
    minVersion: MIN_VERSION,
  };
}

/**
 * Checks the server's certificate against `name` rather than the host connected to (Node's own
 * check), and sends it as SNI when it is a host name (SNI carries no IP addresses: RFC 6066).
 */
function nameToCheck(name: string): tls.ConnectionOptions {
  return {
    ...(isIP(name) === 0 ? { servername: name } : {}),
    checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(name, cert),
  };
}
