// A streaming answer's message its handler has already encoded in protobuf binary, in parts,
// for the server's lean path of gRPC server streams (server/grpc-stream.ts), which writes the
// parts one after the other behind the message's envelope, without copying them together. A
// handler yields one only when the call's context says that path serves it
// (`answersEncoded(ctx)`): connect-es's own path writes what a handler yields with toBinary,
// then copies it again into its envelope. The parts must be, back to back, what toBinary
// would write for the message the handler means (the server's src/server/encode/responses.ts
// proves its StreamResponse so).
import { type ContextValues, createContextKey } from "@connectrpc/connect";

export class EncodedMessage {
  readonly length: number;

  constructor(
    /** The message's bytes, in order. */
    readonly parts: readonly Uint8Array[],
  ) {
    let n = 0;
    for (const p of parts) n += p.length;
    this.length = n;
  }
}

/** Set by the paths that write an EncodedMessage's parts as they are. */
export const encodedAnswerKey = createContextKey<boolean>(false, {
  description: "sluice: the path writes an EncodedMessage's parts",
});

/** True when the call's messages may be EncodedMessages. */
export function answersEncoded(ctx: { values: ContextValues }): boolean {
  return ctx.values.get(encodedAnswerKey);
}
