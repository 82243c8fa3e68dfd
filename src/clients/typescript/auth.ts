// Credentials on every call: "authorization: Bearer <token>" (a token of the server's or
// gateway's token file, or a JWT), or HTTP Basic with canal's user and password. Added to
// each call's headers, not through an interceptor, so that calls keep the fast unary paths
// (connect-transport.ts, grpc-transport.ts).
import { readFileSync } from "node:fs";
import type { Transport } from "@connectrpc/connect";

/** The value of the authorization header for a token or a user and password. */
export function authorizationHeader(auth: {
  token?: string;
  basic?: { user: string; password: string };
}): string | undefined {
  if (auth.token !== undefined && auth.basic !== undefined) {
    throw new RangeError("give token or basic, not both");
  }
  if (auth.token !== undefined) {
    if (!/^[\x21-\x7e]+$/.test(auth.token))
      throw new RangeError("token: must be printable ASCII without spaces");
    return `Bearer ${auth.token}`;
  }
  if (auth.basic !== undefined) {
    return `Basic ${Buffer.from(`${auth.basic.user}:${auth.basic.password}`, "utf8").toString("base64")}`;
  }
  return undefined;
}

/** `transport`, sending `authorization` with every call. */
export function withAuthorization(transport: Transport, authorization: string): Transport {
  const add = (header: ConstructorParameters<typeof Headers>[0]): Headers => {
    const h = new Headers(header);
    h.set("authorization", authorization);
    return h;
  };
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) =>
      transport.unary(method, signal, timeoutMs, add(header), input, contextValues),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      transport.stream(method, signal, timeoutMs, add(header), input, contextValues),
  };
}

/**
 * The token sluice's commands and examples use: SLUICE_TOKEN, or the file SLUICE_TOKEN_FILE
 * names (its text without the final line break); undefined when neither is set.
 */
export function tokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env.SLUICE_TOKEN?.trim();
  const file = env.SLUICE_TOKEN_FILE?.trim();
  if (token && file)
    throw new RangeError("SLUICE_TOKEN and SLUICE_TOKEN_FILE: give the token one way, not both");
  if (token) return token;
  if (file) return readTokenFile(file, "SLUICE_TOKEN_FILE");
  return undefined;
}

/** A token from a file: its text without the final line break. Errors never show what it holds. */
export function readTokenFile(file: string, label = "token file"): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new RangeError(
      `${label}: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`,
    );
  }
  const token = text.replace(/\r?\n$/, "").trim();
  if (token === "") throw new RangeError(`${label}: "${file}" is empty`);
  return token;
}
