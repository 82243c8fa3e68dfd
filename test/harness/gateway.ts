// A gateway in the test's own process (for tests that install hooks or read its state), with
// the settings the tests share; `more` overrides or adds to them.
import { silentLogger } from "../../src/common/log.js";
import { type GatewayOptions, type RunningGateway, startGateway } from "../../src/gateway/gateway.js";

export function startInProcessGateway(
  zk: string,
  more: Partial<GatewayOptions> = {},
): Promise<RunningGateway> {
  return startGateway({
    host: "127.0.0.1",
    port: 0,
    zk,
    zkRoot: "/otter/canal",
    zkSessionTimeoutMs: 6000,
    holdMs: 5000,
    leaseIdleMs: 30_000,
    maxRequestBytes: 4 << 20,
    maxMessageBytes: 64 << 20,
    shutdownTimeoutMs: 1000,
    logger: silentLogger,
    ...more,
  });
}
