// The Sluice TypeScript client: `createSluiceClient({ baseUrl })`, then `client.stream(...)`,
// `client.connector(...)` (canal-shaped), or the generated clients `client.canal` and
// `client.admin`. Helpers read entries as flat rows and typed values. See README.md, "Use the
// TypeScript client".
export { Code, ConnectError } from "@connectrpc/connect";
export type {
  AdminService,
  ClientStatus,
  DestinationFailure,
  DestinationStatus,
} from "../../gen/sluice/v1/admin_service_pb.js";
export type { Batch, CanalService } from "../../gen/sluice/v1/canal_service_pb.js";
export { type Column, type Entry, EntryType, EventType } from "../../gen/sluice/v1/entry_pb.js";
export type { DestinationFilter } from "../../gen/sluice/v1/filter_pb.js";
export type { FlatMessage } from "../../gen/sluice/v1/flat_message_pb.js";
export type { Position } from "../../gen/sluice/v1/position_pb.js";
export { authorizationHeader, readTokenFile, tokenFromEnv, withAuthorization } from "./auth.js";
export { SluiceClient } from "./client.js";
export { CanalConnector, type ConnectorOptions, type GetOptions, type Message } from "./connector.js";
export { AckOrderError, StaleBatchError } from "./errors.js";
export { createSluiceClient, type SluiceClientOptions, type SluiceTlsOptions } from "./node.js";
export { isRetryable, type RetryOptions, retryAfterMs } from "./retry.js";
export { type ChangeType, type FlatRow, flatRows, typed } from "./rows.js";
export { BatchStream, StreamBatch, type StreamOptions, type SubscriptionInfo } from "./stream.js";
export { type ColumnValue, columnValue, columnValues, SqlType, type ValueOptions } from "./values.js";
