// A gateway's hook: every call it makes to a server for a client's call carries its proof
// (when it has a secret) and the principal it authenticated (gateway-trust.ts says how a
// server reads them). They go in the call's upstream headers, which every relay path sends.
import type { CallHook } from "../protocol/pipeline.js";
import { formatForwardedPrincipal, GATEWAY_HEADER, gatewayProof, PRINCIPAL_HEADER } from "./gateway-trust.js";
import { PRINCIPAL } from "./principal.js";

export function forwardIdentityHook(secret: string | undefined): CallHook {
  const proof = secret === undefined ? undefined : gatewayProof(secret);
  return {
    name: "gateway identity",
    start(call) {
      const p = call.values.get(PRINCIPAL);
      if (proof === undefined && p === undefined) return;
      const headers = call.upstreamHeaders;
      if (proof !== undefined) headers[GATEWAY_HEADER] = proof;
      if (p !== undefined) headers[PRINCIPAL_HEADER] = formatForwardedPrincipal(p);
    },
  };
}
