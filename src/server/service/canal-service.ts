// CanalService on a server: validates requests, maps them onto destinations, and turns
// failures into the error codes of docs/api.md.
import { Code, ConnectError, type ContextValues, type ServiceImpl } from "@connectrpc/connect";
import { checkClientId } from "../../contracts/names.js";
import { notApplied } from "../../contracts/not-applied.js";
import { makeSession, newSessionSecret } from "../../contracts/session.js";
import {
  type Batch as BatchMessage,
  type CanalService,
  type GetResponse,
  GetResponseSchema,
  type StreamResponse,
  StreamResponseSchema,
} from "../../gen/sluice/v1/canal_service_pb.js";
import type { DestinationFilter } from "../../gen/sluice/v1/filter_pb.js";
import type { FlatMessage } from "../../gen/sluice/v1/flat_message_pb.js";
import type { Position } from "../../gen/sluice/v1/position_pb.js";
import { answersEncoded, EncodedMessage } from "../../protocol/encoded-answer.js";
import { invalidArgument } from "../../protocol/errors.js";
import { answersJsonBytes, JsonAnswer } from "../../protocol/json-answer.js";
import { callOf } from "../../protocol/pipeline.js";
import { cancelSignalOf } from "../../protocol/server/call-guard.js";
import { type Destination, DestinationError } from "../destination/destination.js";
import type { DestinationRegistry } from "../destination/registry.js";
import { decodeEntryField } from "../encode/entry-encoder.js";
import { toFlatMessage } from "../encode/flat-message.js";
import { encodeGetResponseJson } from "../encode/json-responses.js";
import { encodeGetResponse, encodeStreamBatch, preEncoded, streamBatchParts } from "../encode/responses.js";
import type { Cursor } from "../entry/positions.js";
import type { EventFilterOptions } from "../filter/index.js";
import { type Batch, BatchError, type ClientSession } from "../store/client-session.js";
import { type ClientEpochs, clientEpochKey } from "./client-epochs.js";

export const MAX_BATCH_SIZE = 10_000;
export const MAX_TIMEOUT_MS = 600_000;
export const MAX_WINDOW = 1000;
const DEFAULT_WINDOW = 4;

/**
 * `epochs`: the clientIds' hold epochs, which the consumer fencing hook (client-fencing.ts)
 * admits each call's against before the handler runs.
 */
export function createCanalService(
  registry: DestinationRegistry,
  epochs: ClientEpochs,
): ServiceImpl<typeof CanalService> {
  /** True when a newer hold of the clientId than the call's `epoch` was seen. */
  const superseded = (d: Destination, clientId: string, epoch: bigint | undefined): boolean =>
    epoch !== undefined && epoch < (epochs.highest(d.name, clientId) ?? epoch);

  return {
    async subscribe(req) {
      const destination = registry.require(req.destination);
      checkClientId(req.clientId);
      const session = await call(() => destination.subscribe(req.clientId, req.filter));
      return {
        session: makeSession(destination.epoch, newSessionSecret(), req.clientId),
        epoch: destination.epoch,
        filter: session.filterText || (destination.filterOptions?.filter ?? ""),
        cursor: toPosition(session.cursor),
        destinationFilter: toDestinationFilter(destination.filterOptions),
      };
    },

    async unsubscribe(req) {
      const destination = registry.require(req.destination);
      checkClientId(req.clientId);
      if (req.keepCursor) {
        // canal's disconnect: the next holder gets the outstanding batches again; the cursor
        // and filter stay. The hold itself is the gateway's to release.
        await destination.rollback(req.clientId, undefined).catch((err: unknown) => {
          if (!(err instanceof DestinationError && err.kind === "not_subscribed")) throw mapError(err);
        });
        return {};
      }
      await call(() => destination.unsubscribe(req.clientId));
      return {};
    },

    async get(req, ctx) {
      const destination = registry.require(req.destination);
      checkClientId(req.clientId);
      checkBatchSize(req.batchSize);
      const timeoutMs = Number(req.timeoutMs);
      if (timeoutMs < 0) throw invalidArgument("timeoutMs", `must be 0 or more, got ${timeoutMs}`);
      if (timeoutMs > MAX_TIMEOUT_MS)
        throw invalidArgument("timeoutMs", `must be at most ${MAX_TIMEOUT_MS}, got ${timeoutMs}`);
      const epoch = ctx.values.get(clientEpochKey);
      const batch = await call(() =>
        destination.get(req.clientId, req.batchSize, timeoutMs, cancelSignalOf(ctx)),
      );
      if (!batch) return emptyGet(destination.epoch);
      if (superseded(destination, req.clientId, epoch)) {
        // A newer holder came while this Get waited: what it took goes back, the caller gets nothing.
        await destination.rollback(req.clientId, undefined).catch(() => {});
        epochs.check(destination.name, req.clientId, epoch);
      }
      if (req.autoAck) await call(() => destination.ack(req.clientId, batch.id));
      const batchId = req.autoAck ? "" : batch.id;
      const flat = req.flat ? flatten(batch) : [];
      if (binary(ctx)) {
        return preEncoded(
          GetResponseSchema,
          encodeGetResponse(batchId, batch.entries, flat, destination.epoch),
        );
      }
      if (answersJsonBytes(ctx)) {
        // Connect JSON on the lean path: each entry's JSON, made once for every JSON client.
        const json = encodeGetResponseJson(batchId, batch.entries, flat, destination.epoch);
        return new JsonAnswer(json) as unknown as GetResponse;
      }
      return {
        $typeName: "sluice.v1.GetResponse",
        batchId,
        entries: batch.entries.map(decodeEntryField),
        flatMessages: flat,
        epoch: destination.epoch,
      } satisfies GetResponse;
    },

    async ack(req) {
      const destination = registry.require(req.destination);
      checkClientId(req.clientId);
      if (!req.batchId) throw invalidArgument("batchId", "is required");
      const cursor = await call(() => destination.ack(req.clientId, req.batchId));
      return { cursor: toPosition(cursor) };
    },

    async rollback(req) {
      const destination = registry.require(req.destination);
      checkClientId(req.clientId);
      const ids = await call(() => destination.rollback(req.clientId, req.batchId || undefined));
      return { rolledBackBatchIds: ids };
    },

    async *stream(req, ctx) {
      const destination = registry.require(req.destination);
      checkClientId(req.clientId);
      checkBatchSize(req.batchSize);
      if (req.window < 0 || req.window > MAX_WINDOW) {
        throw invalidArgument(
          "window",
          `must be between 0 and ${MAX_WINDOW} (0 means ${DEFAULT_WINDOW}), got ${req.window}`,
        );
      }
      const window = req.window || DEFAULT_WINDOW;
      const epoch = ctx.values.get(clientEpochKey);
      let session: ClientSession = await call(() => destination.subscribe(req.clientId, req.filter));
      // This stream takes the client over: batches an earlier consumer left unacked come again
      // here, and that consumer's stream, ending later, must not give back ours.
      const generation = (streamGenerations.get(session) ?? 0) + 1;
      streamGenerations.set(session, generation);
      await call(() => destination.rollback(req.clientId, undefined));
      yield {
        message: {
          case: "subscribed",
          value: {
            $typeName: "sluice.v1.Subscribed",
            session: makeSession(destination.epoch, newSessionSecret(), req.clientId),
            epoch: destination.epoch,
            cursor: toPosition(session.cursor),
          },
        },
      } as StreamResponse;
      destination.streamCount(req.clientId, 1);
      try {
        while (!ctx.signal.aborted) {
          // A newer holder of the clientId ends this stream (failed_precondition).
          epochs.check(destination.name, req.clientId, epoch);
          session = call(() => destination.session(req.clientId));
          if (session.outstanding.length >= window) {
            await session.waitForChange(1000, ctx.signal);
            continue;
          }
          const batch = await call(() => destination.get(req.clientId, req.batchSize, 1000, ctx.signal));
          if (!batch) continue;
          if (superseded(destination, req.clientId, epoch)) {
            // A newer holder came while this stream waited: what it took goes back.
            await destination.rollback(req.clientId, undefined).catch(() => {});
            continue;
          }
          const flat = req.flat ? flatten(batch) : [];
          if (answersEncoded(ctx)) {
            // The lean gRPC path writes the parts as they are (protocol/server/grpc-stream.ts).
            yield new EncodedMessage(
              streamBatchParts(batch.id, batch.entries, flat),
            ) as unknown as StreamResponse;
            continue;
          }
          if (binary(ctx)) {
            yield preEncoded(StreamResponseSchema, encodeStreamBatch(batch.id, batch.entries, flat));
            continue;
          }
          yield {
            message: {
              case: "batch",
              value: {
                $typeName: "sluice.v1.Batch",
                batchId: batch.id,
                entries: batch.entries.map(decodeEntryField),
                flatMessages: flat,
              } satisfies BatchMessage,
            },
          } as StreamResponse;
        }
        // Ended by shutdown or the client: end with the reason (unavailable on shutdown), not
        // as a normal end, so the client knows to reopen.
        ctx.signal.throwIfAborted();
      } finally {
        destination.streamCount(req.clientId, -1);
        // A stream's unacked batches are delivered again to whoever reads next, unless a newer
        // stream or holder has taken the client over meanwhile (they are its batches then).
        if (streamGenerations.get(session) === generation && !superseded(destination, req.clientId, epoch)) {
          await destination.rollback(req.clientId, undefined).catch(() => {});
        }
      }
    },
  };
}

/**
 * True when the call's answer is written with protobuf's binary codec: batches go out as the
 * bytes the store holds (../encode/responses.ts). JSON calls, and calls outside the pipeline,
 * get them as objects.
 */
function binary(ctx: { values: ContextValues }): boolean {
  return callOf(ctx)?.codec === "proto";
}

/** Per client session, how many streams have taken it over (the newest owns its batches). */
const streamGenerations = new WeakMap<ClientSession, number>();

function emptyGet(epoch: bigint): GetResponse {
  return { $typeName: "sluice.v1.GetResponse", batchId: "", entries: [], flatMessages: [], epoch };
}

function flatten(batch: Batch): FlatMessage[] {
  const id = BigInt(batch.id.slice(batch.id.lastIndexOf("-") + 1));
  const now = BigInt(Date.now());
  const out: FlatMessage[] = [];
  for (const e of batch.entries) {
    const flat = toFlatMessage(decodeEntryField(e), id, now);
    if (flat) out.push(flat);
  }
  return out;
}

export function toDestinationFilter(f: EventFilterOptions | undefined): DestinationFilter | undefined {
  if (!f) return undefined;
  return {
    $typeName: "sluice.v1.DestinationFilter",
    filter: f.filter ?? "",
    blackFilter: f.blackFilter ?? "",
    fieldFilter: f.fieldFilter ?? "",
    fieldBlackFilter: f.fieldBlackFilter ?? "",
    filterQueryDdl: f.filterQueryDdl ?? false,
    filterTableError: f.filterTableError ?? false,
  };
}

export function toPosition(cursor: Cursor | undefined): Position | undefined {
  if (!cursor) return undefined;
  return {
    $typeName: "sluice.v1.Position",
    journalName: cursor.resume.file,
    position: BigInt(cursor.resume.position),
    gtid: cursor.resume.gtid,
    timestamp: BigInt(cursor.resume.timestamp),
    serverId: BigInt(cursor.serverId),
    included: false,
  };
}

function checkBatchSize(n: number): void {
  if (n < 1 || n > MAX_BATCH_SIZE)
    throw invalidArgument("batchSize", `must be between 1 and ${MAX_BATCH_SIZE}, got ${n}`);
}

/** Runs a destination call, mapping its errors onto Connect codes. */
function call<T>(fn: () => T): T {
  try {
    const result = fn();
    if (result instanceof Promise) return result.catch((err) => Promise.reject(mapError(err))) as T;
    return result;
  } catch (err) {
    throw mapError(err);
  }
}

/** A destination's failure as the error a client sees. */
export function mapError(err: unknown): unknown {
  if (err instanceof ConnectError) return err;
  if (err instanceof BatchError) return new ConnectError(err.message, Code.FailedPrecondition);
  if (err instanceof DestinationError) {
    switch (err.kind) {
      case "not_subscribed":
        return new ConnectError(err.message, Code.FailedPrecondition);
      case "bad_filter":
        return new ConnectError(err.message, Code.InvalidArgument);
      case "stopped":
        // Stopping, or suspended while its ZooKeeper session is in doubt: nothing was done.
        return notApplied(new ConnectError(`${err.message}; retry shortly`, Code.Unavailable));
    }
  }
  // A cursor write that failed, or anything unexpected: the call did not take effect. Its
  // message may quote a request field whole (a regex's source): quoted by its start.
  const message = err instanceof Error ? err.message : String(err);
  return notApplied(
    new ConnectError(
      `the request did not take effect: ${message.length > 1024 ? `${message.slice(0, 1021)}...` : message}`,
      Code.Unavailable,
    ),
  );
}
