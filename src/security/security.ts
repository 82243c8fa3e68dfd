// Authentication and authorization of a server or gateway, from its settings (settings.ts):
// the hooks of its call pipeline, the guard of its plain health endpoints, and (server) who
// may send the consumer-fencing header. docs/security.md explains the model.

import type { Logger } from "../common/log.js";
import { readSecretFile, SecretFileError } from "../common/secrets.js";
import type { HttpRequest, HttpResponse } from "../protocol/index.js";
import { Call, type CallHook, nodeCallHeaders } from "../protocol/pipeline.js";
import { Authenticator, authenticateHook } from "./authenticate.js";
import { Authorizer, authorizeHook } from "./authorize.js";
import { CanalUser, canalPasswdProblem } from "./canal-user.js";
import { SecurityConfigError } from "./errors.js";
import { forwardIdentityHook } from "./forward.js";
import { GatewayTrust } from "./gateway-trust.js";
import { JwtVerifier, MAX_CLOCK_SKEW_SECONDS } from "./jwt.js";
import { type Policy, readPolicyFile } from "./policy.js";
import { PRINCIPAL } from "./principal.js";
import { ReloadingFile } from "./reloading.js";
import { type AuthSettings, authenticationConfigured, describeAuth, type Role } from "./settings.js";
import { readTokenFile, type TokenEntry } from "./tokens.js";

export interface Security {
  /** The checks of the call pipeline, in order: after the observers, before limits and fencing. */
  readonly hooks: CallHook[];
  /** Plain HTTP handlers (/healthz, /readyz), asking for credentials when health is "authenticated". */
  guardPlain(
    handler: (req: HttpRequest, res: HttpResponse) => boolean,
  ): (req: HttpRequest, res: HttpResponse) => boolean;
  /**
   * Server: true when a call may carry the consumer-fencing header (it comes from a gateway).
   * Undefined when no authentication is configured (every caller may, as every caller may do
   * anything then).
   */
  readonly fencingTrusted: ((call: Call) => boolean) | undefined;
  /** Stops watching the files. */
  close(): void;
}

/** The problems of the settings (files that cannot be read or have mistakes), each a line. */
export function authSettingsProblems(settings: AuthSettings | undefined, role: Role): string[] {
  try {
    createSecurity(settings, role, undefined).close();
    return [];
  } catch (err) {
    if (err instanceof SecurityConfigError) return err.message.split("\n");
    throw err;
  }
}

/**
 * Builds the security of a process. `log` undefined: only check the settings (files are read,
 * not watched). Throws SecurityConfigError naming the file or setting that is wrong.
 */
export function createSecurity(
  settings: AuthSettings | undefined,
  role: Role,
  log: Logger | undefined,
): Security {
  const s = settings ?? {};
  log?.info(describeAuth(settings, role));
  const closers: (() => void)[] = [];
  const reloading = <T>(
    file: string,
    read: (f: string) => T,
    onReload?: () => void,
  ): { readonly current: T } => {
    if (log === undefined) return { current: read(file) };
    const r = new ReloadingFile(file, read, log.child("security"), onReload);
    closers.push(() => r.close());
    return r;
  };
  const close = () => {
    for (const c of closers) c();
  };
  const secret = s.gateways?.secretFile === undefined ? undefined : readSecret(s.gateways.secretFile);
  if (!authenticationConfigured(s, role)) {
    if (s.policyFile !== undefined) {
      throw new SecurityConfigError(
        `the policy file ${s.policyFile} needs authentication: give tokens, a JWT key, canal's user or client certificates`,
      );
    }
    return {
      // A gateway without client authentication still proves itself to servers that ask.
      hooks: role === "gateway" && secret !== undefined ? [forwardIdentityHook(secret)] : [],
      guardPlain: (h) => h,
      fencingTrusted: undefined,
      close,
    };
  }
  if (role === "gateway" && (s.gateways?.certificates?.length ?? 0) > 0) {
    throw new SecurityConfigError(
      "gateway certificates are a server's setting; a gateway shows its own with --tls-*",
    );
  }
  let auth: Authenticator | undefined;
  const tokens =
    s.tokensFile === undefined
      ? undefined
      : reloading<ReadonlyMap<string, TokenEntry>>(s.tokensFile, readTokenFile, () => auth?.forget());
  if (s.jwt !== undefined) checkJwt(s.jwt);
  if (s.canal !== undefined) {
    const problem = canalPasswdProblem(s.canal.passwd);
    if (problem) throw new SecurityConfigError(`canal passwd: ${problem}`);
  }
  const openHealth = (s.health ?? "open") === "open";
  auth = new Authenticator({
    tokens,
    jwt: s.jwt === undefined ? undefined : new JwtVerifier(s.jwt),
    canal: s.canal === undefined ? undefined : new CanalUser(s.canal),
    certificates: s.certificates === true,
    gateways:
      role === "server" && (secret !== undefined || s.gateways?.certificates)
        ? new GatewayTrust(secret, s.gateways?.certificates)
        : undefined,
    openHealth,
  });
  const policy = s.policyFile === undefined ? undefined : reloading<Policy>(s.policyFile, readPolicyFile);
  const authenticator = auth;
  const hooks: CallHook[] = [
    authenticateHook(authenticator, openHealth),
    authorizeHook(new Authorizer(policy)),
  ];
  if (role === "gateway") hooks.push(forwardIdentityHook(secret));
  return {
    hooks,
    guardPlain: (handler) => (openHealth ? handler : guardHealth(authenticator, handler)),
    fencingTrusted: role === "server" ? (call) => call.values.get(PRINCIPAL)?.via === "gateway" : undefined,
    close,
  };
}

function readSecret(file: string): string {
  try {
    return readSecretFile(file);
  } catch (err) {
    if (err instanceof SecretFileError) throw new SecurityConfigError(`gateway secret file: ${err.message}`);
    throw err;
  }
}

export function checkJwt(jwt: NonNullable<AuthSettings["jwt"]>): void {
  if ((jwt.keyFile === undefined) === (jwt.jwksFile === undefined)) {
    throw new SecurityConfigError("jwt: give one of keyFile (a public key) and jwksFile (a key set)");
  }
  if (jwt.issuer.length === 0)
    throw new SecurityConfigError("jwt: issuer is required (the iss tokens must carry)");
  if (jwt.audience.length === 0)
    throw new SecurityConfigError("jwt: audience is required (an aud tokens must carry)");
  if (!(jwt.clockSkewSeconds >= 0 && jwt.clockSkewSeconds <= MAX_CLOCK_SKEW_SECONDS)) {
    throw new SecurityConfigError(`jwt: clockSkew must be 0s to ${MAX_CLOCK_SKEW_SECONDS}s`);
  }
}

const HEALTH_PATHS = new Set(["/healthz", "/readyz"]);

/** /healthz and /readyz answered only to authenticated callers (401 otherwise). */
function guardHealth(
  auth: Authenticator,
  handler: (req: HttpRequest, res: HttpResponse) => boolean,
): (req: HttpRequest, res: HttpResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0] as string;
    if (!HEALTH_PATHS.has(path)) return handler(req, res);
    const call = new Call({
      service: "",
      method: path,
      streaming: false,
      protocol: "connect",
      codec: "json",
      httpVersion: req.httpVersionMajor === 2 ? "2" : "1.1",
      headers: nodeCallHeaders(req.headers),
      socket: req.socket,
      message: undefined,
    });
    const refuse = (err: unknown) => {
      if (res.headersSent) return;
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": "Bearer" });
      res.end(`${(err as Error).message}\n`);
    };
    try {
      const got = auth.principalOf(call);
      if (!(got instanceof Promise)) return handler(req, res);
      got.then(() => {
        if (!handler(req, res) && !res.headersSent) {
          res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
          res.end("not found\n");
        }
      }, refuse);
    } catch (err) {
      refuse(err);
    }
    return true;
  };
}
