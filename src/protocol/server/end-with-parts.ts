// Ends a unary answer whose body is in parts (a JSON Get's entries' JSON forms, a relayed
// answer's buffers): corked, so they go to the socket (HTTP/1.1) or the stream (HTTP/2) in one
// writev, without being copied together first.
import type { HttpResponse } from "./server.js";

/** `ended` is end()'s callback: see Node's for when it runs. */
export function endWithParts(
  res: HttpResponse,
  parts: readonly Uint8Array[],
  ended?: (err?: unknown) => void,
): void {
  const corked: { cork(): void; uncork(): void } = "stream" in res ? res.stream : res;
  const out: { write(chunk: Uint8Array): boolean; end(cb?: (err?: unknown) => void): void } = res;
  corked.cork();
  for (const part of parts) out.write(part);
  out.end(ended);
  corked.uncork();
}
