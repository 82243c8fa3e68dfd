// CanalService on the gateway: every call is checked against the consumer's hold in
// ZooKeeper (holds.ts) and relayed to the destination's running server (relay.ts) with the
// hold's epoch. Subscribe takes a lease hold; Stream takes a hold for as long as it is open.
// What happens on failover is in docs/gateway.md.
import { ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "../common/log.js";
import { checkNames } from "../contracts/names.js";
import { parseSession } from "../contracts/session.js";
import type { CanalService, StreamRequest, StreamResponse } from "../gen/sluice/v1/canal_service_pb.js";
import { unavailable } from "../protocol/index.js";
import { callOf } from "../protocol/pipeline.js";
import { abortError, linkSignals } from "../protocol/server/call-guard.js";
import type { ClientHolds, Hold } from "./holds.js";
import { openStream, type Relay, runnerChanged, upstreamError } from "./relay.js";

const RETRY_MS = 500;

export function createCanalProxy(
  relay: Relay,
  holds: ClientHolds,
  log: Logger,
): ServiceImpl<typeof CanalService> {
  const runners = relay.runners;
  const peer = (ctx: HandlerContext) => callOf(ctx)?.peer.address ?? "unknown";

  return {
    async subscribe(req, ctx) {
      checkNames(req.destination, req.clientId);
      await runners.route(req.destination, ctx.signal); // not_found before anything is held
      let hold: Hold | undefined;
      let taken = false;
      if (req.session) {
        const node = await holds.validate(req.destination, req.clientId, req.session).catch(staleSession);
        if (node) hold = fromNode(req.destination, req.clientId, req.session, node);
      }
      if (!hold) {
        hold = await holds.acquire(req.destination, req.clientId, {
          kind: "lease",
          peer: peer(ctx),
          wait: req.wait,
          signal: ctx.signal,
        });
        taken = true;
      }
      const h = hold;
      try {
        const res = await relay.unary(req.destination, h.epoch, ctx, "runner", (u, opts) =>
          u.canal.subscribe(req, opts),
        );
        return { ...res, session: h.token, epoch: h.epoch };
      } catch (err) {
        if (taken) await holds.release(h).catch(() => {});
        throw err;
      }
    },

    async unsubscribe(req, ctx) {
      checkNames(req.destination, req.clientId);
      const node = await holds.validate(req.destination, req.clientId, req.session);
      const res = await relay.unary(req.destination, node.epoch, ctx, "durable", (u, opts) =>
        u.canal.unsubscribe(req, opts),
      );
      await holds.release({ destination: req.destination, clientId: req.clientId, epoch: node.epoch });
      // The client's node also holds its cursor (canal's layout): kept with keep_cursor.
      if (!req.keepCursor) await holds.removeClientNode(req.destination, req.clientId);
      return res;
    },

    async get(req, ctx) {
      checkNames(req.destination, req.clientId);
      const node = await holds.validate(req.destination, req.clientId, req.session);
      // autoAck writes the cursor: not to be sent again once it may have reached a runner.
      const effects = req.autoAck ? "durable" : "runner";
      return relay.unary(req.destination, node.epoch, ctx, effects, (u, opts) => u.canal.get(req, opts));
    },

    async ack(req, ctx) {
      checkNames(req.destination, req.clientId);
      const node = await holds.validate(req.destination, req.clientId, req.session);
      return relay.unary(req.destination, node.epoch, ctx, "durable", (u, opts) => u.canal.ack(req, opts));
    },

    async rollback(req, ctx) {
      checkNames(req.destination, req.clientId);
      const node = await holds.validate(req.destination, req.clientId, req.session);
      return relay.unary(req.destination, node.epoch, ctx, "runner", (u, opts) =>
        u.canal.rollback(req, opts),
      );
    },

    async *stream(req, ctx) {
      const { destination: d, clientId } = req;
      checkNames(d, clientId);
      await runners.route(d, ctx.signal); // not_found / unavailable before anything is held
      const taken = await takeStreamHold(holds, req, peer(ctx), ctx.signal);
      const h = taken.hold;

      const ended = new AbortController();
      const signal = linkSignals(ctx.signal, ended.signal);
      const stopLoss = holds.watchLoss(d, clientId, h.epoch, (reason) => {
        ended.abort(
          unavailable(`the stream of client ${clientId} ended: ${reason}; open it again`, RETRY_MS),
        );
      });
      let stopRunner = () => {};
      let upstream: AsyncIterator<StreamResponse> | undefined;
      try {
        // Opened again while it did not take effect: during a failover the stream waits here
        // for the new runner (within --hold), not in the client's back-off.
        const opened = await openStream(relay.runners, d, signal, (runner, s) =>
          relay.upstream.get(runner.address).canal.stream(req, relay.options(ctx, h.epoch, s)),
        ).catch((err: unknown) => {
          if (ended.signal.aborted && !ctx.signal.aborted) throw abortError(ended.signal);
          throw err;
        });
        const { runner } = opened;
        upstream = opened.rest;
        stopRunner = runners.onMoved(d, runner, (next) =>
          ended.abort(runnerChanged(d, runner, next, "the stream")),
        );
        try {
          for (let r = opened.first; !r.done; r = await opened.rest.next()) {
            const m = r.value;
            if (m.message.case === "subscribed") {
              m.message.value.session = h.token;
              m.message.value.epoch = h.epoch;
            }
            yield m as StreamResponse;
          }
        } catch (err) {
          if (ended.signal.aborted && !ctx.signal.aborted) throw abortError(ended.signal);
          throw upstreamError(err, runner, d);
        }
        if (ended.signal.aborted && !ctx.signal.aborted) throw abortError(ended.signal);
      } finally {
        stopRunner();
        stopLoss();
        // The client went (or the stream failed): let go of the server's stream too.
        void upstream?.return?.().catch(() => {});
        await taken.end().catch((err) => log.warn("releasing a hold failed", { error: err }));
      }
    },
  };
}

export interface StreamHold {
  hold: Hold;
  /** Ends what the stream held: releases its own hold, or stops keeping a Subscribe's lease alive. */
  end(): Promise<void>;
}

/**
 * The hold a Stream runs under: a Subscribe's lease given by `session` (kept alive while the
 * stream is open), an earlier stream's hold given by `session` (taken over under a new epoch),
 * or a new hold of its own (standing by first when `wait` and someone holds it).
 */
export async function takeStreamHold(
  holds: ClientHolds,
  req: StreamRequest,
  peer: string,
  signal: AbortSignal,
): Promise<StreamHold> {
  const { destination: d, clientId } = req;
  const acquire = { kind: "stream" as const, peer, wait: req.wait, signal };
  if (req.session) {
    const node = await holds.validate(d, clientId, req.session).catch(staleSession);
    if (node?.kind === "lease") {
      const stopKeepAlive = holds.keepAlive(d, clientId, req.session);
      return {
        hold: fromNode(d, clientId, req.session, node),
        end: async () => stopKeepAlive(),
      };
    }
    if (node) {
      const hold = await holds.rehome(d, clientId, req.session, acquire);
      if (hold) return { hold, end: () => holds.release(hold) };
    }
  }
  const hold = await holds.acquire(d, clientId, acquire);
  return { hold, end: () => holds.release(hold) };
}

/**
 * A session that is no longer valid (validate's failed_precondition) means: take the hold
 * anew. Anything else (ZooKeeper cannot answer right now) is the call's failure: taking a new
 * hold then would meet the caller's own still-valid one (already_exists).
 */
function staleSession(err: unknown): undefined {
  if (err instanceof ConnectError) return undefined;
  throw err;
}

function fromNode(
  destination: string,
  clientId: string,
  token: string,
  node: { since: number; kind: Hold["kind"] },
): Hold {
  return {
    destination,
    clientId,
    epoch: (parseSession(token, clientId) as { epoch: bigint }).epoch,
    token,
    since: node.since,
    kind: node.kind,
  };
}
