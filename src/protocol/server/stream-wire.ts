// The two wire forms in which a server-streaming call's answer can be relayed as bytes from a
// gRPC server: gRPC itself (HTTP/2) and the Connect protocol's binary streams (HTTP/1.1 or 2).
// Both carry messages in the same envelope (frame.ts), so the server's message frames go to
// either client as they are. What differs is small and lives here: which requests qualify,
// where the deadline is (grpc-timeout or connect-timeout-ms), the answer's content type, and
// how the answer ends: gRPC's status in trailers (or a trailers-only answer), or Connect's
// end-of-stream message (flags 0x02, JSON) after status 200. The error forms are
// wire-errors.ts's, the same as connect-es's typed paths send.
import type * as http2 from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { formatGrpcTimeout, parseGrpcTimeout } from "../deadline.js";
import type { CallProtocol } from "../pipeline.js";
import { connectEndStreamFrame, grpcStatusFields } from "../wire-errors.js";
import type { HttpRequest, HttpResponse } from "./server.js";
import { endWithGrpcStatus } from "./trailers-only.js";

export interface StreamWire {
  readonly protocol: CallProtocol;
  /** The answer's content type. */
  readonly contentType: string;
  /** The deadline the client asked for, in milliseconds; undefined without one. */
  readonly timeoutMs: number | undefined;
  /** That deadline as a `grpc-timeout` value, for the call to the server. */
  readonly grpcTimeout: string | undefined;
  /**
   * Ends the answer, ok (`err` undefined) or with the error: the whole answer when nothing was
   * sent yet (`headers` go with it where the form has response headers of its own), else after
   * the messages sent. Sends nothing when the answer is already over.
   */
  end(res: HttpResponse, err: ConnectError | undefined, headers: Record<string, string>): void;
}

/**
 * The wire form of a request whose answer can be relayed as bytes: gRPC (HTTP/2,
 * application/grpc[+proto], uncompressed) or binary Connect streams (application/connect+proto,
 * uncompressed, a well-formed deadline); undefined for anything else (connect+json, compressed,
 * gRPC-Web: the typed path serves those, and answers malformed headers with its own errors).
 */
export function streamWireOf(req: HttpRequest): StreamWire | undefined {
  const type = req.headers["content-type"] ?? "";
  if (/^application\/grpc(\+proto)?$/i.test(type)) {
    if (req.httpVersionMajor !== 2 || !identity(req.headers["grpc-encoding"])) return undefined;
    const value = req.headers["grpc-timeout"];
    const grpcTimeout = typeof value === "string" ? value : undefined;
    return {
      protocol: "grpc",
      contentType: "application/grpc+proto",
      timeoutMs: grpcTimeout === undefined ? undefined : parseGrpcTimeout(grpcTimeout),
      grpcTimeout,
      end: endGrpc,
    };
  }
  if (/^application\/connect\+proto$/i.test(type)) {
    if (!identity(req.headers["connect-content-encoding"])) return undefined;
    const value = req.headers["connect-timeout-ms"];
    if (value !== undefined && !(typeof value === "string" && /^\d{1,10}$/.test(value))) return undefined;
    const timeoutMs = value === undefined ? undefined : Number(value);
    return {
      protocol: "connect",
      contentType: CONNECT_PROTO,
      timeoutMs,
      grpcTimeout: timeoutMs === undefined ? undefined : formatGrpcTimeout(timeoutMs),
      end: endConnect,
    };
  }
  return undefined;
}

/** True when nothing more can be written to `res` (an HTTP/2 response has no `destroyed` of its own). */
export function answerEnded(res: HttpResponse): boolean {
  return res.writableEnded || ("stream" in res ? res.stream.destroyed : res.destroyed);
}

const CONNECT_PROTO = "application/connect+proto";

function identity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === "identity";
}

/** gRPC: the status in the trailers, or alone (trailers-only) when nothing was sent. */
function endGrpc(res: HttpResponse, err: ConnectError | undefined): void {
  if (answerEnded(res)) return;
  const h2 = res as http2.Http2ServerResponse;
  if (!h2.headersSent) {
    endWithGrpcStatus(h2, err);
    return;
  }
  h2.addTrailers(grpcStatusFields(err));
  h2.end();
}

/** Connect: status 200 whatever happened, then the end-of-stream message with the error. */
function endConnect(res: HttpResponse, err: ConnectError | undefined, headers: Record<string, string>): void {
  if (answerEnded(res)) return;
  if (!res.headersSent) res.writeHead(200, { ...headers, "content-type": CONNECT_PROTO });
  res.end(connectEndStreamFrame(err));
}
