// SluiceClient: the generated Connect clients of CanalService and AdminService over any
// Connect transport (Node's here via createSluiceClient, or @connectrpc/connect-web's in a
// browser), plus the streaming and canal-shaped layers.
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { AdminService } from "../../gen/sluice/v1/admin_service_pb.js";
import { CanalService } from "../../gen/sluice/v1/canal_service_pb.js";
import { type BatchCalls, decodedBatchCalls, encodedBatchCalls } from "./batch-calls.js";
import { CanalConnector, type ConnectorOptions } from "./connector.js";
import { peerResetAsUnavailable } from "./peer-reset.js";
import { BatchStream, type StreamOptions } from "./stream.js";

export class SluiceClient {
  /** The generated CanalService client: every RPC as-is. */
  readonly canal: Client<typeof CanalService>;
  /** The generated AdminService client. */
  readonly admin: Client<typeof AdminService>;
  /** Stream and Get as stream() and connector() read them. */
  readonly #batchCalls: BatchCalls;

  /**
   * `useBinaryFormat`: whether the transport speaks protobuf's binary format (connect-es's
   * option of that name; gRPC always does). Then batches keep each entry's bytes and `rows()`
   * reads them directly, much cheaper than decoding the entries. A transport does not say its
   * format, and reading JSON that way fails, so the default is false: entries decoded by the
   * generated client, as JSON needs. createSluiceClient() sets it.
   */
  constructor(transport: Transport, opts: { useBinaryFormat?: boolean } = {}) {
    // A connection closed under a call is `unavailable` (retried), not the caller's `canceled`.
    transport = peerResetAsUnavailable(transport);
    this.canal = createClient(CanalService, transport);
    this.admin = createClient(AdminService, transport);
    this.#batchCalls = opts.useBinaryFormat ? encodedBatchCalls(transport) : decodedBatchCalls(this.canal);
  }

  /**
   * Batches of a destination as an async iterable that resubscribes by itself:
   * `for await (const batch of client.stream({destination, clientId})) { ...; await batch.ack() }`.
   */
  stream(opts: StreamOptions): BatchStream {
    return new BatchStream(this.canal, opts, this.#batchCalls);
  }

  /** A canal-shaped connector (connect, subscribe, getWithoutAck, ack, rollback, disconnect). */
  connector(opts: ConnectorOptions): CanalConnector {
    return new CanalConnector(this.canal, opts, this.#batchCalls);
  }
}
