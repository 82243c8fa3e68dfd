// A unary answer its handler has already written in proto3 JSON, for the server's lean path of
// Connect JSON calls (server/connect-json-unary.ts), which sends its bytes as they are. A
// handler returns one only when the call's context says that path serves it
// (`answersJsonBytes(ctx)`): connect-es's own path writes what a handler returns with
// toJsonString and has no way to be handed bytes. The parts, back to back, must be what
// toJsonString with connect-es's defaults would write for the answer the handler means (the server's
// src/server/encode/json-responses.ts proves its GetResponse so).
import { type ContextValues, createContextKey } from "@connectrpc/connect";

export class JsonAnswer {
  readonly length: number;

  constructor(
    /** The answer message in proto3 JSON, UTF-8, in parts (written one after the other). */
    readonly parts: readonly Uint8Array[],
  ) {
    let n = 0;
    for (const p of parts) n += p.length;
    this.length = n;
  }
}

/** Set by the paths that send a JsonAnswer's bytes as they are. */
export const jsonAnswerKey = createContextKey<boolean>(false, {
  description: "sluice: the path sends a JsonAnswer's bytes",
});

/** True when the call's answer may be a JsonAnswer. */
export function answersJsonBytes(ctx: { values: ContextValues }): boolean {
  return ctx.values.get(jsonAnswerKey);
}
