// A call that the caller did not cancel but that still ends `canceled` was cut by the other
// side: Node's HTTP/2 client closes every open stream with CANCEL when its connection closes
// (a gateway or server killed or restarted), and connect-node reports that as `canceled`,
// the code a caller's own abort gets. Left as it is, an ack cut that way would look like the
// caller's choice and not be retried. This transport reports it as `unavailable`, the code
// of a connection lost, so the retry rules (retry.ts) see it for what it is.
import { Code, ConnectError, type Transport } from "@connectrpc/connect";

export function peerResetAsUnavailable(transport: Transport): Transport {
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      try {
        return await transport.unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        throw asUnavailable(err, signal);
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const res = await transport
        .stream(method, signal, timeoutMs, header, input, contextValues)
        .catch((err: unknown) => {
          throw asUnavailable(err, signal);
        });
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
          } catch (err) {
            throw asUnavailable(err, signal);
          }
        })(),
      };
    },
  };
}

function asUnavailable(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return err;
  const e = ConnectError.from(err);
  if (e.code !== Code.Canceled) return err;
  return new ConnectError(
    `the connection was closed under the call (${e.rawMessage})`,
    Code.Unavailable,
    e.metadata,
    undefined,
    e,
  );
}
